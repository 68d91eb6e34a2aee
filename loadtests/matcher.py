"""End-to-end measurement: every clock-in a run uploaded matched to what the platform stores
(read back through ``WorkerAttendance.Query``, less what it held before the run), giving upload
latency from the moment each upload was due, gate-to-platform latency and lateness against the
deadline, lost and duplicated records, and the time series the report charts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from loadtests.morning import Batch, Morning
from loadtests.world import Site

# (projectCode, idCardNumber, date): one clock-in as the platform stores it
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Sent:
    """One upload of the run and what became of it (``platform_users.Outcome`` unpacked)."""

    batch: Batch
    due: float
    sent: float | None
    acked: float | None
    error: str
    final: int | None
    attempts: int

    @classmethod
    def of(cls, batch: Batch, outcome: list[Any] | None, due: float) -> Sent:
        if outcome is None:  # not reached before the time limit, or its shard never reported
            return cls(batch, due, None, None, "never sent: its shard stopped or did not report", None, 0)
        _, due, sent, acked, error, _serial, final, _final_at, attempts = outcome
        return cls(batch, due, sent, acked, error, final, attempts)

    @property
    def accepted(self) -> bool:
        """Acknowledged (code 0) and not refused by its async result."""
        return self.acked is not None and self.final != 10


def keys(batch: Batch, site: Site, day_start: datetime) -> list[Key]:
    return [
        (
            site.project_code,
            site.worker(r.worker)[1],
            (day_start + timedelta(seconds=int(r.moment_s))).strftime("%Y-%m-%d %H:%M:%S"),
        )
        for r in batch.records
    ]


def stored(sites: Iterable[Site], day: date, query: Callable[[Site, date], Iterable[dict[str, Any]]]) -> Counter[Key]:
    """How many times the platform holds each clock-in of ``day`` (``query`` pages one project)."""
    counts: Counter[Key] = Counter()
    for site in sites:
        for row in query(site, day):
            counts[(site.project_code, str(row.get("idCardNumber")), str(row.get("date")))] += 1
    return counts


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (``q`` in 0…100) of ``values``, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def summarise(
    m: Morning,
    sent: list[Sent],
    sites: dict[int, Site],
    day: date,
    start_at: float,
    before: Counter[Key],
    after: Counter[Key],
    deadline_s: float,
) -> dict[str, Any]:
    """The run's figures: ``before``/``after`` are the platform's holdings around the run."""
    day_start = datetime.combine(day, m.window_start)
    held = after - before
    records = accepted_records = lost = duplicated = late = 0
    upload_ms: list[float] = []
    e2e_s: list[float] = []
    expected: set[Key] = set()
    for s in sent:
        ks = keys(s.batch, sites[s.batch.project], day_start)
        records += len(ks)
        expected.update(ks)
        if s.acked is not None:
            upload_ms.append((s.acked - s.due) * 1000)
            for r in s.batch.records:
                latency = s.acked - (start_at + r.moment_s / m.compress)
                e2e_s.append(latency)
                late += latency > deadline_s
        for k in ks:
            duplicated += max(0, held[k] - 1)
            if s.accepted:
                accepted_records += 1
                lost += held[k] == 0
    unexpected = sum(n for k, n in held.items() if k not in expected)
    failed = sum(1 for s in sent if not s.accepted or s.error)
    figures: dict[str, Any] = {
        "uploads": len(sent),
        "uploads_failed": failed,
        "records": records,
        "records_accepted": accepted_records,
        "records_held": sum(held[k] for k in expected),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "error_rate": failed / len(sent) if sent else 0.0,
        "late": late,
        "late_rate": late / records if records else 0.0,
        "deadline_s": deadline_s,
        "attempts": sum(s.attempts for s in sent),
    }
    for q in (50, 95, 99, 99.9):
        name = f"p{q:g}".replace(".", "_")
        figures[f"{name}_ms"] = percentile(upload_ms, q)
        e2e = percentile(e2e_s, q)
        figures[f"e2e_{name}_s"] = e2e
    figures["series"] = series(sent, start_at)
    return figures


def series(sent: list[Sent], start_at: float) -> list[dict[str, Any]]:
    """Per second of the run: uploads acknowledged, their latency percentiles (from due), and the
    backlog (due but not yet acknowledged) at the end of that second."""
    if not sent:
        return []
    last = max(max(s.due, s.acked or s.due) for s in sent)
    seconds = max(1, math.ceil(last - start_at) + 1)
    acked: list[list[float]] = [[] for _ in range(seconds)]
    due_by = [0] * seconds
    acked_by = [0] * seconds
    for s in sent:
        due_by[min(seconds - 1, max(0, int(s.due - start_at)))] += 1
        if s.acked is not None:
            i = min(seconds - 1, max(0, int(s.acked - start_at)))
            acked[i].append((s.acked - s.due) * 1000)
            acked_by[i] += 1
    out = []
    due_total = acked_total = 0
    for t in range(seconds):
        due_total += due_by[t]
        acked_total += acked_by[t]
        out.append(
            {
                "t": t,
                "acked": len(acked[t]),
                "p50_ms": percentile(acked[t], 50),
                "p95_ms": percentile(acked[t], 95),
                "p99_ms": percentile(acked[t], 99),
                "backlog": due_total - acked_total,
            }
        )
    return out


def querier(url: str) -> Callable[[Site, date], Iterable[dict[str, Any]]]:
    """Page a project's clock-ins of a day through ``WorkerAttendance.Query`` as its own tenant
    (the reference client decrypts the ID numbers)."""
    from platform_client import PlatformClient

    def query(site: Site, day: date) -> Iterable[dict[str, Any]]:
        with PlatformClient(url, site.appid, site.secret) as api:
            yield from api.query_all(
                "WorkerAttendance.Query", {"projectCode": site.project_code, "date": day.isoformat()}
            )

    return query


def summarise_pushes(
    m: Morning,
    pushed: list[tuple[Any, list[Any]]],
    sites: dict[int, Site],
    day: date,
    start_at: float,
    before: Counter[Key],
    arrived: list[dict[str, Any]],
    deadline_s: float,
) -> dict[str, Any]:
    """The device side's figures: ``pushed`` is every gate push (``gate_users.Event``, outcome
    ``[index, due, sent, taken, error, attempts]``), ``arrived`` what the platform holds after the
    run with when each row arrived (``received_s``). Push latency runs from the moment the gate was
    due to push to the vendor's 200; gate-to-platform from that moment to the platform's arrival."""
    day_start = datetime.combine(day, m.window_start)
    after: Counter[Key] = Counter()
    seen: dict[Key, list[float]] = {}
    for row in arrived:
        k = (str(row["projectCode"]), str(row["idCardNumber"]), str(row["date"]))
        after[k] += 1
        # whole seconds: the end of that second, an upper bound
        seen.setdefault(k, []).append(math.nan if row.get("received_s") is None else float(row["received_s"]) + 1.0)
    held = after - before
    # the first arrival of this run: the earliest after those the platform held before it
    first_seen = {k: min(sorted(times)[before[k] :], default=math.nan) for k, times in seen.items()}
    push_ms: list[float] = []
    e2e_s: list[float] = []
    expected: set[Key] = set()
    clock_ins = taken_clock_ins = failed = lost = duplicated = late = strangers = 0
    as_sent: list[Sent] = []
    for event, outcome in pushed:
        _, due, sent, taken, error, attempts = outcome
        as_sent.append(Sent(Batch(event.project, -1, (), 0.0), due, sent, taken, error, None, attempts))
        if taken is None:
            failed += 1
        else:
            push_ms.append((taken - due) * 1000)
        if event.worker < 0:
            strangers += 1
            continue
        clock_ins += 1
        moment = (day_start + timedelta(seconds=int(event.moment_s))).strftime("%Y-%m-%d %H:%M:%S")
        k = (sites[event.project].project_code, sites[event.project].worker(event.worker)[1], moment)
        expected.add(k)
        duplicated += max(0, held[k] - 1)
        if taken is None:
            continue
        taken_clock_ins += 1
        if held[k] == 0:
            lost += 1
            continue
        latency = first_seen.get(k, math.nan) - due
        if math.isfinite(latency):
            e2e_s.append(latency)
            late += latency > deadline_s
    unexpected = sum(n for k, n in held.items() if k not in expected)
    figures: dict[str, Any] = {
        "pushes": len(pushed),
        "pushes_failed": failed,
        "strangers": strangers,
        "records": clock_ins,
        "records_accepted": taken_clock_ins,
        "records_held": sum(held[k] for k in expected),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "error_rate": failed / len(pushed) if pushed else 0.0,
        "late": late,
        "late_rate": late / clock_ins if clock_ins else 0.0,
        "deadline_s": deadline_s,
        "attempts": sum(o[5] for _, o in pushed),
    }
    for q in (50, 95, 99, 99.9):
        name = f"p{q:g}".replace(".", "_")
        figures[f"{name}_ms"] = percentile(push_ms, q)
        figures[f"e2e_{name}_s"] = percentile(e2e_s, q)
    figures["series"] = series(as_sent, start_at)
    return figures
