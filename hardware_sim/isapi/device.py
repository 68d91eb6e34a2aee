"""A virtual Hikvision ISAPI face terminal: the state a vendor's system issues to it (persons,
cards, faces, listening hosts, time) and the push of ``AccessControllerEvent`` to the listening host.

The HTTP side lives in :mod:`hardware_sim.isapi.app` (the ASGI app), :mod:`hardware_sim.isapi.resources`
(one module per resource group) and :mod:`hardware_sim.isapi.server` (many devices, one app, one
socket each); the state records the resources change are in :mod:`hardware_sim.isapi.records`;
this module is the device.

Offline (powered off or network dropped): the device's listening socket accepts nothing — new
connections and any bytes on existing ones are reset (the vendor sees a connection error, as with
an unreachable device; we do not black-hole packets, which would only make tests wait for timeouts)
— and the base class stops calling :meth:`IsapiDevice.deliver`, so events buffer and are replayed
with ``currentEvent: false`` when the device is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import replace
from datetime import datetime
from typing import Any, Self, Unpack

from hardware_sim.device import Device, DeviceOptions, DeviceSettings, Enrolled, Event, SiteEntry
from hardware_sim.isapi import messages
from hardware_sim.isapi.digest import DigestAuthority
from hardware_sim.isapi.firmware import Firmware, profile
from hardware_sim.isapi.push import Pusher
from hardware_sim.isapi.records import CardRecord, DeleteJob, FaceLib, HttpHost
from hardware_sim.isapi.server import IsapiServer
from hardware_sim.recognition import Verdict


def _mac(device_id: str) -> str:
    digest = hashlib.sha1(device_id.encode()).digest()
    return "bc:ad:28:" + ":".join(f"{b:02x}" for b in digest[:3])  # bc:ad:28 is a Hikvision OUI


class IsapiDevice(Device):
    kind = "isapi"

    def __init__(
        self,
        device_id: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "admin",
        password: str = "hik12345",
        firmware: Firmware | str | None = None,
        serve: bool = True,
        server: IsapiServer | None = None,
        device_name: str | None = None,
        seed: int | None = None,
        settings: DeviceSettings | None = None,
        **base: Unpack[DeviceOptions],
    ) -> None:
        super().__init__(device_id, settings, **base)
        self.fw = profile(firmware)
        self.host = host
        self.requested_port = port
        self.port = port
        self.serve = serve
        self.server = server
        self.username = username
        self.password = password
        self.auth = DigestAuthority(
            {username: password},
            realm=self.fw.realm,
            max_uses=self.fw.nonce_max_uses,
            lifetime=self.fw.nonce_lifetime_s,
            lockout_attempts=self.fw.lockout_attempts,
            lockout_seconds=self.fw.lockout_seconds,
            algorithms=self.fw.digest_algorithms,
        )
        self.rng = random.Random(seed if seed is not None else device_id)
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"isapi:{device_id}"))
        serial = "".join(ch for ch in hashlib.sha1(device_id.encode()).hexdigest().upper() if ch.isdigit())[:9]
        self.serial_number = f"{self.fw.model}{self.fw.firmware_build.split()[-1]}V{serial.ljust(9, '0')}"
        self.identity = messages.Identity(
            device_name=device_name or device_id,
            device_id=self.uuid,
            serial_number=self.serial_number,
            mac=_mac(device_id),
            ip=host if host not in ("0.0.0.0", "") else "127.0.0.1",
            port=port or 80,
        )
        self.time_zone = "CST-8:00:00"
        self.time_mode = "manual"
        self.ntp_servers: list[dict[str, Any]] = []
        self.cards: dict[str, CardRecord] = {}
        self.face_libs: dict[str, FaceLib] = {"1": FaceLib("1", "blackFD")}
        if self.fw.deep_mode:
            self.face_libs["2"] = FaceLib("2", "blackFD", name="infrared")
        self.http_hosts: dict[str, HttpHost] = {}
        self._pushers: dict[str, Pusher] = {}
        self._host_ready = asyncio.Event()
        self.delete_job: DeleteJob | None = None
        self.history: deque[messages.AcsRecord] = deque(maxlen=self.fw.event_log_capacity)
        self.pictures: OrderedDict[int, bytes] = OrderedDict()
        self.doors_opened = 0
        self.requests = 0

    @classmethod
    def from_site(cls, entry: SiteEntry) -> Self:
        """The terminal at the entry's ``host``/``port``; the site's receiver becomes listening host 1,
        as an installer would set it in the device's web page (the vendor's ``PUT …/httpHosts``
        replaces it)."""
        options = entry.options()
        options.setdefault("host", entry.config.host)
        if entry.config.port is not None:
            options.setdefault("port", entry.config.port)
        device = cls.create(entry, options)
        if entry.vendor_url and not device.http_hosts:
            device.http_hosts["1"] = HttpHost.for_url("1", entry.vendor_url)
            device.hosts_changed()
            device.log("http_host_preset", url=entry.vendor_url, by="site file (vendor.receiver)")
        return device

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.identity.ip}:{self.port}"

    async def start(self) -> None:
        if self.serve:
            if self.server is None:
                self.server = IsapiServer.shared()
            self.port = await self.server.add(self, self.host, self.requested_port)
            self.identity = _replace_port(self.identity, self.port)
        self.log("start", url=self.url if self.serve else None, firmware=self.fw.name)
        self.start_sender()

    async def stop(self) -> None:
        await self.stop_sender()
        for pusher in self._pushers.values():
            pusher.close()
        self._pushers.clear()
        if self.serve and self.server is not None:
            await self.server.remove(self)
        self.log("stop")

    # -- physical state --------------------------------------------------------------------------
    def _cut_connections(self) -> None:
        for pusher in self._pushers.values():
            pusher.abort()
        if self.server is not None:
            self.server.drop_connections(self)

    def power_off(self) -> None:
        super().power_off()
        self._cut_connections()

    def network_drop(self, seconds: float) -> None:
        super().network_drop(seconds)
        self._cut_connections()

    def reboot(self, seconds: float = 1.0) -> None:
        """``PUT /ISAPI/System/reboot``: off now, on again after ``seconds`` (events stay buffered)."""
        self.power_off()
        asyncio.get_running_loop().call_later(seconds, self.power_on)

    # -- events ----------------------------------------------------------------------------------
    def _emit(
        self,
        kind: Verdict,
        person: Enrolled | None,
        *,
        at: datetime | None = None,
        presented: str | None = None,
        **fields: Any,
    ) -> Event:
        event = super()._emit(kind, person, at=at, presented=presented, **fields)
        event.record = self._record(event, person)
        self.history.append(event.record)
        if event.photo:
            self.pictures[event.serial_no] = event.photo
            while len(self.pictures) > self.fw.picture_log_capacity:
                self.pictures.popitem(last=False)
        return event

    def _record(self, event: Event, person: Enrolled | None) -> messages.AcsRecord:
        """The event as the device logs it: the one place its code and the person it names are decided."""
        fw = self.fw
        named = person if event.employee_no is not None else None  # the base class named who the verdict identifies
        if named is None and fw.liveness_fail_names_person and event.kind is Verdict.LIVENESS_FAIL:
            named = person
        user_type = None
        if named is not None:
            stored = str(named.extra.get("UserInfo", {}).get("userType", "normal"))
            user_type = "blackList" if named.blocklisted else stored
        attendance = ("checkIn" if event.direction == "in" else "checkOut") if fw.attendance_status else "undefined"
        return messages.AcsRecord(
            serial_no=event.serial_no,
            at=messages.iso(event.at),
            at_ts=event.at.timestamp(),
            kind=event.kind,
            minor=fw.minor(event.kind),
            employee_no=named.employee_no if named else None,
            name=(named.name or "") if named else None,
            user_type=user_type,
            card_no=event.card_no,
            face=event.credential == "face",
            attendance_status=attendance,
            id_card=dict(event.id_card or {}) if event.credential == "id_card" else None,
        )

    def swipe_card(self, card_no: str) -> Event | None:
        """A card read: the person holding one of the device's issued cards (up to 5 each), else unknown."""
        if not self.powered:
            return None
        record = self.cards.get(card_no)
        person = self.enrolled.get(record.employee_no) if record else None
        if person is None:
            person = next((p for p in self.enrolled.values() if p.card_no == card_no), None)
        blocklisted = record is not None and record.card_type == "blockList"
        return self.present_card("card", person, blocklisted_card=blocklisted, card_no=card_no)

    def swipe_id_card(self, id_card: dict[str, Any], *, photo: bytes | None = None) -> Event | None:
        """An ID card on the terminal's reader (``IDCardInfoEvent``); matched to a person by ID number."""
        return self.read_id_card(id_card, photo=photo)

    async def deliver(self, events: list[Event]) -> int:
        hosts = list(self.http_hosts.values())
        if not hosts:
            if not self.fw.hold_events_without_host:
                for event in events:
                    self.log("push", serial_no=event.serial_no, status=None, note="no listening host: not pushed")
                return len(events)
            self._host_ready.clear()
            await self._host_ready.wait()  # hold until the vendor configures a listening host
            hosts = list(self.http_hosts.values())
            if not self.online:
                return 0
        acked = 0
        for event in events:
            for host in hosts:
                status = await self.push_to(host, event)
                if status != 200:
                    return acked
            acked += 1
        return acked

    def _pusher(self, host: HttpHost) -> Pusher:
        pusher = self._pushers.get(host.id)
        if pusher is None:
            address = host.address
            if host.addressing_format_type.lower() == "hostname" and not self.fw.dns_enabled:
                address = ""  # DNSEnable=false: the name never resolves [M]
            pusher = Pusher(
                address or "0.0.0.0",
                host.port_no,
                tls=host.protocol_type.upper() == "HTTPS",
                timeout=self.fw.push_timeout_s,
            )
            self._pushers[host.id] = pusher
        return pusher

    def render_push(self, host: HttpHost, event: Event) -> bytes:
        pusher = self._pusher(host)
        envelope = messages.event_envelope(
            self.fw,
            self.identity,
            event.record,
            current=event.current,
            photo=event.photo,
            post_count=max(event.attempts, 1),
        )
        as_xml = self.fw.event_format == "xml" or (
            self.fw.event_format == "host" and host.parameter_format_type.upper() == "XML"
        )
        ctype, body = messages.event_body(self.fw, envelope, event.photo, as_xml=as_xml)
        return pusher.request(host.url or "/", ctype, body, date=self.clock.timestamp())

    async def push_to(self, host: HttpHost, event: Event) -> int:
        """POST one event to one host; the HTTP status, or 0 on a connection error or timeout."""
        pusher = self._pusher(host)
        request = self.render_push(host, event)
        try:
            status = await pusher.post(request)
        except (OSError, TimeoutError, ValueError) as exc:
            self.log("push", serial_no=event.serial_no, status=0, current=event.current, host=host.id, error=str(exc))
            return 0
        self.log("push", serial_no=event.serial_no, status=status, current=event.current, host=host.id)
        return status

    async def send_test(self, host: HttpHost) -> tuple[bool, str]:
        """``httpHosts/<id>/test``: one test notification on its own connection."""
        address = host.address
        if not address or (host.addressing_format_type.lower() == "hostname" and not self.fw.dns_enabled):
            return False, "the host address does not resolve"
        pusher = Pusher(
            address, host.port_no, tls=host.protocol_type.upper() == "HTTPS", timeout=self.fw.push_timeout_s
        )
        body = messages.dumps(
            {
                "ipAddress": self.identity.ip,
                "portNo": self.identity.port,
                "protocol": "HTTP",
                "macAddress": self.identity.mac,
                "channelID": 1,
                "dateTime": messages.iso(self.clock.now()),
                "activePostCount": 1,
                "eventType": self.fw.test_event_type,
                "eventState": "active",
                "eventDescription": "test",
            }
        )
        try:
            status = await pusher.post(pusher.request(host.url or "/", "application/json; charset=UTF-8", body))
        except (OSError, TimeoutError, ValueError) as exc:
            self.log("push_test", host=host.id, status=0, error=str(exc))
            return False, str(exc)
        finally:
            pusher.close()
        self.log("push_test", host=host.id, status=status)
        return status == 200, f"HTTP {status}"

    def hosts_changed(self) -> None:
        for pusher in self._pushers.values():
            pusher.close()
        self._pushers.clear()
        if self.http_hosts:
            self._host_ready.set()

    # -- persons, cards, faces (used by the app; also handy for scenarios) -----------------------
    def face_count(self, fdid: str = "1") -> int:
        if fdid == "1":
            return sum(1 for p in self.enrolled.values() if p.face)
        lib = self.face_libs.get(fdid)
        return len(lib.records) if lib else 0

    def cards_of(self, employee_no: str) -> list[CardRecord]:
        return [c for c in self.cards.values() if c.employee_no == employee_no]

    def remove_person(self, employee_no: str) -> bool:
        """Delete a person with their cards and faces (every library)."""
        person = self.enrolled.pop(employee_no, None)
        for card in self.cards_of(employee_no):
            del self.cards[card.card_no]
        for lib in self.face_libs.values():
            lib.records.pop(employee_no, None)
        return person is not None

    def settle_delete(self) -> None:
        job = self.delete_job
        if job is None or job.applied or time.monotonic() < job.due:
            return
        if job.mode == "all":
            removed = len(self.enrolled)
            self.enrolled.clear()
            self.cards.clear()
            for lib in self.face_libs.values():
                lib.records.clear()
        else:
            removed = sum(self.remove_person(no) for no in job.employee_nos or [])
        job.applied = True
        self.log("persons_deleted", mode=job.mode, removed=removed)

    def start_delete(self, mode: str, employee_nos: list[str] | None) -> None:
        self.delete_job = DeleteJob(mode, employee_nos, time.monotonic() + self.fw.delete_process_s)
        delay = self.fw.delete_process_s
        if delay <= 0:
            self.settle_delete()
        else:
            asyncio.get_running_loop().call_later(delay + 0.001, self.settle_delete)


def _replace_port(identity: messages.Identity, port: int) -> messages.Identity:
    return replace(identity, port=port)
