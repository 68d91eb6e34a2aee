"""A virtual ZKTeco attendance terminal speaking PUSH / iclock 2.4.x (the attendance flavour).

The device is the HTTP *client*: it shakes hands with the vendor's ``/iclock/cdata``, polls
``/iclock/getrequest`` for commands every ``Delay`` seconds, uploads ``ATTLOG`` lines (plus
``ATTPHOTO``, ``IDCARD`` and ``OPERLOG``) and reports command results to ``/iclock/devicecmd``.
Facts follow ZKTeco's *Attendance PUSH Communication Protocol* 2.4.1 (ZK-ATT); whatever the
specification marks as uncertain is a constructor setting (see ``docs/devices/iclock.md``).

One connection at a time, as on the real device: every request holds ``self._io``, so an upload
and a poll never overlap. A server that answers garbage, errors or nothing never stops the device;
the failure is journalled and the request is retried after ``ErrorDelay``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urljoin

import httpx

from hardware_sim.device import BEIJING, Device, DeviceClock, Direction, Enrolled, Event
from hardware_sim.journal import Journal
from hardware_sim.recognition import Verdict

__all__ = ["CommandResult", "IclockDevice", "parse_options"]

# GB 3304 order: the ID card's nation code is the 1-based index (ZK-ATT §11.6).
NATIONS = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()

STAMP_KEYS = ("ATTLOG", "OPERLOG", "ATTPHOTO", "BIODATA", "IDCARD", "ERRORLOG")
# TransFlag as a 12-digit bitmap, in this order (ZK-ATT §5).
TRANS_FLAGS = ("AttLog OpLog AttPhoto EnrollUser ChgUser EnrollFP ChgFP FPImag FACE UserPic WORKCODE BioPhoto").split()
# How the attendance flavour records each verdict (ZK-ATT §11.2, §11.7, App. 7). A granted face or
# card is an ATTLOG punch with its Verify code; an ID card is an IDCARD row plus, for a known PIN, an
# ATTLOG line — Type 0 (attendance) when admitted, Type 1 (verification) with Status 1 failure or
# 2 blacklist when refused. Any other refusal leaves no record: the protocol has none for it.
VERIFY = {Verdict.FACE_PASS: 15, Verdict.CARD_PASS: 4, Verdict.ID_CARD: 0}
ID_VERIFICATION_STATUS = {Verdict.OUTSIDE_VALIDITY: 1, Verdict.BLOCKLISTED: 2}
_MAX_PREVIEW = 4000
_LONG_TOKEN = 160


class DeviceOffline(ConnectionError):
    """The simulated network is down or the device is powered off: nothing leaves the device."""


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
    """``PIN=1⇥Name=…`` → dict. Keys keep their case; look-ups go through :func:`_get`. Servers that
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


def _get(fields: dict[str, str], key: str, default: str | None = None) -> str | None:
    lower = key.lower()
    for k, v in fields.items():
        if k.lower() == lower:
            return v
    return default


def _stamp(value: str | None) -> int | None:
    """A server stamp: ``None``, ``0``, empty or non-numeric mean "send everything"."""
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _preview(text: str) -> str:
    """Journal view of a body: long tokens (Base64 photos, templates) replaced by their length."""
    out = re.sub(rf"[A-Za-z0-9+/=]{{{_LONG_TOKEN},}}", lambda m: f"<{len(m.group(0))} chars>", text)
    return out if len(out) <= _MAX_PREVIEW else out[:_MAX_PREVIEW] + f"…(+{len(out) - _MAX_PREVIEW} chars)"


def _card_number(value: str) -> str:
    """``Card`` is decimal or the bracketed hex form ``[15CD5B07]`` (read as one big-endian number [L])."""
    value = value.strip()
    match = re.fullmatch(r"\[([0-9A-Fa-f]+)\]", value)
    return str(int(match.group(1), 16)) if match else value


