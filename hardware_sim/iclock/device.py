"""A virtual ZKTeco attendance terminal speaking PUSH / iclock 2.4.x (the attendance flavour): the
device and its loop. The text formats are in :mod:`hardware_sim.iclock.codec`, what it does with
the server's commands in :mod:`hardware_sim.iclock.commands`.

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
import contextlib
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Self, Unpack
from urllib.parse import urljoin

import httpx

from hardware_sim.device import (
    BEIJING,
    Device,
    DeviceOptions,
    DeviceSettings,
    Enrolled,
    Event,
    SiteEntry,
    SiteEntryError,
    cancel,
    settings_of,
)
from hardware_sim.iclock import commands
from hardware_sim.iclock.codec import (
    STAMP_KEYS,
    TRANS_FLAGS,
    VERIFY,
    CommandResult,
    attlog_line,
    fmt,
    get_field,
    idcard_line,
    is_ok,
    parse_commands,
    parse_options,
    parse_stamp,
    parse_trans_flag,
    preview,
    user_line,
)
from hardware_sim.recognition import Verdict


class DeviceOffline(ConnectionError):
    """The simulated network is down or the device is powered off: nothing leaves the device."""


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
        settings: DeviceSettings | None = None,
        **base: Unpack[DeviceOptions],
    ) -> None:
        chosen = settings_of(settings, base).or_defaults(batch_size=62, retry_delay=default_error_delay * time_scale)
        super().__init__(device_id, chosen)
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

    @classmethod
    def from_site(cls, entry: SiteEntry) -> Self:
        """A terminal that polls the site's iclock server (``vendor.iclock``)."""
        options = entry.options()
        if "server_url" not in options:
            if not entry.vendor_url:
                raise SiteEntryError(
                    "needs the vendor's URL: set vendor.iclock in the site file "
                    "(or vendor_url on the device, or options.server_url)"
                )
            options["server_url"] = entry.vendor_url
        return cls.create(entry, options)

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
        await cancel(self._runner)
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
    def enroll_on_device(self, employee_no: str, name: str = "", *, face: bytes | None = None) -> None:
        """Someone enrols a person at the terminal's menu: the device reports ``USER`` (and an
        ``OPLOG 30`` new-user line) in ``table=OPERLOG``."""
        self.enrolled[employee_no] = Enrolled(employee_no=employee_no, name=name, face=face)
        self.oplog.append(user_line(self.enrolled[employee_no]))
        self.oplog.append(f"OPLOG 30\t0\t{fmt(self.clock.now())}\t{employee_no}\t0\t0\t0")
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
        shown: str | None = None
        if body is not None:
            head, nul, tail = body.partition(b"\0")
            shown = preview(head.decode(self.name_encoding, "replace"))
            if nul:
                shown += f"\\0<{len(tail)} bytes>"
        try:
            response = await self._client.request(method, path, params=params, content=body)
        except httpx.HTTPError as exc:
            self.log("iclock_sent", what=what, method=method, path=path, params=params, body=shown)
            self.log("iclock_failed", what=what, error=f"{type(exc).__name__}: {exc}")
            raise
        text = response.content.decode(self.name_encoding, "replace")
        self.log(
            "iclock_exchange",
            what=what,
            method=method,
            path=path,
            params=params,
            body=shown,
            status=response.status_code,
            date=response.headers.get("date"),
            reply=preview(text),
        )
        return response

    def _text(self, response: httpx.Response) -> str:
        return response.content.decode(self.name_encoding, "replace").strip()

    @staticmethod
    def _is_ok(response: httpx.Response, text: str) -> bool:
        return is_ok(response.status_code, text)

    def _sn(self, **extra: str) -> dict[str, str]:
        return {"SN": self.serial_number, **extra}

    async def post_cdata(self, table: str, stamp: str, body: bytes, *, what: str) -> bool:
        """Upload ``body`` as ``table`` records up to ``stamp``; True when the server says OK."""
        response = await self._request("POST", "/iclock/cdata", self._sn(table=table, Stamp=stamp), body, what=what)
        return self._is_ok(response, self._text(response))

    async def download(self, url: str) -> bytes | None:
        """``url`` (relative to the server) fetched over the device's connection; None when it fails."""
        if self._client is None:
            return None
        target = urljoin(self.server_url + "/", url)
        try:
            response = await self._client.get(target)
        except httpx.HTTPError as exc:
            self.log("biophoto_download_failed", url=target, error=str(exc))
            return None
        self.log("biophoto_download", url=target, status=response.status_code, bytes=len(response.content))
        return response.content if response.status_code == 200 else None

    # -- what commands ask of the device ---------------------------------------------------------
    def handshake_again(self) -> None:
        self._ready.clear()

    def upload_now(self) -> None:
        self._wake.set()

    async def _execute(self, cmd_id: str, command: str) -> CommandResult:
        self.log("command", id=cmd_id, command=preview(command))
        try:
            result = await commands.execute(self, cmd_id, command)
        except Exception as exc:  # a command that breaks the parser is a bad parameter, not a crash
            self.log("command_error", id=cmd_id, error=f"{type(exc).__name__}: {exc}")
            result = CommandResult(cmd_id, "-1", command.split(" ", 1)[0].upper() or "UNKNOWN")
        self.log("command_result", id=cmd_id, code=result.code, cmd=result.cmd)
        return result

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
        self.apply_options(options, handshake=True)  # TimeZone first: the clock sync needs it
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
            self.oplog.append(f"OPLOG 0\t0\t{fmt(self.clock.now())}\t0\t0\t0\t0")
        return True

    def apply_options(self, options: dict[str, str], *, handshake: bool) -> None:
        self.server_options.update(options)

        def number(key: str) -> float | None:
            value = get_field(options, key)
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
        flag = get_field(options, "TransFlag")
        if flag is not None:
            self.trans_flags = parse_trans_flag(flag)
        if handshake:
            raw = get_field(options, "ATTLOGStamp")
            if raw is None:
                raw = get_field(options, "Stamp")  # the older name of ATTLOGStamp
            if raw is not None:
                self._resume_attlog(parse_stamp(raw))

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
        commands, bad = parse_commands(self._text(response))
        for line in bad:
            self.log("iclock_bad_command_line", line=preview(line))
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

    # -- uploads -----------------------------------------------------------------------------------
    def _table(self, event: Event) -> str | None:
        if event.credential == "id_card":
            return "IDCARD"
        if event.kind.granted and event.employee_no:
            return "ATTLOG"
        return None  # strangers, unknown cards, liveness failures, refusals: no record on ZK terminals

    def attlog_line(self, event: Event) -> str:
        return attlog_line(event, status_in=self.status_in, status_out=self.status_out, verify_codes=self.verify_codes)

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
        body = "".join(self.attlog_line(e) + "\n" for e in run).encode()
        params = self._sn(table="ATTLOG", Stamp=str(run[-1].serial_no))
        response = await self._request("POST", "/iclock/cdata", params, body, what="attlog")
        if not self._is_ok(response, self._text(response)):
            self.log("attlog_unacknowledged", status=response.status_code, serial_nos=[e.serial_no for e in run])
            return False
        self.stamps["ATTLOG"] = max(self.stamps["ATTLOG"], run[-1].serial_no)
        return True

    async def _upload_idcard(self, run: list[Event]) -> bool:
        body = "".join(idcard_line(e) + "\n" for e in run).encode()
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
