"""The iclock (ZKTeco PUSH 2.4.x) text formats, pure: the handshake's options, ``key=value⇥…``
fields, the command lines a server queues and the results a device reports, and the ATTLOG,
IDCARD and USER lines a device uploads. No I/O; :mod:`hardware_sim.iclock.device` does that."""

from __future__ import annotations

import base64
import contextlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hardware_sim.device import Enrolled, Event
from hardware_sim.recognition import Verdict
from standard import code_tables

STAMP_KEYS = ("ATTLOG", "OPERLOG", "ATTPHOTO", "BIODATA", "IDCARD", "ERRORLOG")
# TransFlag as a 12-digit bitmap, in this order (ZK-ATT §5).
TRANS_FLAGS = ("AttLog OpLog AttPhoto EnrollUser ChgUser EnrollFP ChgFP FPImag FACE UserPic WORKCODE BioPhoto").split()
# How the attendance flavour records each verdict (ZK-ATT §11.2, §11.7, App. 7). A granted face or
# card is an ATTLOG punch with its Verify code; an ID card is an IDCARD row plus, for a known PIN, an
# ATTLOG line — Type 0 (attendance) when admitted, Type 1 (verification) with Status 1 failure or
# 2 blacklist when refused. Any other refusal leaves no record: the protocol has none for it.
VERIFY = {Verdict.FACE_PASS: 15, Verdict.CARD_PASS: 4, Verdict.ID_CARD: 0}
ID_VERIFICATION_STATUS = {Verdict.OUTSIDE_VALIDITY: 1, Verdict.BLOCKLISTED: 2}
MAX_PREVIEW = 4000
LONG_TOKEN = 160


@dataclass
class CommandResult:
    cmd_id: str
    code: str  # ``Return=``: "0", "-1001", … (a string: some firmware answers face errors as D01E…)
    cmd: str  # ``CMD=``: DATA, CLEAR_LOG, INFO, …
    extra: list[str] = field(default_factory=list)  # INFO key=value lines, VERIFY SUM fields

    def line(self) -> str:
        head = f"ID={self.cmd_id}&Return={self.code}&CMD={self.cmd}"
        return "\n".join([head, *self.extra])


def parse_options(text: str) -> dict[str, str]:
    """The handshake reply: an optional ``GET OPTION FROM: <SN>`` line, then ``key=value`` lines.
    Tolerates CRLF, blank lines, spaces around ``=`` and junk lines (ignored)."""
    options: dict[str, str] = {}
    for raw in text.replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line or line.upper().startswith("GET OPTION") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if key and re.fullmatch(r"[~\w.]+", key):
            options[key] = value.strip()
    return options


def parse_fields(text: str) -> dict[str, str]:
    """``PIN=1⇥Name=…`` → dict. Keys keep their case; look-ups go through :func:`get_field`. Servers that
    separate with spaces instead of tabs are tolerated when no tab is present."""
    text = text.strip()
    parts = text.split("\t") if "\t" in text else re.split(r"\s+(?=[~\w]+=)", text)
    fields: dict[str, str] = {}
    for part in parts:
        if "=" in part:
            key, _, value = part.partition("=")
            if key.strip():
                fields[key.strip()] = value
    return fields


def get_field(fields: dict[str, str], key: str, default: str | None = None) -> str | None:
    lower = key.lower()
    for k, v in fields.items():
        if k.lower() == lower:
            return v
    return default


def parse_stamp(value: str | None) -> int | None:
    """A server stamp: ``None``, ``0``, empty or non-numeric mean "send everything"."""
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        number = int(value.strip())
        return number if number > 0 else None
    return None


def preview(text: str) -> str:
    """Journal view of a body: long tokens (Base64 photos, templates) replaced by their length."""
    out = re.sub(rf"[A-Za-z0-9+/=]{{{LONG_TOKEN},}}", lambda m: f"<{len(m.group(0))} chars>", text)
    return out if len(out) <= MAX_PREVIEW else out[:MAX_PREVIEW] + f"…(+{len(out) - MAX_PREVIEW} chars)"


def card_number(value: str) -> str:
    """``Card`` is decimal or the bracketed hex form ``[15CD5B07]`` (read as one big-endian number [L])."""
    value = value.strip()
    match = re.fullmatch(r"\[([0-9A-Fa-f]+)\]", value)
    return str(int(match.group(1), 16)) if match else value


