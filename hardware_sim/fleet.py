"""Many virtual devices in one asyncio process, built from a :mod:`hardware_sim.site` file.

A :class:`Fleet` builds each device with its kind's ``from_site`` (the class
:func:`hardware_sim.kinds.resolve` names) from the entry and shared settings, gives them one
shared :class:`~hardware_sim.journal.Journal`, starts and stops them concurrently (a bounded number
at a time, so thousands of gates do not open thousands of sockets in the same instant), and offers
the physical actions — someone presents a face, a card, the power goes, the network drops — by
device id, journaling each one before the device reacts.

The roster (who works on the site) is what the people in front of the gates look like. By default
the vendor's system issues it to each device over the device protocol; :meth:`Fleet.preload_roster`
puts it straight into devices the vendor has not issued, and flags that in the journal.
"""

from __future__ import annotations

import asyncio
import errno
import random
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardware_sim import kinds
from hardware_sim.device import Device, DeviceClock, DeviceSettings, Enrolled, Event, SiteEntry, SiteEntryError
from hardware_sim.journal import Journal
from hardware_sim.site import DeviceConfig, Site

if TYPE_CHECKING:
    from fixtures.fake.dataset import Worker
    from hardware_sim.scenarios import ScenarioRun

FLEET = "fleet"  # the journal's device field for fleet-level entries


class FleetError(RuntimeError):
    """The fleet cannot be built or started; the message says which device and why."""


class UnknownDevice(KeyError):
    def __init__(self, device_id: str, known: Iterable[str]) -> None:
        names = sorted(known)
        hint = ", ".join(names[:8]) + (f" … ({len(names)} devices)" if len(names) > 8 else "")
        self.device_id = device_id
        self.message = f"unknown device {device_id!r}; known: {hint or 'none'}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class UnknownWorker(LookupError):
    pass


@dataclass
class Member:
    """A device of the fleet with where it sits on the site."""

    config: DeviceConfig
    device: Device


def card_number(id_number: str) -> str:
    """A stable 10-digit IC card number for a worker (the fake data has no cards)."""
    return f"{zlib.crc32(id_number.encode()) % 10**10:010d}"


def _kind_class(kind: str) -> type[Device]:
    try:
        return kinds.resolve(kind)
    except (ValueError, TypeError) as exc:
        raise FleetError(str(exc)) from None
    except ImportError as exc:
        target = kinds.KINDS.get(kind, kind)
        raise FleetError(f"device kind {kind!r} ({target}) is not available: {exc}") from None