def _yyyymmdd(value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    text = str(value or "")
    return text.replace("-", "")[:8] if text and text != "长期" else text


class IclockDevice(Device):
    """A ZKTeco PUSH attendance terminal (face, card, optional ID-card reader)."""

    kind = "iclock"

    def __init__(
        self,
        device_id: str,
        *,
        server_url: str,
        serial_number: str | None = None,
        pushver: str = "2.4.1",
        language: str = "83",
        pushcommkey: str | None = None,
        user_agent: str = "iClock Proxy/1.09",
        connection_close: bool = True,
        name_encoding: str | None = None,
        request_timeout: float = 10.0,
        delay: float | None = None,
        error_delay: float | None = None,
        time_scale: float = 1.0,
        min_interval: float = 0.01,
        default_delay: float = 10.0,
        default_error_delay: float = 30.0,
        realtime: bool = True,
        clock_sync: Literal["off", "handshake", "always"] = "always",
        clock_sync_tolerance: float = 2.0,
        default_timezone: float = 8,
        send_info_on_first_poll: bool = True,
        push_options: bool = True,
        ping_during_upload: bool = True,
        upload_photos: bool = True,
        photo_endpoint: str = "/iclock/cdata",
        status_in: int = 0,
        status_out: int = 1,
        verify_codes: dict[Verdict, int] | None = None,
        idcard_attlog: bool = True,
        oplog_on_boot: bool = False,
        max_users: int = 10_000,
        max_faces: int = 3_000,
        face_enrol_seconds: float = 0.0,
        bad_photo_return: str = "-1",
        reject_biodata_face: bool = True,
        firmware: str = "ZAM70-NF-VER 8.0.4.2",
        ip_address: str = "192.168.1.201",
        journal: Journal | None = None,
        clock: DeviceClock | None = None,
        direction: Direction = "in",
        buffer_limit: int = 100_000,
        batch_size: int = 62,
        retry_delay: float | None = None,
    ) -> None:
        super().__init__(
            device_id,
            journal=journal,
            clock=clock,
            direction=direction,
            buffer_limit=buffer_limit,
            batch_size=batch_size,
            retry_delay=retry_delay if retry_delay is not None else default_error_delay * time_scale,
        )
        self.server_url = server_url.rstrip("/")
        self.serial_number = serial_number or device_id
        self.pushver = pushver
        self.language = language
        self.pushcommkey = pushcommkey
        self.user_agent = user_agent
        self.connection_close = connection_close
        # Chinese-language firmware (83) sends and expects user names in GB2312 (ZK-ATT §1.2).
        self.name_encoding = name_encoding or ("gb18030" if language == "83" else "utf-8")
        self.request_timeout = request_timeout
        self.delay_override = delay
        self.error_delay_override = error_delay
        self.time_scale = time_scale
        self.min_interval = min_interval
        self.realtime = realtime
        self.clock_sync = clock_sync
        self.clock_sync_tolerance = clock_sync_tolerance
        self.send_info_on_first_poll = send_info_on_first_poll
        self.push_options = push_options
        self.ping_during_upload = ping_during_upload
        self.upload_photos = upload_photos
        self.photo_endpoint = photo_endpoint
        self.status_in = status_in
        self.status_out = status_out
        self.verify_codes = {**VERIFY, **(verify_codes or {})}
        self.idcard_attlog = idcard_attlog
        self.oplog_on_boot = oplog_on_boot
        self.max_users = max_users
        self.max_faces = max_faces
        self.face_enrol_seconds = face_enrol_seconds
        self.bad_photo_return = bad_photo_return
        self.reject_biodata_face = reject_biodata_face
        self.firmware = firmware
        self.ip_address = ip_address

        # What the server told us at the handshake (and SET OPTION changed since).
        self.server_options: dict[str, str] = {}
        self.server_delay = default_delay
        self.server_error_delay = default_error_delay
        self.trans_interval_min: float = 0.0
        self.trans_flags: set[str] = set(TRANS_FLAGS)
        self.timezone_hours = default_timezone
        self.attphoto_base64 = False
        # The device's own storage: every punch ever recorded (cleared by CLEAR LOG), stamps of the
        # last acknowledged record per table, queued OPERLOG lines, photos still to upload.
        self.attlog: list[Event] = []
        self.stamps: dict[str, int] = dict.fromkeys(STAMP_KEYS, 0)
        self.oplog: list[str] = []
        self.pending_photos: list[Event] = []
        self.pending_results: list[CommandResult] = []
        self.handshakes = 0
        self.reboots = 0

        self._client: httpx.AsyncClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._io = asyncio.Lock()
        self._ready = asyncio.Event()
        self._poll_now = asyncio.Event()
        self._first_poll = True
        self._upload_ok = False
        self._last_upload = 0.0

    # -- settings derived from the server's options --------------------------------------------
    @property
    def poll_delay(self) -> float:
        if self.delay_override is not None:
            return max(self.min_interval, self.delay_override)
        return max(self.min_interval, self.server_delay * self.time_scale)

    @property
    def error_delay(self) -> float:
        if self.error_delay_override is not None:
            return max(self.min_interval, self.error_delay_override)
        return max(self.min_interval, self.server_error_delay * self.time_scale)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._client is None:
            headers = {"User-Agent": self.user_agent, "Accept": "*/*"}
            if self.connection_close:
                headers["Connection"] = "close"
            self._client = httpx.AsyncClient(
                base_url=self.server_url, headers=headers, timeout=httpx.Timeout(self.request_timeout)
            )
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=f"iclock-{self.device_id}")
        self.start_sender()
        self.log("started", server_url=self.server_url, sn=self.serial_number)

    async def stop(self) -> None:
        await self.stop_sender()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._ready.clear()
        self.log("stopped")

    def power_off(self) -> None:
        self._ready.clear()
        super().power_off()

    def power_on(self, *, rtc_reset: bool = False) -> None:
        self._ready.clear()  # a boot starts with a fresh handshake
        super().power_on(rtc_reset=rtc_reset)
        self._poll_now.set()

    def status(self) -> dict[str, Any]:
        return {
            **super().status(),
            "sn": self.serial_number,
            "registered": self._ready.is_set(),
            "stamps": dict(self.stamps),
            "attlog_stored": len(self.attlog),
            "poll_delay": self.poll_delay,
            "error_delay": self.error_delay,
        }

    # -- physical actions specific to ZK terminals ---------------------------------------------
    def read_id_card(self, id_card: dict[str, Any], *, employee_no: str | None = None) -> Event | None:
        """An ID card on the built-in reader (``table=IDCARD``); ``id_card`` uses the fixtures'
        ``Person.card_json()`` keys (name, id_number, male/gender, nation, birth, address,
        grant_org, valid_from, valid_to) or the ZK names (IDNum, Name, …)."""
        if not self.powered:
            return None
        number = str(id_card.get("id_number") or id_card.get("IDNum") or "")
        person = self.enrolled.get(employee_no) if employee_no else None
        if person is None and number:
            person = next((p for p in self.enrolled.values() if p.id_number == number), None)
        return self.present_card("id_card", person, id_card=dict(id_card))

    def enroll_on_device(self, employee_no: str, name: str = "", *, face: bytes | None = None) -> None:
        """Someone enrols a person at the terminal's menu: the device reports ``USER`` (and an
        ``OPLOG 30`` new-user line) in ``table=OPERLOG``."""
        self.enrolled[employee_no] = Enrolled(employee_no=employee_no, name=name, face=face)
        self.oplog.append(self._user_line(self.enrolled[employee_no]))
        self.oplog.append(f"OPLOG 30\t0\t{self._fmt(self.clock.now())}\t{employee_no}\t0\t0\t0")
        self.log("enrolled_on_device", employee_no=employee_no, name=name)
        self._poll_now.set()

    # -- HTTP ----------------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        body: bytes | None = None,
        *,
        what: str,
    ) -> httpx.Response:
        if not self.online:
            raise DeviceOffline("network down" if self.powered else "powered off")
        if self._client is None:
            raise DeviceOffline("device not started")
        preview: str | None = None
        if body is not None:
            head, nul, tail = body.partition(b"\0")
            preview = _preview(head.decode(self.name_encoding, "replace"))
            if nul:
                preview += f"\\0<{len(tail)} bytes>"
        try:
            response = await self._client.request(method, path, params=params, content=body)
        except httpx.HTTPError as exc:
            self.log("iclock_sent", what=what, method=method, path=path, params=params, body=preview)
            self.log("iclock_failed", what=what, error=f"{type(exc).__name__}: {exc}")
            raise
        text = response.content.decode(self.name_encoding, "replace")
        self.log(
            "iclock_exchange",
            what=what,
            method=method,
            path=path,
            params=params,
            body=preview,
            status=response.status_code,
            date=response.headers.get("date"),
            reply=_preview(text),
        )
        return response

    def _text(self, response: httpx.Response) -> str:
        return response.content.decode(self.name_encoding, "replace").strip()

    @staticmethod
    def _is_ok(response: httpx.Response, text: str) -> bool:
        """``OK``, ``OK:3`` or ``OK: 3`` with HTTP 200. The count is not checked: a server that
        skips duplicates may count fewer lines than it accepted."""
        return response.status_code == 200 and re.match(r"OK\b", text.lstrip()) is not None

    def _sn(self, **extra: str) -> dict[str, str]:
        return {"SN": self.serial_number, **extra}

    # -- the main loop: handshake, then poll -----------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                if not self.online:
                    await self._sleep(min(0.2, self.poll_delay))
                    continue
                if not self._ready.is_set():
                    async with self._io:
                        ok = await self._handshake()
                    await self._sleep(self.min_interval if ok else self.error_delay)
                    continue
                async with self._io:
                    ok = await self._poll_once()
                await self._sleep(self.poll_delay if ok else self.error_delay)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never crash: journal and carry on after ErrorDelay
                self.log("iclock_error", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self.error_delay)

    async def _sleep(self, seconds: float) -> None:
        self._poll_now.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poll_now.wait(), seconds)

    async def _handshake(self) -> bool:
        params = self._sn(options="all", pushver=self.pushver, language=self.language)
        if self.pushcommkey:
            params["pushcommkey"] = self.pushcommkey
        try:
            response = await self._request("GET", "/iclock/cdata", params, what="handshake")
        except (httpx.HTTPError, DeviceOffline):
            return False
        if response.status_code != 200:
            self.log("handshake_refused", status=response.status_code)
            return False
        options = parse_options(self._text(response))
        self.handshakes += 1
        self._apply_options(options, handshake=True)  # TimeZone first: the clock sync needs it
        self._sync_clock(response, at="handshake")
        self._ready.set()
        self._first_poll = True
        self.log("handshake_ok", options=options, poll_delay=self.poll_delay, error_delay=self.error_delay)
        if self.push_options:
            body = (
                "FaceFunOn=1,FingerFunOn=0,MultiBioDataSupport=0:0:0:0:0:0:0:0:0:1,"
                f"MaxMultiBioPhotoCount={self.max_faces}"
            )
            with contextlib.suppress(httpx.HTTPError, DeviceOffline):
                await self._request("POST", "/iclock/cdata", self._sn(table="options"), body.encode(), what="options")
        if self.oplog_on_boot:
            self.oplog.append(f"OPLOG 0\t0\t{self._fmt(self.clock.now())}\t0\t0\t0\t0")
        return True

    def _apply_options(self, options: dict[str, str], *, handshake: bool) -> None:
        self.server_options.update(options)

        def number(key: str) -> float | None:
            value = _get(options, key)
            if value is None:
                return None
            try:
                return float(value)
            except ValueError:
                self.log("iclock_bad_option", key=key, value=value)
                return None

        if (v := number("ErrorDelay")) is not None and v > 0:
            self.server_error_delay = v
            self.retry_delay = self.error_delay
        if (v := number("Delay")) is not None and v > 0:
            self.server_delay = v
        if (v := number("TransInterval")) is not None and v >= 0:
            self.trans_interval_min = v
        if (v := number("TimeZone")) is not None:
            self.timezone_hours = v / 60 if abs(v) > 60 else v  # beyond ±60 the value is in minutes
        if (v := number("Realtime")) is not None:
            self.realtime = v == 1
        if (v := number("ATTPHOTOBase64")) is not None:
            self.attphoto_base64 = v == 1
        flag = _get(options, "TransFlag")
        if flag is not None:
            self.trans_flags = self._parse_trans_flag(flag)
        if handshake:
            raw = _get(options, "ATTLOGStamp")
            if raw is None:
                raw = _get(options, "Stamp")  # the older name of ATTLOGStamp
            if raw is not None:
                self._resume_attlog(_stamp(raw))

    def _parse_trans_flag(self, flag: str) -> set[str]:
        flag = flag.strip()
        if re.fullmatch(r"[01]{12}", flag):
            return {name for name, bit in zip(TRANS_FLAGS, flag, strict=True) if bit == "1"}
        words = re.split(r"[\t ,]+", flag.removeprefix("TransData").strip())
        known = {name.lower(): name for name in TRANS_FLAGS}
        return {known[w.lower()] for w in words if w.lower() in known}

    def _resume_attlog(self, server_stamp: int | None) -> None:
        """Resume from the server's ``ATTLOGStamp``: records it has not seen (stamp above it) that
        the device thinks are delivered go back into the outbox, oldest first."""
        floor = server_stamp or 0
        queued = {e.serial_no for e in self.outbox}
        again = [e for e in self.attlog if e.serial_no > floor and e.serial_no not in queued]
        if not again:
            return
        for event in again:
            event.current = False
        self.outbox.extendleft(reversed(again))
        self.stamps["ATTLOG"] = min(self.stamps["ATTLOG"], floor)
        self.log("iclock_resume", server_stamp=server_stamp, requeued=len(again), first=again[0].serial_no)
        self._wake.set()

    def _sync_clock(self, response: httpx.Response, *, at: str) -> None:
        if self.clock_sync == "off" or (self.clock_sync == "handshake" and at != "handshake"):
            return
        header = response.headers.get("date")
        if not header:
            return
        try:
            server_utc = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            self.log("clock_sync_failed", date=header)
            return
        if server_utc.tzinfo is None:
            server_utc = server_utc.replace(tzinfo=UTC)
        wall = (server_utc.astimezone(UTC) + timedelta(hours=self.timezone_hours)).replace(tzinfo=None)
        target = wall.replace(tzinfo=BEIJING)  # the device shows that wall time; its zone is fixed
        before = self.clock.now()
        if abs((target - before).total_seconds()) < self.clock_sync_tolerance:
            return
        self.clock.set(target)
        self.log(
            "clock_sync",
            at=at,
            date=header,
            timezone=self.timezone_hours,
            before=before.isoformat(),
            after=self.clock.now().isoformat(),
        )

    async def _poll_once(self) -> bool:
        """One heartbeat: flush OPERLOG and command results, then ``getrequest`` (or ``ping`` while a
        large upload is under way) and execute what the server queued."""
        try:
            if self.pending_results and not await self._post_results():
                return False
            if self.oplog and not await self._upload_oplog():
                return False
            if self.ping_during_upload and self._upload_ok and len(self.outbox) > self.batch_size:
                response = await self._request("GET", "/iclock/ping", self._sn(), what="ping")
                return response.status_code == 200
            params = self._sn()
            if self._first_poll and self.send_info_on_first_poll:
                params["INFO"] = self._info_param()
            response = await self._request("GET", "/iclock/getrequest", params, what="getrequest")
        except (httpx.HTTPError, DeviceOffline):
            return False
        if response.status_code != 200:
            self.log("getrequest_refused", status=response.status_code)
            return False
        self._first_poll = False
        self._sync_clock(response, at="getrequest")
        commands = self._parse_commands(self._text(response))
        reboot = False
        for cmd_id, command in commands:
            result = await self._execute(cmd_id, command)
            self.pending_results.append(result)
            reboot = reboot or result.cmd == "REBOOT"
        if self.pending_results:
            with contextlib.suppress(httpx.HTTPError, DeviceOffline):
                await self._post_results()
        if reboot:
            self._reboot()
        return True

    def _info_param(self) -> str:
        faces = sum(1 for p in self.enrolled.values() if p.face)
        # fw, users, fingerprints, attlogs, ip, fp algorithm, face algorithm, faces needed, faces, function bits
        return f"{self.firmware},{len(self.enrolled)},0,{len(self.attlog)},{self.ip_address},10,7,1,{faces},101"

    def _parse_commands(self, text: str) -> list[tuple[str, str]]:
        commands: list[tuple[str, str]] = []
        for raw in text.replace("\r\n", "\n").split("\n"):
            line = raw.strip("\r")
            if not line.strip() or line.strip() == "OK":
                continue
            match = re.match(r"C:([^:\s]{1,64}):(.*)$", line, flags=re.S)
            if match and match.group(2).strip():
                commands.append((match.group(1), match.group(2).strip()))
            else:
                self.log("iclock_bad_command_line", line=_preview(line))
        return commands

    async def _post_results(self) -> bool:
        body = "\n".join(r.line() for r in self.pending_results) + "\n"
        response = await self._request(
            "POST", "/iclock/devicecmd", self._sn(), body.encode(self.name_encoding, "replace"), what="devicecmd"
        )
        if self._is_ok(response, self._text(response)):
            self.pending_results.clear()
            return True
        return False

    async def _upload_oplog(self) -> bool:
        if "OpLog" not in self.trans_flags and "EnrollUser" not in self.trans_flags:
            self.oplog.clear()
            return True
        lines = list(self.oplog)
        self.stamps["OPERLOG"] += len(lines)
        body = ("\n".join(lines) + "\n").encode(self.name_encoding, "replace")
        params = self._sn(table="OPERLOG", Stamp=str(self.stamps["OPERLOG"]))
        response = await self._request("POST", "/iclock/cdata", params, body, what="operlog")
        if self._is_ok(response, self._text(response)):
            del self.oplog[: len(lines)]
            return True
        self.stamps["OPERLOG"] -= len(lines)
        return False

    def _reboot(self) -> None:
        self.reboots += 1
        self._ready.clear()
        self.log("reboot")

    # -- commands --------------------------------------------------------------------------------
    async def _execute(self, cmd_id: str, command: str) -> CommandResult:
        self.log("command", id=cmd_id, command=_preview(command))
        try:
            result = await self._dispatch(cmd_id, command)
        except Exception as exc:  # a command that breaks the parser is a bad parameter, not a crash
            self.log("command_error", id=cmd_id, error=f"{type(exc).__name__}: {exc}")
            result = CommandResult(cmd_id, "-1", command.split(" ", 1)[0].upper() or "UNKNOWN")
        self.log("command_result", id=cmd_id, code=result.code, cmd=result.cmd)
        return result

    async def _dispatch(self, cmd_id: str, command: str) -> CommandResult:
        words = command.split(None, 3)
        head = words[0].upper()
        if head == "DATA" and len(words) >= 2:
            verb = words[1].upper()
            if verb in ("UPDATE", "DELETE", "QUERY") and len(words) >= 3:
                table = words[2].upper().rstrip("$")
                rest = command.split(None, 3)[3] if len(words) == 4 else ""
                code = await self._data(verb, table, rest)
            elif verb in ("USER", "USERINFO"):  # pre-2.x "DATA USER PIN=…"
                code = await self._data("UPDATE", "USERINFO", command.split(None, 2)[2] if len(words) > 2 else "")
            elif verb in ("DEL_USER",):
                code = await self._data("DELETE", "USERINFO", command.split(None, 2)[2] if len(words) > 2 else "")
            else:
                code = "-1002"
            return CommandResult(cmd_id, code, "DATA")
        upper = " ".join(command.upper().split())
        if upper.startswith("CLEAR "):
            what = upper.removeprefix("CLEAR ")
            return CommandResult(cmd_id, self._clear(what), "CLEAR_" + what.replace(" ", "_"))
        if upper == "CHECK":
            self._ready.clear()  # re-read the stamps at a new handshake, then upload from them
            return CommandResult(cmd_id, "0", "CHECK")
        if upper == "LOG":
            self._wake.set()
            return CommandResult(cmd_id, "0", "LOG")
        if upper == "INFO":
            return CommandResult(cmd_id, "0", "INFO", self._info_lines())
        if upper == "REBOOT":
            return CommandResult(cmd_id, "0", "REBOOT")
        if upper in ("AC_UNLOCK", "AC_UNALARM"):
            return CommandResult(cmd_id, "0", upper)
        if upper == "RELOAD OPTIONS":
            self._ready.clear()
            return CommandResult(cmd_id, "0", "RELOAD_OPTIONS")
        if upper.startswith("SET OPTION"):
            options = parse_options(command.split(None, 2)[2] if len(command.split(None, 2)) > 2 else "")
            if not options:
                return CommandResult(cmd_id, "-1", "SET_OPTION")
            self._apply_options(options, handshake=False)
            return CommandResult(cmd_id, "0", "SET_OPTION")
        if upper.startswith("VERIFY SUM ATTLOG"):
            fields = parse_fields(command.split(None, 3)[3] if len(command.split(None, 3)) > 3 else "")
            count = len(self._attlog_between(fields))
            return CommandResult(cmd_id, "0", "VERIFY_SUM", [f"AttlogSum={count}"])
        return CommandResult(cmd_id, "-1002", head or "UNKNOWN")  # SHELL, UPGRADE, ENROLL_*, garbage

    def _info_lines(self) -> list[str]:
        faces = sum(1 for p in self.enrolled.values() if p.face)
        return [
            f"~DeviceName={self.device_id}",
            "MAC=00:17:61:00:00:01",
            f"UserCount={len(self.enrolled)}",
            "FPCount=0",
            f"TransactionCount={len(self.attlog)}",
            f"FaceCount={faces}",
            f"FWVersion={self.firmware}",
            f"IPAddress={self.ip_address}",
            f"PushVersion={self.pushver}",
            f"MaxUserCount={self.max_users}",
            f"MaxFaceCount={self.max_faces}",
        ]

    def _clear(self, what: str) -> str:
        if what == "LOG":
            self.attlog.clear()  # stored punches; events still waiting in the outbox are kept
        elif what == "PHOTO":
            self.pending_photos.clear()
        elif what == "BIODATA":
            for person in self.enrolled.values():
                person.face = None
        elif what in ("DATA", "ALL USERINFO"):
            self.enrolled.clear()
            if what == "DATA":
                self.attlog.clear()
                self.pending_photos.clear()
        else:
            return "-1002"
        self.log("cleared", what=what)
        return "0"

    async def _data(self, verb: str, table: str, rest: str) -> str:
        fields = parse_fields(rest)
        pin = _get(fields, "PIN")
        if table in ("USER",):
            table = "USERINFO"
        if verb == "UPDATE" and table == "USERINFO":
            return self._update_user(fields)
        if verb == "UPDATE" and table == "BIOPHOTO":
            return await self._update_biophoto(fields)
        if verb == "UPDATE" and table == "BIODATA":
            kind = _get(fields, "Type", "")
            if kind == "9" and self.reject_biodata_face:
                return "-30"  # ZAM70 / visible-light firmware wants BIOPHOTO instead [M]
            return "0" if pin in self.enrolled else "-10"
        if verb == "UPDATE" and table in ("USERPIC", "IDCARD", "FINGERTMP", "FACE", "WORKCODE", "SMS"):
            if pin and table == "USERPIC" and pin in self.enrolled:
                self.enrolled[pin].extra["userpic"] = True
            return "0"
        if verb == "DELETE" and table == "USERINFO":
            if pin is None:
                return "-1"
            removed = self.enrolled.pop(pin, None)
            self.log("user_deleted", employee_no=pin, existed=removed is not None)
            return "0"
        if verb == "DELETE" and table in ("BIOPHOTO", "BIODATA", "FACE", "USERPIC"):
            if pin in self.enrolled:
                self.enrolled[pin].face = None
            return "0"
        if verb == "QUERY" and table == "ATTLOG":
            records = self._attlog_between(fields)
            for start in range(0, len(records), self.batch_size):
                chunk = records[start : start + self.batch_size]
                body = "".join(self._attlog_line(e) + "\n" for e in chunk).encode()
                params = self._sn(table="ATTLOG", Stamp=str(chunk[-1].serial_no))
                response = await self._request("POST", "/iclock/cdata", params, body, what="query_attlog")
                if not self._is_ok(response, self._text(response)):
                    return "-1003"
            return str(len(records))
        if verb == "QUERY" and table == "USERINFO":
            people = [p for p in self.enrolled.values() if pin is None or p.employee_no == pin]
            if people:
                body = "".join(self._user_line(p) + "\n" for p in people).encode(self.name_encoding, "replace")
                params = self._sn(table="OPERLOG", Stamp=str(self.stamps["OPERLOG"]))
                response = await self._request("POST", "/iclock/cdata", params, body, what="query_userinfo")
                if not self._is_ok(response, self._text(response)):
                    return "-1003"
            return str(len(people))
        return "-1002"

    def _update_user(self, fields: dict[str, str]) -> str:
        pin = (_get(fields, "PIN") or "").strip()
        if not pin or len(pin) > 24:
            return "-1"
        if pin not in self.enrolled and len(self.enrolled) >= self.max_users:
            self.log("capacity_full", what="users", limit=self.max_users)
            return "-1001"
        person = self.enrolled.get(pin) or Enrolled(employee_no=pin)
        name = _get(fields, "Name")
        if name is not None:
            person.name = name
        card = _get(fields, "Card")
        if card is not None:
            person.card_no = _card_number(card) or None
        for key in ("Pri", "Passwd", "Grp", "TZ", "Verify", "ViceCard"):
            value = _get(fields, key)
            if value is not None:
                person.extra[key] = value
        self.enrolled[pin] = person
        self.log("user_updated", employee_no=pin, name=person.name, card_no=person.card_no)
        return "0"

    async def _update_biophoto(self, fields: dict[str, str]) -> str:
        pin = (_get(fields, "PIN") or "").strip()
        person = self.enrolled.get(pin)
        if person is None:
            return "-10"
        if person.face is None and sum(1 for p in self.enrolled.values() if p.face) >= self.max_faces:
            self.log("capacity_full", what="faces", limit=self.max_faces)
            return "-1001"
        content = _get(fields, "Content") or ""
        url = _get(fields, "Url") or ""
        photo: bytes | None = None
        if content:
            size = _get(fields, "Size")
            if size is not None and size.strip().isdigit() and int(size) != len(content):
                return "-2"
            try:
                photo = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                return "-1"
        elif url:
            if self._client is None:
                return "-1008"
            target = urljoin(self.server_url + "/", url)
            try:
                response = await self._client.get(target)
            except httpx.HTTPError as exc:
                self.log("biophoto_download_failed", url=target, error=str(exc))
                return "-1008"
            self.log("biophoto_download", url=target, status=response.status_code, bytes=len(response.content))
            if response.status_code != 200:
                return "-1008"
            photo = response.content
        else:
            return "-1"
        if not (photo.startswith(b"\xff\xd8") or photo.startswith(b"\x89PNG")):
            return self.bad_photo_return  # no face found in whatever that was
        if self.face_enrol_seconds:
            await asyncio.sleep(self.face_enrol_seconds)
        person.face = photo
        person.extra["face_type"] = _get(fields, "Type", "9")
        self.log(
            "face_enrolled", employee_no=pin, photo_bytes=len(photo), via="url" if url and not content else "content"
        )
        return "0"

    def _attlog_between(self, fields: dict[str, str]) -> list[Event]:
        def parse(value: str | None) -> datetime | None:
            if not value:
                return None
            try:
                return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
            except ValueError:
                return None

        start, end = parse(_get(fields, "StartTime")), parse(_get(fields, "EndTime"))
        return [e for e in self.attlog if (start is None or e.at >= start) and (end is None or e.at <= end)]

    # -- uploads -----------------------------------------------------------------------------------
    @staticmethod
    def _fmt(at: datetime) -> str:
        return at.strftime("%Y-%m-%d %H:%M:%S")

    def _table(self, event: Event) -> str | None:
        if event.credential == "id_card":
            return "IDCARD"
        if event.kind.granted and event.employee_no:
            return "ATTLOG"
        return None  # strangers, unknown cards, liveness failures, refusals: no record on ZK terminals

    def _attlog_line(self, event: Event) -> str:
        status = self.status_in if event.direction == "in" else self.status_out
        verify = self.verify_codes.get(event.kind, 0)
        kind = 0  # v2.4.0+ ID-card lines: Type 0 = attendance
        if event.kind in ID_VERIFICATION_STATUS:
            status, verify, kind = ID_VERIFICATION_STATUS[event.kind], self.verify_codes[Verdict.ID_CARD], 1
        line = f"{event.employee_no}\t{self._fmt(event.at)}\t{status}\t{verify}\t0\t0\t0"
        if event.credential == "id_card" and event.id_card:
            number = event.id_card.get("id_number") or event.id_card.get("IDNum") or ""
            line += f"\t{number}\t{kind}"
        return line

    def _idcard_line(self, event: Event) -> str:
        card = event.id_card or {}
        gender = card.get("Gender")
        if gender is None:
            male = card.get("male")
            gender = (1 if male else 2) if male is not None else (1 if card.get("gender") in (0, "0", "M") else 2)
        nation = card.get("Nation")
        if nation is None:
            text = str(card.get("nation") or "")
            nation = NATIONS.index(text) + 1 if text in NATIONS else 97
        valid = f"{_yyyymmdd(card.get('valid_from'))}{_yyyymmdd(card.get('valid_to'))}"
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
            "Birthday": _yyyymmdd(card.get("birth") or card.get("Birthday")),
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

    def _user_line(self, person: Enrolled) -> str:
        extra = person.extra
        return (
            f"USER PIN={person.employee_no}\tName={person.name}\tPri={extra.get('Pri', 0)}"
            f"\tPasswd={extra.get('Passwd', '')}"
            f"\tCard={person.card_no or ''}\tGrp={extra.get('Grp', 1)}\tTZ={extra.get('TZ', '0000000000000000')}"
            f"\tVerify={extra.get('Verify', 0)}\tViceCard={extra.get('ViceCard', '')}"
        )

    async def _wait_for_upload_window(self) -> None:
        """``Realtime=0``: records wait for the next ``TransInterval`` tick (minutes, scaled)."""
        if self.realtime or self.trans_interval_min <= 0:
            return
        period = max(self.min_interval, self.trans_interval_min * 60 * self.time_scale)
        loop = asyncio.get_running_loop()
        due = self._last_upload + period
        if loop.time() < due:
            await asyncio.sleep(due - loop.time())
        self._last_upload = loop.time()

    async def deliver(self, events: list[Event]) -> int:
        await self._ready.wait()  # no upload before a successful handshake (ZK-ATT §4)
        await self._wait_for_upload_window()
        async with self._io:
            if not self.outbox or self.outbox[0] is not events[0]:
                return 0  # the outbox changed under us (resume from a stamp): take a fresh batch
            skipped = 0
            while skipped < len(events) and self._table(events[skipped]) is None:
                skipped += 1
            if skipped:
                self.log(
                    "iclock_not_uploaded",
                    serial_nos=[e.serial_no for e in events[:skipped]],
                    reason="not an attendance record",
                    verdicts=[e.kind.value for e in events[:skipped]],
                )
                return skipped
            table = self._table(events[0])
            run: list[Event] = []
            for event in events:
                if self._table(event) != table:
                    break
                run.append(event)
            try:
                ok = await (self._upload_idcard(run) if table == "IDCARD" else self._upload_attlog(run))
            except (httpx.HTTPError, DeviceOffline) as exc:
                self._upload_ok = False
                raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc
            self._upload_ok = ok
            if not ok:
                self.retry_delay = self.error_delay
                return 0
            for event in run:
                if all(e.serial_no != event.serial_no for e in self.attlog):
                    self.attlog.append(event)
            if self.upload_photos and "AttPhoto" in self.trans_flags:
                self.pending_photos.extend(e for e in run if e.photo and e.kind is Verdict.FACE_PASS)
                await self._upload_pending_photos()
            return len(run)

    async def _upload_attlog(self, run: list[Event]) -> bool:
        body = "".join(self._attlog_line(e) + "\n" for e in run).encode()
        params = self._sn(table="ATTLOG", Stamp=str(run[-1].serial_no))
        response = await self._request("POST", "/iclock/cdata", params, body, what="attlog")
        if not self._is_ok(response, self._text(response)):
            self.log("attlog_unacknowledged", status=response.status_code, serial_nos=[e.serial_no for e in run])
            return False
        self.stamps["ATTLOG"] = max(self.stamps["ATTLOG"], run[-1].serial_no)
        return True

    async def _upload_idcard(self, run: list[Event]) -> bool:
        body = "".join(self._idcard_line(e) + "\n" for e in run).encode()
        params = self._sn(table="IDCARD", Stamp=str(run[-1].serial_no))
        response = await self._request("POST", "/iclock/cdata", params, body, what="idcard")
        if not self._is_ok(response, self._text(response)):
            return False
        self.stamps["IDCARD"] = run[-1].serial_no
        with_pin = [e for e in run if e.employee_no]
        if with_pin and self.idcard_attlog:
            return await self._upload_attlog(with_pin)
        return True

    async def _upload_pending_photos(self) -> None:
        """One ``ATTPHOTO`` per request; a failed photo stays pending and is tried after the next
        successful upload (photos never hold attendance lines back)."""
        while self.pending_photos:
            event = self.pending_photos[0]
            assert event.photo is not None
            name = f"{event.at.strftime('%Y%m%d%H%M%S')}-{event.employee_no}.jpg"
            photo = base64.b64encode(event.photo) if self.attphoto_base64 else event.photo
            body = f"PIN={name}\nSN={self.serial_number}\nsize={len(photo)}\nCMD=uploadphoto\0".encode() + photo
            params = self._sn(table="ATTPHOTO", Stamp=str(event.serial_no))
            try:
                response = await self._request("POST", self.photo_endpoint, params, body, what="attphoto")
            except (httpx.HTTPError, DeviceOffline):
                return
            if not self._is_ok(response, self._text(response)):
                return
            self.stamps["ATTPHOTO"] = event.serial_no
            self.pending_photos.pop(0)
