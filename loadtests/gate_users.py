"""The device side's locust user: the face gates of one shard pushing their ISAPI
``AccessControllerEvent`` of every clock-in (and every stranger) to the vendor system under test
on the morning's timetable — open loop, each push started when it is due and timed from then.
The bodies are the virtual gates' own (``hardware_sim.isapi.messages``, default firmware); a push
the vendor does not take (5xx, no answer) is kept and pushed again, as a gate does."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.pool
from locust import FastHttpUser, task
from locust.exception import StopUser
from locust.runners import WorkerRunner

from hardware_sim.isapi import firmware, messages
from loadtests.messages import RESULTS_MESSAGE
from loadtests.morning import Morning, gate, model_json, morning_of, shard
from platform_client.policy import RetryPolicy
from standard.envelope import BEIJING

FACE_PASS, STRANGER = 75, 76  # ISAPI minor codes of major 5 (devices.md §2.5)
PUSH_PATH = "/isapi/events"
PUSH_NAME = "ISAPI AccessControllerEvent"


@dataclass(frozen=True, slots=True)
class Event:
    """One push of the morning: worker ``worker`` of gate ``project`` (-1: a stranger)."""

    project: int
    worker: int
    moment_s: float  # morning seconds: when the gate recognised the face (its dateTime)
    serial_no: int


def events(m: Morning, project: int) -> list[Event]:
    """A gate's pushes in the order they happen: its clock-ins, and its strangers, each at the
    moment the lane took them (strangers spread over the clock-ins, deterministically)."""
    g = gate(m, project)
    moments = [(c.moment_s, c.worker) for c in g.clock_ins]
    step = len(moments) / g.strangers if g.strangers else 0.0
    moments += [(moments[int(i * step)][0], -1) for i in range(g.strangers)] if moments else []
    moments.sort(key=lambda t: (t[0], t[1] < 0, t[1]))
    return [Event(project, w, at, serial) for serial, (at, w) in enumerate(moments, start=1)]


@dataclass(frozen=True)
class GatePlan:
    """What one shard's gates push, and to where: everything a locust worker needs."""

    sut: str  # the vendor system's base URL
    model: dict[str, Any]
    day: str  # the morning replayed, YYYY-MM-DD (Beijing)
    gates: dict[int, dict[str, Any]]  # project index → {"device": id, "people": [employee no. of worker w]}
    index: int
    count: int
    start_at: float
    in_flight: int
    serial_base: int  # added to every serial number: a run never repeats an earlier run's events
    scenario: str = "peak"

    def morning(self) -> Morning:
        return morning_of(self.model)

    def timetable(self) -> list[Event]:
        m = self.morning()
        out = [e for p in shard(m.project_count, self.index, self.count) for e in events(m, p)]
        out.sort(key=lambda e: (e.moment_s, e.project, e.serial_no))
        return out

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "gates": {str(k): v for k, v in self.gates.items()}}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> GatePlan:
        return cls(**{**obj, "gates": {int(k): v for k, v in obj["gates"].items()}})


# One outcome per push, a plain list (it travels to the master as msgpack):
# [event index, due, sent or None, taken or None, error or "", attempts]
Outcome = list[Any]

current: GatePlan | None = None
deliver: Callable[[int, list[Outcome]], None] | None = None


class GateFleet(FastHttpUser):
    """The gates of one shard, each its own device (name, serial numbers) on shared connections."""

    host = "http://127.0.0.1"
    concurrency = 64
    # A gate keeps an event it could not deliver and pushes it again, spaced, for a bounded time
    keep = RetryPolicy(initial=0.2, max_delay=2.0, deadline=60.0)

    @task
    def morning(self) -> None:
        plan = current
        if plan is None:
            raise StopUser()
        day_start = datetime.combine(datetime.strptime(plan.day, "%Y-%m-%d").date(), plan.morning().window_start)
        fw = firmware.DEFAULT
        m = plan.morning()
        outcomes: list[Outcome] = []
        pushes = gevent.pool.Pool(plan.in_flight)
        identities = {p: _identity(g["device"], p) for p, g in plan.gates.items()}
        try:
            for i, event in enumerate(plan.timetable()):
                due = plan.start_at + event.moment_s / m.compress
                wait = due - time.time()
                if wait > 0:
                    gevent.sleep(wait)
                outcome: Outcome = [i, due, None, None, "", 0]
                outcomes.append(outcome)
                people = plan.gates[event.project]["people"]
                employee = people[event.worker] if event.worker >= 0 else None
                body = _body(fw, identities[event.project], event, plan.serial_base, employee, day_start)
                pushes.spawn(self._push, outcome, body)
            pushes.join()
        finally:
            pushes.kill(block=False)
            if deliver is not None:
                deliver(plan.index, outcomes)
            elif isinstance(self.environment.runner, WorkerRunner):
                self.environment.runner.send_message(RESULTS_MESSAGE, {"index": plan.index, "outcomes": outcomes})
        raise StopUser()

    def _push(self, outcome: Outcome, body: tuple[str, bytes]) -> None:
        ctype, data = body
        outcome[2] = time.time()
        deadline = outcome[2] + self.keep.deadline
        attempt = 0
        while True:
            outcome[5] += 1
            headers = {"Content-Type": ctype}
            post = self.client.post  # bytes are sent as they are (locust's annotation says str)
            with post(PUSH_PATH, data=data, headers=headers, name=PUSH_NAME, catch_response=True) as r:  # type: ignore[arg-type]
                status = r.status_code or 0
                if status == 200:
                    r.success()
                    outcome[3], outcome[4] = time.time(), ""
                    return
                why = f"HTTP {status}: {(r.text or '')[:200]}" if status else f"no answer: {r.error}"
                r.failure(why)
            outcome[4] = why
            if 0 < status < 500:  # refused: pushing it again changes nothing
                return
            delay = self.keep.delay(attempt)
            if time.time() + delay > deadline:
                return
            attempt += 1
            gevent.sleep(delay)


