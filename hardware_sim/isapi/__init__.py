"""Virtual Hikvision ISAPI face terminal (DS-K1T family): Digest-protected ISAPI server for issuing
persons, cards and faces, listening-mode event push with pictures, AcsEvent backfill.

``IsapiDevice`` is the device; ``IsapiServer`` serves many of them from one ASGI app; ``firmware``
holds the per-model profiles. See ``docs/devices/isapi.md``.
"""

from hardware_sim.isapi.device import IsapiDevice
from hardware_sim.isapi.firmware import PROFILES, Firmware, profile
from hardware_sim.isapi.server import IsapiServer

__all__ = ["PROFILES", "Firmware", "IsapiDevice", "IsapiServer", "profile"]
