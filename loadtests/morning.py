"""The morning clock-in peak as a model: who arrives at which gate when, how long the lanes make
them wait, which clock-ins each vendor system uploads together and when — a pure, seeded
timetable (docs/loadtests.md). No I/O, no clock: the same parameters give the same timetable."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, time
from statistics import NormalDist
from typing import Any, Literal

from standard.terminal import UsageProblem

# Limits beyond which a parameter is surely a typo, not a city (refused before any load).
MAX_CLOCK_INS = 5_000_000
CURVES = ("normal", "uniform")
ATTENDANCE_BATCH_LIMIT = 20  # WorkerAttendance.Add takes at most 20 records (standard.methods)


@dataclass(frozen=True)
class Morning:
    """The parameters of one morning; the default is a large city's."""

    projects: int = 1420
    workers_per_project: int = 87
    team_size: int = 12  # a WorkerAttendance.Add batch names one team (fixtures: teams of 12)
    window_start: time = time(6, 30)  # Beijing time, on the morning day
    window_minutes: float = 60.0  # arrivals spread over this window …
    curve: Literal["normal", "uniform"] = "normal"  # … following this curve …
    peak_factor: float = 2.5  # … whose busiest minute has this many times the mean rate (normal)
    lanes_per_gate: int = 2  # one gate per project
    lane_per_minute: float = 25.0  # people one lane clocks in per minute
    stranger_rate: float = 0.02  # unenrolled faces per worker: they hold a lane, nothing is uploaded
    retry_rate: float = 0.05  # workers whose first look fails: they hold the lane twice as long
    batch_size: int = ATTENDANCE_BATCH_LIMIT  # a vendor uploads a team's clock-ins this many at once …
    batch_wait_s: float = 30.0  # … or this many morning seconds after the first of them
    scale: float = 1.0  # share of the projects taking part (0.1: a tenth of the city)
    compress: float = 1.0  # the morning replays this many times faster than it happened
    seed: int = 2018

    def __post_init__(self) -> None:
        problems = list(self.problems())
        if problems:
            raise UsageProblem("morning model: " + "; ".join(problems))

    def problems(self) -> Iterator[str]:
        """What makes no sense in these parameters, one phrase each naming what to change."""

        def need(ok: bool, message: str) -> Iterator[str]:
            if not ok:
                yield message

        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                yield f"{f.name} must be a finite number, not {value}"
                return
        yield from need(self.projects >= 1, f"projects must be at least 1, not {self.projects}")
        yield from need(
            self.workers_per_project >= 1, f"workers per project must be ≥ 1, not {self.workers_per_project}"
        )
        yield from need(self.team_size >= 1, f"team size must be ≥ 1, not {self.team_size}")
        yield from need(
            0 < self.window_minutes <= 24 * 60, f"window must be 0 < minutes ≤ 1440, not {self.window_minutes}"
        )
        yield from need(self.curve in CURVES, f"curve must be one of {', '.join(CURVES)}, not {self.curve!r}")
        if self.curve == "normal":
            yield from need(
                1.0 < self.peak_factor <= 20.0,
                f"peak factor must be > 1 and ≤ 20 for a normal curve, not {self.peak_factor}",
            )
        yield from need(1 <= self.lanes_per_gate <= 64, f"lanes per gate must be 1…64, not {self.lanes_per_gate}")
        yield from need(
            0 < self.lane_per_minute <= 600, f"people per lane per minute must be 0…600, not {self.lane_per_minute}"
        )
        yield from need(0 <= self.stranger_rate <= 1, f"stranger rate must be 0…1, not {self.stranger_rate}")
        yield from need(0 <= self.retry_rate <= 1, f"retry rate must be 0…1, not {self.retry_rate}")
        yield from need(
            1 <= self.batch_size <= ATTENDANCE_BATCH_LIMIT,
            f"batch size must be 1…{ATTENDANCE_BATCH_LIMIT} (WorkerAttendance.Add's limit), not {self.batch_size}",
        )
        yield from need(0 <= self.batch_wait_s <= 3600, f"batch wait must be 0…3600 s, not {self.batch_wait_s}")
        yield from need(0 < self.scale <= 10, f"--scale must be > 0 and ≤ 10, not {self.scale}")
        yield from need(
            1 <= self.compress <= 10_000, f"--compress must be 1…10000 (1 = real time), not {self.compress}"
        )
        if self.scale > 0 and self.projects >= 1 and self.workers_per_project >= 1:
            yield from need(
                self.clock_ins <= MAX_CLOCK_INS,
                f"{self.clock_ins:,} clock-ins is more than {MAX_CLOCK_INS:,}; lower --scale or the city",
            )

    @property
    def project_count(self) -> int:
        """The projects taking part at this scale (at least one)."""
        return max(1, round(self.projects * self.scale))

    @property
    def clock_ins(self) -> int:
        return self.project_count * self.workers_per_project

    @property
    def teams_per_project(self) -> int:
        return -(-self.workers_per_project // self.team_size)

    @property
    def service_s(self) -> float:
        """Seconds one person holds a lane."""
        return 60.0 / self.lane_per_minute

    @property
    def sigma_minutes(self) -> float:
        """The spread of the normal curve that gives ``peak_factor`` (peak density over mean
        density of the curve truncated to the window), found by bisection."""
        width = self.window_minutes

        def factor(sigma: float) -> float:
            inside = NormalDist(0, sigma).cdf(width / 2) * 2 - 1
            return NormalDist(0, sigma).pdf(0) / inside * width

        low, high = width * 1e-4, width * 1e3  # factor falls from huge to about 1 as sigma grows
        for _ in range(100):
            mid = (low + high) / 2
            low, high = (mid, high) if factor(mid) > self.peak_factor else (low, mid)
        return (low + high) / 2


@dataclass(frozen=True, slots=True)
class ClockIn:
    """One worker recognised at the gate: ``worker`` indexes the project's workers as the fixtures
    generator makes them; ``moment_s`` is morning seconds after the window's start."""

    project: int
    worker: int
    moment_s: float


@dataclass(frozen=True, slots=True)
class Batch:
    """One ``WorkerAttendance.Add``: a team's clock-ins, due at ``send_s`` wall seconds after the
    start of the run (the morning compressed)."""

    project: int
    team: int
    records: tuple[ClockIn, ...]
    send_s: float


@dataclass
class Gate:
    """What happened at one project's gate: its clock-ins and how many people it refused."""

    clock_ins: list[ClockIn] = field(default_factory=list)
    strangers: int = 0
    retries: int = 0
    longest_wait_s: float = 0.0


def arrivals(m: Morning, rng: random.Random, count: int) -> list[float]:
    """``count`` arrival offsets (morning seconds) drawn from the curve, truncated to the window."""
    width = m.window_minutes * 60
    if m.curve == "uniform":
        return [rng.random() * width for _ in range(count)]
    dist = NormalDist(width / 2, m.sigma_minutes * 60)
    low, high = dist.cdf(0), dist.cdf(width)
    return [min(width, max(0.0, dist.inv_cdf(low + (high - low) * rng.random()))) for _ in range(count)]


def gate(m: Morning, project: int) -> Gate:
    """One project's morning at its gate: arrivals queue for the first free lane; a stranger holds
    a lane and is refused; a retried face holds it twice. Seeded by (seed, project), so a shard
    computes its projects alone and gets what the whole run would."""
    rng = random.Random(f"{m.seed}:{project}")
    workers = m.workers_per_project
    strangers = sum(1 for _ in range(workers) if rng.random() < m.stranger_rate)
    times = arrivals(m, rng, workers + strangers)
    people = [(t, i) for i, t in enumerate(times[:workers])] + [(t, -1) for t in times[workers:]]
    people.sort()
    lanes = [0.0] * m.lanes_per_gate
    out = Gate(strangers=strangers)
    for arrived, worker in people:
        free = heapq.heappop(lanes)
        start = max(arrived, free)
        out.longest_wait_s = max(out.longest_wait_s, start - arrived)
        hold = m.service_s
        if worker >= 0 and rng.random() < m.retry_rate:
            hold *= 2
            out.retries += 1
        heapq.heappush(lanes, start + hold)
        if worker >= 0:
            out.clock_ins.append(ClockIn(project, worker, start + hold))
    out.clock_ins.sort(key=lambda c: (c.moment_s, c.worker))
    return out


def team_of(m: Morning, worker: int) -> int:
    """The team of a worker, as ``fixtures.fake.dataset.generate`` deals them out."""
    return worker % m.teams_per_project


def batches(m: Morning, project: int, clock_ins: Iterable[ClockIn]) -> list[Batch]:
    """A vendor system's uploads for one project: per team, ``batch_size`` clock-ins at once, or
    fewer when ``batch_wait_s`` has passed since the first of them."""
    open_: dict[int, list[ClockIn]] = {}
    out: list[Batch] = []

    def close(team: int, at_s: float) -> None:
        out.append(Batch(project, team, tuple(open_.pop(team)), at_s / m.compress))

    for c in clock_ins:
        for team in [t for t, rs in open_.items() if c.moment_s > rs[0].moment_s + m.batch_wait_s]:
            close(team, open_[team][0].moment_s + m.batch_wait_s)
        team = team_of(m, c.worker)
        open_.setdefault(team, []).append(c)
        if len(open_[team]) >= m.batch_size:
            close(team, c.moment_s)
    for team in sorted(open_, key=lambda t: open_[t][0].moment_s):
        close(team, open_[team][0].moment_s + m.batch_wait_s)
    return out


def timetable(m: Morning, projects: Iterable[int] | None = None) -> list[Batch]:
    """Every upload of the morning (or of the given projects: a shard), in the order they are due."""
    chosen = range(m.project_count) if projects is None else projects
    out = [b for p in chosen for b in batches(m, p, gate(m, p).clock_ins)]
    out.sort(key=lambda b: (b.send_s, b.project, b.team))
    return out


def constant_rate(m: Morning, rate: float, duration_s: float, projects: Iterable[int] | None = None) -> list[Batch]:
    """The open-loop constant-rate mode: ``rate`` uploads a second for ``duration_s`` seconds,
    evenly spaced; upload k is a whole team (at most ``batch_size``) of project k mod P clocking
    in at second ``k // (P × teams)`` of the morning, so no two records are the same."""
    if not (math.isfinite(rate) and 0 < rate <= 100_000):
        raise UsageProblem(f"--rate must be > 0 and ≤ 100000 uploads/s, not {rate}")
    if not (math.isfinite(duration_s) and 0 < duration_s <= 86_400):
        raise UsageProblem(f"--duration must be > 0 and ≤ 86400 s, not {duration_s}")
    total = math.floor(rate * duration_s)
    if total < 1:
        raise UsageProblem(f"--rate {rate} for --duration {duration_s} s sends nothing; raise either")
    per_round = m.project_count * m.teams_per_project
    if total // per_round >= 16 * 3600:
        raise UsageProblem(f"{total:,} uploads over {per_round:,} teams overruns the day; raise --scale")
    shard = None if projects is None else set(projects)
    out = []
    for k in range(total):
        project, team, second = k % m.project_count, (k // m.project_count) % m.teams_per_project, k // per_round
        if shard is not None and project not in shard:
            continue
        members = range(team, m.workers_per_project, m.teams_per_project)
        records = tuple(ClockIn(project, w, float(second)) for w in list(members)[: m.batch_size])
        out.append(Batch(project, team, records, k / rate))
    return out


def shard(project_count: int, index: int, count: int) -> list[int]:
    """The projects (tenants) worker ``index`` of ``count`` uploads for."""
    return list(range(index, project_count, count))


def model_json(m: Morning) -> dict[str, Any]:
    """The model as a plan message carries it (and ``morning_of`` reads it back)."""
    return {**m.__dict__, "window_start": m.window_start.isoformat()}


def morning_of(obj: dict[str, Any]) -> Morning:
    return Morning(**{**obj, "window_start": datetime.strptime(obj["window_start"], "%H:%M:%S").time()})