class Fleet:
    """The devices of one site, their journal and roster. Use ``async with Fleet(site):`` or
    ``await start()`` / ``await stop()``."""

    def __init__(
        self,
        site: Site,
        *,
        journal: Journal | None = None,
        journal_path: Path | None = None,
        roster: list[Worker] | None = None,
    ) -> None:
        self.site = site
        self.journal = journal if journal is not None else Journal(journal_path)
        self._roster = roster
        self.members: dict[str, Member] = {}
        self.started = False
        self.runs: list[ScenarioRun] = []
        self._lookup: dict[str, tuple[int, dict[str, str]]] = {}
        self._build()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        classes: dict[str, type[Device]] = {}
        for config in self.site.expanded():
            cls = classes.get(config.kind) or classes.setdefault(config.kind, _kind_class(config.kind))
            entry = SiteEntry(
                config, self._settings(config), config.vendor_url or self.site.vendor.for_kind(config.kind)
            )
            try:
                device = cls.from_site(entry)
            except SiteEntryError as exc:
                raise FleetError(f"device {config.id} ({config.kind}): {exc}") from None
            except Exception as exc:
                raise FleetError(
                    f"device {config.id} ({config.kind}): cannot be created: {type(exc).__name__}: {exc}"
                ) from None
            self.members[config.id] = Member(config, device)

    def _settings(self, config: DeviceConfig) -> DeviceSettings:
        return DeviceSettings(
            journal=self.journal,
            clock=DeviceClock(drift_ppm=config.drift_ppm, offset_s=config.offset_s),
            direction=config.direction,
            buffer_limit=config.buffer_limit,
            batch_size=config.batch_size,
            retry_delay=config.retry_delay,
        )

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, *, concurrency: int = 64) -> None:
        """Load the roster, start every device (``concurrency`` at a time); on any failure stop
        those started and raise :class:`FleetError` naming the devices that failed."""
        if self.started:
            return
        await self.load_roster()
        started = time.monotonic()
        gate = asyncio.Semaphore(max(1, concurrency))
        failures: list[str] = []
        ok: list[Member] = []

        async def one(member: Member) -> None:
            async with gate:
                try:
                    await member.device.start()
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE and member.config.port is not None:
                        failures.append(
                            f"{member.config.id}: port {member.config.port} on {member.config.host} is already in use"
                        )
                    else:
                        failures.append(f"{member.config.id}: {type(exc).__name__}: {exc}")
                except Exception as exc:
                    failures.append(f"{member.config.id}: {type(exc).__name__}: {exc}")
                else:
                    ok.append(member)

        await asyncio.gather(*(one(m) for m in self.members.values()))
        if failures:
            await self._stop(ok, concurrency)
            more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
            raise FleetError("devices failed to start: " + "; ".join(failures[:5]) + more)
        self.started = True
        self.journal.record(
            FLEET,
            "fleet_started",
            site=self.site.site,
            project_code=self.site.project_code,
            devices=len(self.members),
            roster=len(self._roster or []),
            seconds=round(time.monotonic() - started, 3),
        )
        if self.site.roster is not None and self.site.roster.preload:
            self.preload_roster()

    async def stop(self, *, concurrency: int = 256) -> None:
        for run in list(self.runs):
            await run.cancel()
        if not self.started:
            return
        await self._stop(list(self.members.values()), concurrency)
        self.started = False
        self.journal.record(FLEET, "fleet_stopped", devices=len(self.members))
        self.journal.flush()

    async def _stop(self, members: list[Member], concurrency: int) -> None:
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(member: Member) -> None:
            async with gate:
                try:
                    await member.device.stop()
                except Exception as exc:  # a device that fails to stop must not keep the others running
                    self.journal.record(member.config.id, "stop_failed", error=f"{type(exc).__name__}: {exc}")

        await asyncio.gather(*(one(m) for m in members))

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    # -- devices -------------------------------------------------------------------------------
    def device(self, device_id: str) -> Device:
        return self.member(device_id).device

    def member(self, device_id: str) -> Member:
        try:
            return self.members[device_id]
        except KeyError:
            raise UnknownDevice(device_id, self.members) from None

    def url(self, member: Member) -> str | None:
        """Where the device listens (the port it actually bound, when the class says)."""
        port = getattr(member.device, "port", None)
        port = port if isinstance(port, int) and port else member.config.port
        return f"http://{member.config.host}:{port}" if port else None

    def describe(self, device_id: str) -> dict[str, Any]:
        member = self.member(device_id)
        config = member.config
        info: dict[str, Any] = {
            "id": config.id,
            "direction": config.direction,
            "lane": config.lane,
            "url": self.url(member),
            "vendor_url": config.vendor_url or self.site.vendor.for_kind(config.kind),
        }
        for key in ("username", "password"):  # what the vendor types into its device page
            value = config.options.get(key, getattr(member.device, key, None))
            if isinstance(value, str):
                info[key] = value
        info.update(member.device.status())
        return info

    def status(self) -> list[dict[str, Any]]:
        return [self.describe(device_id) for device_id in self.members]

    def summary(self) -> dict[str, Any]:
        devices = [m.device for m in self.members.values()]
        return {
            "site": self.site.site,
            "project_code": self.site.project_code,
            "started": self.started,
            "devices": len(devices),
            "online": sum(1 for d in devices if d.online),
            "powered": sum(1 for d in devices if d.powered),
            "buffered": sum(len(d.outbox) for d in devices),
            "delivered": sum(d.delivered for d in devices),
            "dropped": sum(d.dropped for d in devices),
            "roster": len(self._roster or []),
        }

    def gates(self, direction: str, only: Iterable[str] | None = None) -> list[Member]:
        """The devices of ``direction`` people walk through (those that take a face)."""
        wanted = set(only) if only is not None else None
        return [
            m
            for m in self.members.values()
            if m.config.direction == direction
            and (wanted is None or m.config.id in wanted)
            and "present_face" not in m.device.refuses
        ]

    # -- roster --------------------------------------------------------------------------------
    async def load_roster(self) -> list[Worker]:
        if self._roster is None:
            self._roster = await asyncio.to_thread(self._read_roster)
        return self._roster

    @property
    def roster(self) -> list[Worker]:
        if self._roster is None:
            self._roster = self._read_roster()
        return self._roster

    def _read_roster(self) -> list[Worker]:
        spec = self.site.roster
        if spec is None:
            return []
        from fixtures.fake import dataset

        if spec.dataset is not None:
            try:
                data = dataset.load(spec.dataset)
            except FileNotFoundError as exc:
                raise FleetError(f"roster: no dataset at {spec.dataset} ({exc.filename})") from None
            except (ValueError, KeyError) as exc:
                raise FleetError(f"roster: {spec.dataset} is not a usable dataset: {exc}") from None
        else:
            assert spec.generate is not None
            g = spec.generate
            data = dataset.generate(g.seed, g.workers, today=g.today, project_count=g.project_count)
        workers = data.workers
        code = spec.project_code or self.site.project_code
        mine = [w for w in workers if w.project_code == code]
        if spec.project_code is not None and not mine:
            codes = sorted({w.project_code for w in workers})
            raise FleetError(f"roster: no worker of project {code} in the dataset (it has {', '.join(codes[:5])})")
        return mine or workers

    def worker(self, *, index: int | None = None, id_number: str | None = None) -> tuple[int, Worker]:
        roster = self.roster
        if index is not None:
            if not 0 <= index < len(roster):
                raise UnknownWorker(f"no worker {index}: the roster has {len(roster)} (0 … {len(roster) - 1})")
            return index, roster[index]
        for i, w in enumerate(roster):
            if w.id_number == id_number:
                return i, w
        raise UnknownWorker(f"no worker with id number {id_number!r} in the roster")

    @staticmethod
    def enrolled_entry(index: int, worker: Worker) -> Enrolled:
        p = worker.person
        return Enrolled(
            employee_no=p.id_number,
            name=p.name,
            gender="male" if p.male else "female",
            face=p.photo,
            card_no=card_number(p.id_number),
            id_number=p.id_number,
            extra={"roster_index": index, "team": worker.team_name, "preloaded": True},
        )

    def preload_roster(self, device_ids: Iterable[str] | None = None, *, only_empty: bool = True) -> dict[str, int]:
        """Enrol the roster directly on devices (by default only those the vendor has issued
        nobody to); journal ``roster_preloaded`` so nobody mistakes it for the vendor's work."""
        roster = self.roster
        ids = list(device_ids) if device_ids is not None else list(self.members)
        done: dict[str, int] = {}
        for device_id in ids:
            device = self.device(device_id)
            if only_empty and device.enrolled:
                continue
            for i, w in enumerate(roster):
                entry = self.enrolled_entry(i, w)
                device.enrolled.setdefault(entry.employee_no, entry)
            done[device_id] = len(roster)
            self.journal.record(device_id, "roster_preloaded", people=len(roster), issued_by="fleet, not the vendor")
        return done

    def employee_no(self, device: Device, worker: Worker) -> str | None:
        """Who this worker is on this device, if the device knows them: by ID number (as
        employeeNo or the person's id), else by a name unique on the device."""
        size, index = self._lookup.get(device.device_id, (-1, {}))
        if size != len(device.enrolled):
            index = {}
            names: dict[str, list[str]] = {}
            for person in device.enrolled.values():
                index.setdefault(person.employee_no, person.employee_no)
                if person.id_number:
                    index[person.id_number] = person.employee_no
                if person.name:
                    names.setdefault(person.name, []).append(person.employee_no)
            for name, numbers in names.items():
                if len(numbers) == 1:
                    index.setdefault("name:" + name, numbers[0])
            self._lookup[device.device_id] = (len(device.enrolled), index)
        for key in (worker.id_number, "name:" + worker.person.name):
            found = index.get(key)
            if found is not None and found in device.enrolled:
                return found
        return None

    # -- physical actions (journaled, then done) --------------------------------------------------
    def action(self, device_id: str, action: str, source: str, **fields: Any) -> None:
        """Journal ``action`` on the device; a kind that cannot take it refuses first
        (:class:`~hardware_sim.device.ActionUnsupported`), and nothing is journaled."""
        self.device(device_id).check_action(action)
        self.journal.record(device_id, "action", action=action, source=source, **fields)

    def present_worker(
        self, device_id: str, index: int, worker: Worker, *, spoof: bool = False, source: str = "control", **extra: Any
    ) -> Event | None:
        device = self.device(device_id)
        employee_no = self.employee_no(device, worker)
        self.action(
            device_id,
            "present_face",
            source,
            worker=index,
            id_number=worker.id_number,
            employee_no=employee_no,
            spoof=spoof,
            known_to_device=employee_no is not None,
            **extra,
        )
        return device.present_face(employee_no, spoof=spoof, photo=worker.person.photo)

    def present_stranger(
        self, device_id: str, photo: bytes | None = None, *, spoof: bool = False, source: str = "control", **extra: Any
    ) -> Event | None:
        device = self.device(device_id)
        if photo is None:
            from fixtures.fake import photos

            photo = photos.face(random.Random(device.clock.timestamp()))
        self.action(device_id, "present_face", source, stranger=True, spoof=spoof, **extra)
        return device.present_face(None, spoof=spoof, photo=photo)

    def present_employee_no(
        self, device_id: str, employee_no: str, *, spoof: bool = False, source: str = "control"
    ) -> Event | None:
        device = self.device(device_id)
        self.action(device_id, "present_face", source, employee_no=employee_no, spoof=spoof)
        person = device.enrolled.get(employee_no)
        return device.present_face(employee_no, spoof=spoof, photo=person.face if person else None)

    def read_id_card(
        self, device_id: str, index: int, worker: Worker, *, source: str = "control", **extra: Any
    ) -> Event | None:
        """The worker lays their ID card on the device's reader."""
        device = self.device(device_id)
        employee_no = self.employee_no(device, worker)
        self.action(device_id, "read_id_card", source, worker=index, id_number=worker.id_number, **extra)
        return device.read_id_card(worker.person.card_json(), employee_no=employee_no)

    def swipe_card(self, device_id: str, card_no: str, *, source: str = "control", **extra: Any) -> Event | None:
        device = self.device(device_id)
        self.action(device_id, "swipe_card", source, card_no=card_no, **extra)
        return device.swipe_card(card_no)

    def duplicate(self, device_id: str, *, source: str = "control", **extra: Any) -> Event | None:
        device = self.device(device_id)
        self.action(device_id, "duplicate", source, **extra)
        return device.duplicate_last()

    def power_off(self, device_id: str, *, source: str = "control", **extra: Any) -> None:
        self.action(device_id, "power_off", source, **extra)
        self.device(device_id).power_off()

    def power_on(self, device_id: str, *, rtc_reset: bool = False, source: str = "control", **extra: Any) -> None:
        self.action(device_id, "power_on", source, rtc_reset=rtc_reset, **extra)
        self.device(device_id).power_on(rtc_reset=rtc_reset)

    def network_drop(self, device_id: str, seconds: float, *, source: str = "control", **extra: Any) -> None:
        self.action(device_id, "network_drop", source, seconds=seconds, **extra)
        self.device(device_id).network_drop(seconds)

    def network_restore(self, device_id: str, *, source: str = "control", **extra: Any) -> None:
        self.action(device_id, "network_restore", source, **extra)
        self.device(device_id).network_restore()