def _identity(device: str, project: int) -> messages.Identity:
    return messages.Identity(
        device_name=device,
        device_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"jzgr-load-gate:{device}")),
        serial_number=f"DS-K1T671TMFW{project:08d}",
        mac=f"44:19:b6:{project >> 16 & 255:02x}:{project >> 8 & 255:02x}:{project & 255:02x}",
        ip="127.0.0.1",
        port=80,
    )


def _body(
    fw: firmware.Firmware,
    me: messages.Identity,
    event: Event,
    serial_base: int,
    employee: str | None,
    day_start: datetime,
) -> tuple[str, bytes]:
    at = (day_start + timedelta(seconds=int(event.moment_s))).replace(tzinfo=BEIJING)
    rec = messages.AcsRecord(
        serial_no=serial_base + event.serial_no,
        at=at.isoformat(),
        at_ts=at.timestamp(),
        kind="face_pass" if employee else "stranger",
        minor=FACE_PASS if employee else STRANGER,
        employee_no=employee,
        name=None,
        user_type="normal" if employee else None,
        card_no=None,
        face=True,
        attendance_status="checkIn",
    )
    envelope = messages.event_envelope(fw, me, rec, current=True, photo=None)
    return messages.event_body(fw, envelope, None, as_xml=False)


def adopt(plan: GatePlan) -> None:
    global current
    current = plan
    parts = urlsplit(plan.sut)
    GateFleet.host = f"{parts.scheme}://{parts.netloc}"
    GateFleet.concurrency = min(plan.in_flight, 512)


@dataclass
class PeakScenario:
    """``jzgr load peak`` as a :class:`loadtests.runner.Scenario`: gates → vendor system."""

    sut: str
    m: Morning
    day: str
    gates: dict[int, dict[str, Any]]
    in_flight: int
    serial_base: int
    user: type[GateFleet] = GateFleet

    def _plan(self, index: int, count: int, start_at: float) -> GatePlan:
        mine = shard(self.m.project_count, index, count)
        return GatePlan(
            self.sut,
            model_json(self.m),
            self.day,
            {p: self.gates[p] for p in mine},
            index,
            count,
            start_at,
            self.in_flight,
            self.serial_base,
        )

    def plan(self, index: int, count: int, start_at: float) -> dict[str, Any]:
        return self._plan(index, count, start_at).to_json()

    def adopt(self, plan: dict[str, Any], deliver_to: Callable[[int, list[Any]], None] | None) -> None:
        global deliver
        deliver = deliver_to
        adopt(GatePlan.from_json(plan))

    @cached_property
    def timetable(self) -> list[Event]:
        return self._plan(0, 1, 0.0).timetable()

    @property
    def expected_s(self) -> float:
        last = max((e.moment_s for e in self.timetable), default=0.0)
        return last / self.m.compress + GateFleet.keep.deadline

    def pushed(self, outcomes: dict[int, list[Outcome]], start_at: float, count: int) -> list[tuple[Event, Outcome]]:
        """Every push of each of ``count`` shards with its outcome (a placeholder when its shard
        did not report)."""
        out = []
        for index in range(count):
            reported = {o[0]: o for o in outcomes.get(index, [])}
            for i, e in enumerate(self._plan(index, count, start_at).timetable()):
                due = start_at + e.moment_s / self.m.compress
                out.append((e, reported.get(i) or [i, due, None, None, "never pushed: its shard did not report", 0]))
        return out
