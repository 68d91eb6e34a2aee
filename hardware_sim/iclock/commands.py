"""What a ZK terminal does with the commands its server queues (``C:<id>:<command>``), as a registry:
each command word (``@COMMANDS.handles("CHECK")``) and each ``DATA <verb> <table>``
(``@DATA.handles("UPDATE", "USERINFO")``) has one handler here; anything unregistered answers
``-1002`` (unsupported), as the firmware does for SHELL, UPGRADE, ENROLL_* and garbage."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from hardware_sim.device import BEIJING, Enrolled, Event
from hardware_sim.iclock.codec import (
    CommandResult,
    card_number,
    get_field,
    parse_fields,
    parse_options,
    user_line,
)

if TYPE_CHECKING:
    from hardware_sim.iclock.device import IclockDevice

# (device, command id, the command as sent) → its result
Command = Callable[["IclockDevice", str, str], Awaitable[CommandResult]]
# (device, the fields after the table) → the ``Return`` code
DataCommand = Callable[["IclockDevice", dict[str, str]], Awaitable[str]]


class Commands:
    """Command handlers by their first words, upper-cased with single spaces (``SET OPTION``);
    ``prefix=True`` handlers take every command that starts with those words."""

    def __init__(self) -> None:
        self.exact: dict[str, Command] = {}
        self.prefixes: list[tuple[str, Command]] = []

    def handles(self, words: str, *, prefix: bool = False) -> Callable[[Command], Command]:
        def register(handler: Command) -> Command:
            if prefix:
                self.prefixes.append((words, handler))
            else:
                self.exact[words] = handler
            return handler

        return register

    def find(self, command: str) -> Command | None:
        upper = " ".join(command.upper().split())
        found = self.exact.get(upper)
        if found is not None:
            return found
        return next((handler for words, handler in self.prefixes if upper.startswith(words)), None)


class DataCommands:
    """``DATA <verb> <table>`` handlers (UPDATE, DELETE, QUERY × USERINFO, BIOPHOTO, ATTLOG, …)."""

    def __init__(self) -> None:
        self.table: dict[tuple[str, str], DataCommand] = {}

    def handles(self, verb: str, *tables: str) -> Callable[[DataCommand], DataCommand]:
        def register(handler: DataCommand) -> DataCommand:
            for table in tables:
                self.table[(verb, table)] = handler
            return handler

        return register

    async def run(self, device: IclockDevice, verb: str, table: str, rest: str) -> str:
        table = "USERINFO" if table == "USER" else table
        handler = self.table.get((verb, table))
        return "-1002" if handler is None else await handler(device, parse_fields(rest))


COMMANDS = Commands()
DATA = DataCommands()


async def execute(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    """Run one queued command; a command no handler takes is ``-1002`` named by its first word."""
    handler = COMMANDS.find(command)
    if handler is None:
        head = command.split(None, 1)[0].upper() if command.split() else ""
        return CommandResult(cmd_id, "-1002", head or "UNKNOWN")
    return await handler(device, cmd_id, command)


def _after(command: str, words: int) -> str:
    """What follows the first ``words`` words of ``command``."""
    parts = command.split(None, words)
    return parts[words] if len(parts) > words else ""


# -- commands -----------------------------------------------------------------------------------
@COMMANDS.handles("DATA ", prefix=True)
async def data(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    words = command.split(None, 3)
    verb = words[1].upper()
    if verb in ("UPDATE", "DELETE", "QUERY") and len(words) >= 3:
        code = await DATA.run(device, verb, words[2].upper().rstrip("$"), words[3] if len(words) == 4 else "")
    elif verb in ("USER", "USERINFO"):  # pre-2.x "DATA USER PIN=…"
        code = await DATA.run(device, "UPDATE", "USERINFO", _after(command, 2))
    elif verb == "DEL_USER":
        code = await DATA.run(device, "DELETE", "USERINFO", _after(command, 2))
    else:
        code = "-1002"
    return CommandResult(cmd_id, code, "DATA")


@COMMANDS.handles("CLEAR ", prefix=True)
async def clear(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    what = " ".join(command.upper().split()).removeprefix("CLEAR ")
    code = "0"
    if what == "LOG":
        device.attlog.clear()  # stored punches; events still waiting in the outbox are kept
    elif what == "PHOTO":
        device.pending_photos.clear()
    elif what == "BIODATA":
        for person in device.enrolled.values():
            person.face = None
    elif what in ("DATA", "ALL USERINFO"):
        device.enrolled.clear()
        if what == "DATA":
            device.attlog.clear()
            device.pending_photos.clear()
    else:
        code = "-1002"
    if code == "0":
        device.log("cleared", what=what)
    return CommandResult(cmd_id, code, "CLEAR_" + what.replace(" ", "_"))


@COMMANDS.handles("CHECK")
async def check(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    device.handshake_again()  # re-read the stamps at a new handshake, then upload from them
    return CommandResult(cmd_id, "0", "CHECK")


@COMMANDS.handles("LOG")
async def log(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    device.upload_now()
    return CommandResult(cmd_id, "0", "LOG")


@COMMANDS.handles("INFO")
async def info(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    faces = sum(1 for p in device.enrolled.values() if p.face)
    lines = [
        f"~DeviceName={device.device_id}",
        "MAC=00:17:61:00:00:01",
        f"UserCount={len(device.enrolled)}",
        "FPCount=0",
        f"TransactionCount={len(device.attlog)}",
        f"FaceCount={faces}",
        f"FWVersion={device.firmware}",
        f"IPAddress={device.ip_address}",
        f"PushVersion={device.pushver}",
        f"MaxUserCount={device.max_users}",
        f"MaxFaceCount={device.max_faces}",
    ]
    return CommandResult(cmd_id, "0", "INFO", lines)


@COMMANDS.handles("REBOOT")
async def reboot(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    return CommandResult(cmd_id, "0", "REBOOT")  # the device reboots once the results are posted


@COMMANDS.handles("AC_UNLOCK")
@COMMANDS.handles("AC_UNALARM")
async def door(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    return CommandResult(cmd_id, "0", command.strip().upper())


@COMMANDS.handles("RELOAD OPTIONS")
async def reload_options(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    device.handshake_again()
    return CommandResult(cmd_id, "0", "RELOAD_OPTIONS")


@COMMANDS.handles("SET OPTION", prefix=True)
async def set_option(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    options = parse_options(_after(command, 2))
    if not options:
        return CommandResult(cmd_id, "-1", "SET_OPTION")
    device.apply_options(options, handshake=False)
    return CommandResult(cmd_id, "0", "SET_OPTION")


@COMMANDS.handles("VERIFY SUM ATTLOG", prefix=True)
async def verify_sum(device: IclockDevice, cmd_id: str, command: str) -> CommandResult:
    count = len(attlog_between(device.attlog, parse_fields(_after(command, 3))))
    return CommandResult(cmd_id, "0", "VERIFY_SUM", [f"AttlogSum={count}"])


def attlog_between(attlog: list[Event], fields: dict[str, str]) -> list[Event]:
    """The stored punches between ``StartTime`` and ``EndTime`` (either open when absent or unreadable)."""

    def parse(value: str | None) -> datetime | None:
        if not value:
            return None
        try:
            return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            return None

    start, end = parse(get_field(fields, "StartTime")), parse(get_field(fields, "EndTime"))
    return [e for e in attlog if (start is None or e.at >= start) and (end is None or e.at <= end)]


# -- DATA ---------------------------------------------------------------------------------------
@DATA.handles("UPDATE", "USERINFO")
async def update_user(device: IclockDevice, fields: dict[str, str]) -> str:
    pin = (get_field(fields, "PIN") or "").strip()
    if not pin or len(pin) > 24:
        return "-1"
    if pin not in device.enrolled and len(device.enrolled) >= device.max_users:
        device.log("capacity_full", what="users", limit=device.max_users)
        return "-1001"
    person = device.enrolled.get(pin) or Enrolled(employee_no=pin)
    name = get_field(fields, "Name")
    if name is not None:
        person.name = name
    card = get_field(fields, "Card")
    if card is not None:
        person.card_no = card_number(card) or None
    for key in ("Pri", "Passwd", "Grp", "TZ", "Verify", "ViceCard"):
        value = get_field(fields, key)
        if value is not None:
            person.extra[key] = value
    device.enrolled[pin] = person
    device.log("user_updated", employee_no=pin, name=person.name, card_no=person.card_no)
    return "0"


@DATA.handles("UPDATE", "BIOPHOTO")
async def update_biophoto(device: IclockDevice, fields: dict[str, str]) -> str:
    pin = (get_field(fields, "PIN") or "").strip()
    person = device.enrolled.get(pin)
    if person is None:
        return "-10"
    if person.face is None and sum(1 for p in device.enrolled.values() if p.face) >= device.max_faces:
        device.log("capacity_full", what="faces", limit=device.max_faces)
        return "-1001"
    content = get_field(fields, "Content") or ""
    url = get_field(fields, "Url") or ""
    photo: bytes | None = None
    if content:
        size = get_field(fields, "Size")
        if size is not None and size.strip().isdigit() and int(size) != len(content):
            return "-2"
        try:
            photo = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            return "-1"
    elif url:
        photo = await device.download(url)
        if photo is None:
            return "-1008"
    else:
        return "-1"
    if not (photo.startswith(b"\xff\xd8") or photo.startswith(b"\x89PNG")):
        return device.bad_photo_return  # no face found in whatever that was
    if device.face_enrol_seconds:
        await asyncio.sleep(device.face_enrol_seconds)
    person.face = photo
    person.extra["face_type"] = get_field(fields, "Type", "9")
    device.log(
        "face_enrolled", employee_no=pin, photo_bytes=len(photo), via="url" if url and not content else "content"
    )
    return "0"


@DATA.handles("UPDATE", "BIODATA")
async def update_biodata(device: IclockDevice, fields: dict[str, str]) -> str:
    if get_field(fields, "Type", "") == "9" and device.reject_biodata_face:
        return "-30"  # ZAM70 / visible-light firmware wants BIOPHOTO instead [M]
    return "0" if get_field(fields, "PIN") in device.enrolled else "-10"


@DATA.handles("UPDATE", "USERPIC")
async def update_userpic(device: IclockDevice, fields: dict[str, str]) -> str:
    pin = get_field(fields, "PIN")
    if pin and pin in device.enrolled:
        device.enrolled[pin].extra["userpic"] = True
    return "0"


@DATA.handles("UPDATE", "IDCARD", "FINGERTMP", "FACE", "WORKCODE", "SMS")
async def update_accepted(device: IclockDevice, fields: dict[str, str]) -> str:
    """Tables the terminal accepts but the simulation does not model."""
    return "0"


@DATA.handles("DELETE", "USERINFO")
async def delete_user(device: IclockDevice, fields: dict[str, str]) -> str:
    pin = get_field(fields, "PIN")
    if pin is None:
        return "-1"
    removed = device.enrolled.pop(pin, None)
    device.log("user_deleted", employee_no=pin, existed=removed is not None)
    return "0"


@DATA.handles("DELETE", "BIOPHOTO", "BIODATA", "FACE", "USERPIC")
async def delete_face(device: IclockDevice, fields: dict[str, str]) -> str:
    pin = get_field(fields, "PIN")
    if pin in device.enrolled:
        device.enrolled[pin].face = None
    return "0"


@DATA.handles("QUERY", "ATTLOG")
async def query_attlog(device: IclockDevice, fields: dict[str, str]) -> str:
    records = attlog_between(device.attlog, fields)
    for start in range(0, len(records), device.batch_size):
        chunk = records[start : start + device.batch_size]
        body = "".join(device.attlog_line(e) + "\n" for e in chunk).encode()
        if not await device.post_cdata("ATTLOG", str(chunk[-1].serial_no), body, what="query_attlog"):
            return "-1003"
    return str(len(records))


@DATA.handles("QUERY", "USERINFO")
async def query_users(device: IclockDevice, fields: dict[str, str]) -> str:
    pin = get_field(fields, "PIN")
    people = [p for p in device.enrolled.values() if pin is None or p.employee_no == pin]
    if people:
        body = "".join(user_line(p) + "\n" for p in people).encode(device.name_encoding, "replace")
        if not await device.post_cdata("OPERLOG", str(device.stamps["OPERLOG"]), body, what="query_userinfo"):
            return "-1003"
    return str(len(people))
