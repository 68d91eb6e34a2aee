"""What every virtual device shares, whatever protocol it speaks: identity, a drifting clock, power
and network state, the people enrolled on it, and the outbox that buffers events while offline and
replays them, in ``serial_no`` order and flagged as replayed, once the device is back.

Protocol modules subclass :class:`Device` and implement ``start``/``stop`` (open or close their
sockets) and ``deliver`` (send a batch of events the protocol's way, return how many the receiver
acknowledged). Physical actions (``present_face``, ``power_off``, ``network_drop`` …) are protocol
independent, so the fleet and the scenarios drive every kind of device the same way.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypedDict, Unpack

from hardware_sim.journal import Journal
from hardware_sim.recognition import Credential, Verdict, recognise

if TYPE_CHECKING:
    from hardware_sim.site import DeviceConfig

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
RTC_RESET = datetime(2000, 1, 1, tzinfo=BEIJING)

EventKind = Verdict  # an event is named after the gate's verdict (hardware_sim.recognition)
Direction = Literal["in", "out"]


@dataclass
class Enrolled:
    """A person as the device knows them (issued by the vendor's system)."""

    employee_no: str
    name: str = ""
    gender: str = "unknown"
    face: bytes | None = None
    card_no: str | None = None
    id_number: str | None = None
    valid_from: datetime | None = None  # the validity window, aware; None = open at that end
    valid_to: datetime | None = None
    blocklisted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Event:
    serial_no: int
    at: datetime  # device-local time with the +08:00 offset (what the device's clock said)
    kind: EventKind
    direction: Direction
    employee_no: str | None = None
    name: str | None = None
    photo: bytes | None = None
    card_no: str | None = None
    id_card: dict[str, Any] | None = None
    credential: Credential = "face"
    record: Any = None  # the protocol's stored log entry, when it keeps one (ISAPI: what AcsEvent returns)
    current: bool = True  # False once the event missed its first delivery (offline, refused, timed out)
    attempts: int = 0

    def summary(self) -> dict[str, Any]:
        """The journal's view (no photo bytes, only their size)."""
        return {
            "serial_no": self.serial_no,
            "at": self.at.isoformat(),
            "event": self.kind,
            "direction": self.direction,
            "employee_no": self.employee_no,
            "photo_bytes": len(self.photo) if self.photo else 0,
            "current": self.current,
        }


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class DeviceClock:
    """The device's RTC: wall time plus an offset plus drift (ppm since the last set)."""

    def __init__(self, *, drift_ppm: float = 0.0, offset_s: float = 0.0) -> None:
        self.drift_ppm = drift_ppm
        self._base_real = time.time()
        self._base_device = self._base_real + offset_s

    def timestamp(self) -> float:
        real = time.time()
        elapsed = real - self._base_real
        return self._base_device + elapsed * (1 + self.drift_ppm / 1e6)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), BEIJING).replace(microsecond=0)

    def set(self, when: datetime) -> None:
        self._base_real = time.time()
        self._base_device = when.timestamp()

    def step(self, seconds: float) -> None:
        self.set(datetime.fromtimestamp(self.timestamp() + seconds, UTC))

    def reset_rtc(self) -> None:
        """What a flat RTC battery does after power loss."""
        self.set(RTC_RESET)


@dataclass(frozen=True)
class DeviceSettings:
    """What every device takes whatever its kind: the site file's per-device settings and the
    fleet's shared journal. ``None`` leaves the kind's own default."""

    journal: Journal | None = None
    clock: DeviceClock | None = None
    direction: Direction = "in"
    buffer_limit: int | None = None
    batch_size: int | None = None
    retry_delay: float | None = None

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    def or_defaults(self, **defaults: Any) -> DeviceSettings:
        """These settings with ``defaults`` (a kind's own) filling those left ``None``."""
        return replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


class DeviceOptions(TypedDict, total=False):
    """:class:`DeviceSettings` as keyword arguments (what a direct caller of a device class passes)."""

    journal: Journal | None
    clock: DeviceClock | None
    direction: Direction
    buffer_limit: int | None
    batch_size: int | None
    retry_delay: float | None


def settings_of(settings: DeviceSettings | None, options: DeviceOptions) -> DeviceSettings:
    """One settings object from a settings object and keyword overrides."""
    base = settings if settings is not None else DeviceSettings()
    return replace(base, **options) if options else base


class SiteEntryError(ValueError):
    """A site entry a device kind cannot be built from; the message says what to change."""


@dataclass(frozen=True)
class SiteEntry:
    """What a kind builds one device from: its site-file entry, the shared settings and the
    vendor endpoint the site gives its kind (``vendor_url`` on the entry wins)."""

    config: DeviceConfig
    settings: DeviceSettings
    vendor_url: str | None

    def options(self) -> dict[str, Any]:
        return dict(self.config.options)