def yyyymmdd(value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    text = str(value or "")
    return text.replace("-", "")[:8] if text and text != "长期" else text


def fmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def is_ok(status: int, text: str) -> bool:
    """``OK``, ``OK:3`` or ``OK: 3`` with HTTP 200. The count is not checked: a server that
    skips duplicates may count fewer lines than it accepted."""
    return status == 200 and re.match(r"OK\b", text.lstrip()) is not None


def parse_trans_flag(flag: str) -> set[str]:
    """``TransFlag`` as a 12-digit bitmap or as words (``TransData AttLog OpLog …``)."""
    flag = flag.strip()
    if re.fullmatch(r"[01]{12}", flag):
        return {name for name, bit in zip(TRANS_FLAGS, flag, strict=True) if bit == "1"}
    words = re.split(r"[\t ,]+", flag.removeprefix("TransData").strip())
    known = {name.lower(): name for name in TRANS_FLAGS}
    return {known[w.lower()] for w in words if w.lower() in known}


def parse_commands(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """A ``getrequest`` reply: the ``C:<id>:<command>`` lines as (id, command), and the lines that are not."""
    commands: list[tuple[str, str]] = []
    bad: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip("\r")
        if not line.strip() or line.strip() == "OK":
            continue
        match = re.match(r"C:([^:\s]{1,64}):(.*)$", line, flags=re.S)
        if match and match.group(2).strip():
            commands.append((match.group(1), match.group(2).strip()))
        else:
            bad.append(line)
    return commands, bad


def nation_number(text: str) -> int:
    """The IDCARD ``Nation``: the GB 3304 code (``standard`` code table ``nation_GB3304``) of a
    nation as printed on the card (汉, 蒙古, … without 族), 97 (其他) for any other text."""
    for code, label in code_tables.table("nation_GB3304").items():
        if label.removesuffix("族") == text:
            return int(code)
    return 97


def attlog_line(event: Event, *, status_in: int, status_out: int, verify_codes: dict[Verdict, int]) -> str:
    status = status_in if event.direction == "in" else status_out
    verify = verify_codes.get(event.kind, 0)
    kind = 0  # v2.4.0+ ID-card lines: Type 0 = attendance
    if event.kind in ID_VERIFICATION_STATUS:
        status, verify, kind = ID_VERIFICATION_STATUS[event.kind], verify_codes[Verdict.ID_CARD], 1
    line = f"{event.employee_no}\t{fmt(event.at)}\t{status}\t{verify}\t0\t0\t0"
    if event.credential == "id_card" and event.id_card:
        number = event.id_card.get("id_number") or event.id_card.get("IDNum") or ""
        line += f"\t{number}\t{kind}"
    return line


def idcard_line(event: Event) -> str:
    card = event.id_card or {}
    gender = card.get("Gender")
    if gender is None:
        male = card.get("male")
        gender = (1 if male else 2) if male is not None else (1 if card.get("gender") in (0, "0", "M") else 2)
    nation = card.get("Nation")
    if nation is None:
        nation = nation_number(str(card.get("nation") or ""))
    valid = f"{yyyymmdd(card.get('valid_from'))}{yyyymmdd(card.get('valid_to'))}"
    photo = card.get("photo")
    photo_b64 = base64.b64encode(photo).decode() if isinstance(photo, bytes) else str(photo or "")
    fields = {
        "PIN": event.employee_no or "0",
        "SNNum": card.get("SNNum", ""),
        "IDNum": card.get("id_number") or card.get("IDNum") or "",
        "DNNum": card.get("DNNum", ""),
        "Name": card.get("name") or card.get("Name") or "",
        "Gender": gender,
        "Nation": nation,
        "Birthday": yyyymmdd(card.get("birth") or card.get("Birthday")),
        "ValidInfo": card.get("ValidInfo") or valid,
        "Address": card.get("address") or card.get("Address") or "",
        "AdditionalInfo": card.get("AdditionalInfo", ""),
        "Issuer": card.get("grant_org") or card.get("Issuer") or "",
        "Photo": photo_b64,
        "FPTemplate1": "",
        "FPTemplate2": "",
        "Reserve": "",
        "Notice": "",
    }
    return "IDCARD PIN=" + "\t".join(f"{k}={v}" for k, v in fields.items()).removeprefix("PIN=")


def user_line(person: Enrolled) -> str:
    extra = person.extra
    return (
        f"USER PIN={person.employee_no}\tName={person.name}\tPri={extra.get('Pri', 0)}"
        f"\tPasswd={extra.get('Passwd', '')}"
        f"\tCard={person.card_no or ''}\tGrp={extra.get('Grp', 1)}\tTZ={extra.get('TZ', '0000000000000000')}"
        f"\tVerify={extra.get('Verify', 0)}\tViceCard={extra.get('ViceCard', '')}"
    )
