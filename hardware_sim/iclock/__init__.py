"""Virtual ZKTeco attendance terminal (PUSH / iclock 2.4.x): ``device`` (the terminal and its
poll loop), ``codec`` (the protocol's text formats, pure), ``commands`` (the server's commands, a
registry). See ``docs/devices/iclock.md``."""

from hardware_sim.iclock.codec import CommandResult, parse_fields, parse_options
from hardware_sim.iclock.device import DeviceOffline, IclockDevice

__all__ = ["CommandResult", "DeviceOffline", "IclockDevice", "parse_fields", "parse_options"]