# The physical actions the fleet and the control API offer (what :attr:`Device.refuses` names).
PHYSICAL_ACTIONS = (
    "present_face",
    "swipe_card",
    "read_id_card",
    "duplicate",
    "power_off",
    "power_on",
    "network_drop",
    "network_restore",
    "clock",
)


class ActionUnsupported(Exception):
    """A physical action this kind of device cannot take (an ID-card reader has no camera)."""

    def __init__(self, kind: str, action: str, why: str) -> None:
        self.kind = kind
        self.action = action
        self.message = f"a {kind} device cannot {action.replace('_', ' ')}: {why}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class Device(abc.ABC):
    kind: ClassVar[str] = "device"
    # Physical actions this kind cannot take, each with why; every other action of PHYSICAL_ACTIONS it takes.
    refuses: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self, device_id: str, settings: DeviceSettings | None = None, **options: Unpack[DeviceOptions]
    ) -> None:
        chosen = settings_of(settings, options)
        self.device_id = device_id
        self.journal = chosen.journal or Journal()
        self.clock = chosen.clock or DeviceClock()
        self.direction: Direction = chosen.direction
        self.buffer_limit = chosen.buffer_limit if chosen.buffer_limit is not None else 100_000
        self.batch_size = chosen.batch_size if chosen.batch_size is not None else 1
        self.retry_delay = chosen.retry_delay if chosen.retry_delay is not None else 1.0
        self.enrolled: dict[str, Enrolled] = {}
        self.outbox: deque[Event] = deque()
        self.dropped = 0  # events lost because the buffer was full (what real devices do)
        self.delivered = 0
        self.powered = True
        self._net_down_until: float | None = None
        self._serial = 0
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._recent: deque[Event] = deque(maxlen=16)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_site(cls, entry: SiteEntry) -> Self:
        """The device a site entry describes. Kinds that listen or push to the vendor override this
        to map the entry's ``host``, ``port`` and vendor endpoint to their own options."""
        return cls.create(entry, entry.options())

    @classmethod
    def create(cls, entry: SiteEntry, options: dict[str, Any]) -> Self:
        """``cls(id, settings, **options)``, with an option the class does not take reported as a
        :class:`SiteEntryError` that points at the site file."""
        try:
            return cls(entry.config.id, settings=entry.settings, **options)
        except TypeError as exc:
            raise SiteEntryError(
                f"{cls.__name__} cannot be built with options {sorted(options)}: {exc} "
                "(check `options:` in the site file)"
            ) from None

    # -- protocol hooks ------------------------------------------------------------------------
    @abc.abstractmethod
    async def start(self) -> None:
        """Open sockets or begin polling; subclasses call ``self.start_sender()`` if they push."""

    @abc.abstractmethod
    async def stop(self) -> None: ...

    async def deliver(self, events: list[Event]) -> int:
        """Send ``events`` (oldest first); return how many leading events were acknowledged."""
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------------------
    @property
    def online(self) -> bool:
        if not self.powered:
            return False
        if self._net_down_until is not None:
            if time.monotonic() < self._net_down_until:
                return False
            self._net_down_until = None
            self.log("network_up")
            self._wake.set()
        return True

    def log(self, kind: str, **fields: Any) -> None:
        self.journal.record(self.device_id, kind, **fields)

    def status(self) -> dict[str, Any]:
        return {
            "device": self.device_id,
            "kind": self.kind,
            "powered": self.powered,
            "online": self.online,
            "clock": self.clock.now().isoformat(),
            "enrolled": len(self.enrolled),
            "faces": sum(1 for p in self.enrolled.values() if p.face),
            "buffered": len(self.outbox),
            "delivered": self.delivered,
            "dropped": self.dropped,
            "last_serial_no": self._serial,
        }

    # -- physical actions ----------------------------------------------------------------------
    def check_action(self, action: str) -> None:
        """Raise :class:`ActionUnsupported` when this kind cannot take ``action``."""
        why = self.refuses.get(action)
        if why is not None:
            raise ActionUnsupported(self.kind, action, why)

    def present_face(self, employee_no: str | None, *, spoof: bool = False, photo: bytes | None = None) -> Event | None:
        """Someone stands in front of the camera: ``employee_no`` is who they really are (None for
        somebody the vendor never issued); :func:`~hardware_sim.recognition.recognise` decides."""
        self.check_action("present_face")
        if not self.powered:
            self.log("action_ignored", action="present_face", reason="powered off")
            return None
        person = self.enrolled.get(employee_no) if employee_no else None
        at = self.clock.now()
        verdict = recognise("face", person, at, live=not spoof)
        picture = photo if photo is not None else (person.face if person else None)
        return self._emit(verdict, person, at=at, photo=picture, presented=employee_no)

    def swipe_card(self, card_no: str) -> Event | None:
        self.check_action("swipe_card")
        if not self.powered:
            return None
        person = next((p for p in self.enrolled.values() if p.card_no == card_no), None)
        return self.present_card("card", person, card_no=card_no)

    def read_id_card(
        self, id_card: Mapping[str, Any], *, employee_no: str | None = None, photo: bytes | None = None
    ) -> Event | None:
        """An ID card on the device's reader. ``id_card`` uses the fixtures' ``Person.card_json()``
        keys (name, id_number, male/gender, nation, birth, address, grant_org, valid_from, valid_to)
        or a protocol's own names (ZK ``IDNum``, ISAPI ``idNum``); the holder is the person enrolled
        as ``employee_no``, else the one with that ID number."""
        self.check_action("read_id_card")
        if not self.powered:
            return None
        number = str(id_card.get("id_number") or id_card.get("IDNum") or id_card.get("idNum") or "")
        person = self.enrolled.get(employee_no) if employee_no else None
        if person is None and number:
            person = next((p for p in self.enrolled.values() if p.id_number == number), None)
        return self.present_card("id_card", person, id_card=dict(id_card), photo=photo)

    def present_card(
        self, credential: Credential, person: Enrolled | None, *, blocklisted_card: bool = False, **fields: Any
    ) -> Event:
        """A card or an ID card read, held by ``person`` as the device found them."""
        at = self.clock.now()
        verdict = recognise(credential, person, at, credential_blocklisted=blocklisted_card)
        return self._emit(verdict, person, at=at, credential=credential, **fields)

    def duplicate_last(self) -> Event | None:
        """Upload the newest event once more with the same serial number (a retry after a lost ack)."""
        self.check_action("duplicate")
        last = max(self._recent, key=lambda e: e.serial_no) if self._recent else None
        if last is None:
            return None
        copy = Event(**{**last.__dict__, "current": False, "attempts": 0})
        self._enqueue(copy, "duplicate")
        return copy

    def power_off(self) -> None:
        self.powered = False
        self.log("power_off", buffered=len(self.outbox))

    def power_on(self, *, rtc_reset: bool = False) -> None:
        if rtc_reset:
            self.clock.reset_rtc()
        self.powered = True
        self.log("power_on", rtc_reset=rtc_reset, clock=self.clock.now().isoformat())
        self._wake.set()

    def network_drop(self, seconds: float) -> None:
        self._net_down_until = time.monotonic() + seconds
        self.log("network_down", seconds=seconds)

    def network_restore(self) -> None:
        if self._net_down_until is not None:
            self._net_down_until = time.monotonic()
        _ = self.online  # logs network_up and wakes the sender

    # -- the outbox ----------------------------------------------------------------------------
    def _emit(
        self,
        kind: Verdict,
        person: Enrolled | None,
        *,
        at: datetime | None = None,
        presented: str | None = None,
        **fields: Any,
    ) -> Event:
        self._serial += 1
        named = person if person is not None and kind.identifies else None
        event = Event(
            serial_no=self._serial,
            at=at or self.clock.now(),
            kind=kind,
            direction=self.direction,
            employee_no=named.employee_no if named else None,
            name=named.name if named else None,
            current=self.online,
            **fields,
        )
        self._recent.append(event)
        self._enqueue(event, "event", presented=presented)
        return event

    def _enqueue(self, event: Event, what: str, **fields: Any) -> None:
        if len(self.outbox) >= self.buffer_limit:
            self.outbox.popleft()  # the oldest is overwritten, as on a full device log
            self.dropped += 1
        self.outbox.append(event)
        self.log(what, **event.summary(), **fields)
        self._wake.set()

    def start_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_loop(), name=f"sender-{self.device_id}")

    async def stop_sender(self) -> None:
        await cancel(self._sender)
        self._sender = None

    async def _send_loop(self) -> None:
        while True:
            if not self.outbox or not self.online:
                self._wake.clear()
                if not self.outbox:
                    await self._wake.wait()
                else:  # offline: look again shortly (the drop has a deadline, power_on wakes us)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 0.2)
                continue
            batch = [self.outbox[i] for i in range(min(self.batch_size, len(self.outbox)))]
            for event in batch:
                event.attempts += 1
            try:
                acked = await self.deliver(batch)
            except Exception as exc:  # any failure leaves the events buffered for a later replay
                sent = [e.serial_no for e in batch]
                self.log("deliver_failed", error=f"{type(exc).__name__}: {exc}", serial_nos=sent)
                acked = 0
            for _ in range(acked):
                self.outbox.popleft()
                self.delivered += 1
            if acked < len(batch):
                # Everything still waiting goes out late, as a replay — not only the refused batch.
                for event in self.outbox:
                    event.current = False
                await asyncio.sleep(self.retry_delay)
