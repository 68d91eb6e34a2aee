"""Scenarios: the crowd at the gates over a working day, deterministic by seed.

* ``morning`` — every worker of the roster arrives once, at an entry gate, on a bell curve around
  the site's peak (default 06:30–07:30, peak 07:00).
* ``lunch`` — everyone goes out (11:30–12:10) and comes back in (12:30–13:10).
* ``evening`` — everyone leaves through an exit gate (17:30–18:40).
* ``day`` — the three in a row.

A lane lets at most ``lane_rate_per_min`` people through a minute (25 by default): people pick the
lane with the shortest queue, and queue when all are busy, so a rush hour on two lanes really takes
longer than on four. Noise on request: strangers at the entry gates, spoofed faces (a liveness
failure, then the real face), duplicate uploads of the last event, re-scans of the same face, absent
workers; and scheduled disruptions (``network-drop``, ``power-off`` … at a time of the scenario).

Times are scenario times (``06:47:12``); ``time_scale`` compresses them (60 = an hour in a minute),
so a whole morning runs in a second of a test. By default devices stamp events with their own
clocks (wall time plus drift); ``stamp: scenario`` sets each device's clock to the scenario time
before every action, so the vendor receives 07:00 punches whatever the wall clock says.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time as _time
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hardware_sim.device import BEIJING
from hardware_sim.site import Window

if TYPE_CHECKING:
    from fixtures.fake.dataset import Worker
    from hardware_sim.fleet import Fleet

# name → flows: (schedule window, direction)
SCENARIOS: dict[str, tuple[tuple[str, Literal["in", "out"]], ...]] = {
    "morning": (("morning", "in"),),
    "lunch": (("lunch_out", "out"), ("lunch_in", "in")),
    "evening": (("evening", "out"),),
    "day": (("morning", "in"), ("lunch_out", "out"), ("lunch_in", "in"), ("evening", "out")),
}
DESCRIPTIONS = {
    "morning": "every worker arrives once at an entry gate, bell curve around the morning peak",
    "lunch": "everyone goes out for lunch, then comes back in",
    "evening": "everyone leaves through an exit gate",
    "day": "morning, lunch and evening in a row",
}
MAX_STEPS = 2_000_000


class ScenarioError(ValueError):
    pass


class Disruption(BaseModel):
    """Something that happens to a device at a scenario time (``at`` = ``HH:MM[:SS]``)."""

    model_config = ConfigDict(extra="forbid")

    at: time
    device: str
    action: Literal["network-drop", "network-restore", "power-off", "power-on", "duplicate"]
    minutes: float | None = Field(None, gt=0, le=7 * 24 * 60, description="network-drop: how long, scenario minutes")
    rtc_reset: bool = False

    @model_validator(mode="after")
    def _minutes(self) -> Disruption:
        if self.action == "network-drop" and self.minutes is None:
            raise ValueError("network-drop needs minutes")
        return self


class Params(BaseModel):
    """What ``POST /scenarios/{name}`` and ``jzgr devices scenario`` accept."""

    model_config = ConfigDict(extra="forbid")

    time_scale: float = Field(
        1.0, gt=0, le=1_000_000, description="scenario seconds per real second (60: an hour a minute)"
    )
    seed: int | None = Field(None, description="same seed, same crowd (default: the roster's seed)")
    day: date | None = Field(None, description="the scenario's day (default today, Beijing time)")
    workers: int | None = Field(None, ge=1, description="only the first N workers of the roster")
    devices: list[str] | None = Field(None, description="only these gates")
    lane_rate_per_min: float | None = Field(None, gt=0, le=120, description="default: the site's schedule (25)")
    stranger_rate: float = Field(0.0, ge=0, le=1, description="strangers per worker at the entry gates")
    spoof_rate: float = Field(0.0, ge=0, le=1, description="share of passes that first fail liveness (photo held up)")
    duplicate_rate: float = Field(0.0, ge=0, le=1, description="share of passes uploaded twice (same serialNo)")
    rescan_rate: float = Field(0.0, ge=0, le=1, description="share of workers who scan their face twice")
    absent_rate: float = Field(0.0, ge=0, le=1, description="share of workers who do not come")
    stamp: Literal["wall", "scenario"] = Field("wall", description="device clocks: their own, or set to scenario time")
    windows: dict[str, Window] = Field(default_factory=dict, description="override morning/lunch_out/lunch_in/evening")
    disruptions: list[Disruption] = Field(default_factory=list)

    @model_validator(mode="after")
    def _windows(self) -> Params:
        unknown = sorted(set(self.windows) - {"morning", "lunch_out", "lunch_in", "evening"})
        if unknown:
            raise ValueError(f"unknown window(s) {unknown}; use morning, lunch_out, lunch_in, evening")
        return self


@dataclass(frozen=True)
class Step:
    at: float  # scenario seconds since midnight
    device: str
    action: str  # face | stranger | spoof | duplicate | network-drop | network-restore | power-off | power-on
    worker: int | None = None
    lane: str | None = None
    seconds: float | None = None
    rtc_reset: bool = False
    flow: str = ""


def _seconds(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def plan(fleet: Fleet, name: str, params: Params) -> tuple[list[Step], dict[str, Any]]:
    """The whole scenario as a sorted list of steps, and a summary (computed before anything runs)."""
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    roster = fleet.roster
    if not roster:
        raise ScenarioError(
            "the site has no roster: add `roster:` to site.yaml (a dataset or generate: {seed, workers})"
        )
    if params.devices is not None:
        for device_id in params.devices:
            fleet.member(device_id)  # UnknownDevice for a typo
    people = list(enumerate(roster))[: params.workers] if params.workers else list(enumerate(roster))
    schedule = fleet.site.schedule
    rate = params.lane_rate_per_min or schedule.lane_rate_per_min
    slot = 60.0 / rate
    seed = params.seed if params.seed is not None else _roster_seed(fleet)
    rng = random.Random(f"{name}:{seed}")
    present = [(i, w) for i, w in people if rng.random() >= params.absent_rate]
    steps: list[Step] = []
    flows: list[dict[str, Any]] = []
    for window_name, direction in SCENARIOS[name]:
        window = params.windows.get(window_name) or getattr(schedule, window_name)
        gates = fleet.gates(direction, params.devices)
        if not gates:
            raise ScenarioError(
                f"scenario {name} needs {direction!r} gates for {window_name}; the site (or --devices) has none"
            )
        lanes: dict[str, list[str]] = {}
        for member in gates:
            lanes.setdefault(member.config.lane_key, []).append(member.config.id)
        flow_steps = _flow(rng, window, window_name, direction, present, lanes, slot, params)
        flows.append(
            {
                "window": window_name,
                "direction": direction,
                "lanes": len(lanes),
                "people": len(present),
                "first": _clock(flow_steps[0].at) if flow_steps else None,
                "last": _clock(flow_steps[-1].at) if flow_steps else None,
            }
        )
        steps += flow_steps
    for d in params.disruptions:
        fleet.member(d.device)
        action = d.action
        seconds = d.minutes * 60 if d.minutes is not None else None
        steps.append(Step(_seconds(d.at), d.device, action, seconds=seconds, rtc_reset=d.rtc_reset, flow="disruption"))
    if len(steps) > MAX_STEPS:
        raise ScenarioError(f"{len(steps)} steps: at most {MAX_STEPS} in one scenario")
    steps.sort(key=lambda s: s.at)
    summary = {
        "seed": seed,
        "workers": len(people),
        "present": len(present),
        "lane_rate_per_min": rate,
        "flows": flows,
        "steps": len(steps),
        "first": _clock(steps[0].at) if steps else None,
        "last": _clock(steps[-1].at) if steps else None,
    }
    return steps, summary


def _roster_seed(fleet: Fleet) -> int:
    roster = fleet.site.roster
    return roster.generate.seed if roster is not None and roster.generate is not None else 2018


def _flow(
    rng: random.Random,
    window: Window,
    window_name: str,
    direction: str,
    people: list[tuple[int, Worker]],
    lanes: dict[str, list[str]],
    slot: float,
    params: Params,
) -> list[Step]:
    start, peak, end = _seconds(window.start), _seconds(window.peak), _seconds(window.end)
    sigma = window.spread_minutes * 60 if window.spread_minutes else max(60.0, (end - start) / 4)

    def arrival() -> float:
        for _ in range(20):  # a bell truncated to the window
            t = rng.gauss(peak, sigma)
            if start <= t <= end:
                return t
        return rng.uniform(start, end)

    crowd: list[tuple[float, int | None]] = [(arrival(), i) for i, _ in people]
    if direction == "in" and params.stranger_rate:
        strangers = round(len(people) * params.stranger_rate)
        crowd += [(arrival(), None) for _ in range(strangers)]
    crowd.sort(key=lambda a: (a[0], -1 if a[1] is None else a[1]))
    free = dict.fromkeys(lanes, 0.0)
    lane_names = sorted(lanes)
    out: list[Step] = []

    def take(at: float) -> tuple[str, float]:
        """The lane with the shortest queue at ``at`` and when this person gets through."""
        best = min(lane_names, key=lambda n: (max(free[n], at), rng.random()))
        when = max(free[best], at)
        free[best] = when + slot
        return best, when

    for at, index in crowd:
        lane, when = take(at)
        device = rng.choice(lanes[lane])
        if index is None:
            out.append(Step(when, device, "stranger", lane=lane, flow=window_name))
            continue
        if params.spoof_rate and rng.random() < params.spoof_rate:
            out.append(Step(when, device, "spoof", worker=index, lane=lane, flow=window_name))
            lane, when = take(when + slot)
            device = rng.choice(lanes[lane])
        out.append(Step(when, device, "face", worker=index, lane=lane, flow=window_name))
        if params.duplicate_rate and rng.random() < params.duplicate_rate:
            out.append(Step(when + 0.5, device, "duplicate", worker=index, lane=lane, flow=window_name))
        if params.rescan_rate and rng.random() < params.rescan_rate:
            lane2, again = take(when + rng.uniform(2, 10))
            out.append(Step(again, rng.choice(lanes[lane2]), "face", worker=index, lane=lane2, flow=window_name))
    return out


@dataclass
class ScenarioRun:
    """One running (or finished) scenario: progress, counts, and the task that runs it."""

    id: str
    name: str
    params: Params
    steps: list[Step]
    summary: dict[str, Any]
    status: Literal["running", "done", "cancelled", "failed"] = "running"
    done: int = 0
    started_at: float = field(default_factory=_time.time)
    finished_at: float | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def total(self) -> int:
        return len(self.steps)

    def view(self) -> dict[str, Any]:
        position = self.steps[self.done - 1].at if self.done else (self.steps[0].at if self.steps else 0)
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "progress": round(self.done / self.total, 4) if self.total else 1.0,
            "scenario_time": _clock(position),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "counts": dict(self.counts),
            "summary": self.summary,
            "params": self.params.model_dump(mode="json", exclude_defaults=True),
        }

    async def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def wait(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.finished.wait(), timeout)


_ids = itertools.count(1)


def start(fleet: Fleet, name: str, params: Params | None = None) -> ScenarioRun:
    """Plan the scenario and run it in the background on the running loop."""
    params = params or Params()
    steps, summary = plan(fleet, name, params)
    run = ScenarioRun(f"{name}-{next(_ids)}", name, params, steps, summary)
    fleet.runs.append(run)
    fleet.journal.record("fleet", "scenario_started", scenario=run.id, total=run.total, **_plain(summary))
    run.task = asyncio.create_task(_execute(fleet, run), name=f"scenario-{run.id}")
    return run


async def run(fleet: Fleet, name: str, params: Params | None = None) -> ScenarioRun:
    """Plan, run to the end and return the finished run."""
    started = start(fleet, name, params)
    await started.wait()
    return started


def _plain(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "flows"} | {"flows": len(summary["flows"])}


async def _execute(fleet: Fleet, run: ScenarioRun) -> None:
    params = run.params
    loop = asyncio.get_running_loop()
    day = params.day or datetime.now(BEIJING).date()
    midnight = datetime.combine(day, time(0), BEIJING)
    seed = run.summary["seed"]
    rng = random.Random(f"{run.name}:{seed}:photos")
    offsets: dict[str, float] = {}
    if params.stamp == "scenario":
        now = _time.time()
        offsets = {i: m.device.clock.timestamp() - now for i, m in fleet.members.items()}
    origin = run.steps[0].at if run.steps else 0.0
    t0 = loop.time()
    try:
        for step in run.steps:
            delay = t0 + (step.at - origin) / params.time_scale - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)  # let the devices and the control API breathe
            when = midnight + timedelta(seconds=step.at)
            if params.stamp == "scenario":
                fleet.device(step.device).clock.set(when + timedelta(seconds=offsets.get(step.device, 0.0)))
            outcome = _perform(fleet, run, step, when, rng)
            run.counts[outcome] = run.counts.get(outcome, 0) + 1
            run.done += 1
    except asyncio.CancelledError:
        run.status = "cancelled"
        raise
    except Exception as exc:
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {exc}"
    else:
        run.status = "done"
    finally:
        run.finished_at = _time.time()
        fleet.journal.record(
            "fleet",
            "scenario_finished",
            scenario=run.id,
            status=run.status,
            done=run.done,
            total=run.total,
            counts=dict(run.counts),
            error=run.error,
        )
        run.finished.set()


def _perform(fleet: Fleet, run: ScenarioRun, step: Step, when: datetime, rng: random.Random) -> str:
    tag: dict[str, Any] = {"scenario_at": when.isoformat(), "lane": step.lane, "flow": step.flow}
    source = f"scenario:{run.id}"
    if step.action in ("face", "spoof"):
        assert step.worker is not None
        worker = fleet.roster[step.worker]
        event = fleet.present_worker(
            step.device, step.worker, worker, spoof=step.action == "spoof", source=source, **tag
        )
        return event.kind if event is not None else "ignored"
    if step.action == "stranger":
        from fixtures.fake import photos

        event = fleet.present_stranger(step.device, photos.face(rng, male=rng.random() < 0.85), source=source, **tag)
        return event.kind if event is not None else "ignored"
    if step.action == "duplicate":
        return "duplicate" if fleet.duplicate(step.device, source=source, **tag) is not None else "ignored"
    if step.action == "network-drop":
        assert step.seconds is not None
        fleet.network_drop(
            step.device, step.seconds / run.params.time_scale, source=source, scenario_seconds=step.seconds, **tag
        )
    elif step.action == "network-restore":
        fleet.network_restore(step.device, source=source, **tag)
    elif step.action == "power-off":
        fleet.power_off(step.device, source=source, **tag)
    elif step.action == "power-on":
        fleet.power_on(step.device, rtc_reset=step.rtc_reset, source=source, **tag)
    return step.action


def catalogue() -> list[dict[str, str]]:
    return [{"name": n, "description": DESCRIPTIONS[n]} for n in SCENARIOS]
