"""The morning model: the city's numbers, a repeatable timetable, lanes and batches as the
standard and the gates allow, and nonsense refused before anything is sent."""

from __future__ import annotations

from collections import Counter
from datetime import time
from itertools import pairwise

import pytest

from loadtests.morning import Morning, constant_rate, gate, shard, team_of, timetable
from standard.terminal import UsageProblem


def test_the_default_is_a_large_city() -> None:
    m = Morning()
    assert (m.project_count, m.workers_per_project, m.clock_ins) == (1420, 87, 123_540)
    assert Morning(scale=0.1).clock_ins == 142 * 87


def test_a_fixed_seed_gives_the_same_timetable_and_another_seed_another() -> None:
    small = Morning(scale=0.01, compress=60)
    assert timetable(small) == timetable(Morning(scale=0.01, compress=60))
    assert timetable(small) != timetable(Morning(scale=0.01, compress=60, seed=7))


def test_every_worker_clocks_in_once_in_batches_of_one_team_within_the_limit() -> None:
    m = Morning(scale=0.01, batch_size=5)
    plan = timetable(m)
    seen = Counter((r.project, r.worker) for b in plan for r in b.records)
    assert len(seen) == m.clock_ins and set(seen.values()) == {1}
    assert all(1 <= len(b.records) <= 5 for b in plan)
    assert all({team_of(m, r.worker) for r in b.records} == {b.team} for b in plan)
    assert [b.send_s for b in plan] == sorted(b.send_s for b in plan)
    # an upload leaves no earlier than its last clock-in, and within the batch wait of its first
    assert all(b.records[-1].moment_s <= b.send_s * m.compress <= b.records[0].moment_s + m.batch_wait_s for b in plan)


def test_compression_replays_the_same_morning_faster() -> None:
    slow, fast = timetable(Morning(scale=0.01)), timetable(Morning(scale=0.01, compress=60))
    assert [b.records for b in slow] == [b.records for b in fast]
    assert [round(b.send_s / 60, 9) for b in slow] == [round(b.send_s, 9) for b in fast]


def test_lanes_clock_in_at_most_25_people_a_minute_each() -> None:
    m = Morning(workers_per_project=300, lanes_per_gate=1, window_minutes=10, retry_rate=0, stranger_rate=0)
    moments = sorted(c.moment_s for c in gate(m, 0).clock_ins)
    gaps = [b - a for a, b in pairwise(moments)]
    assert min(gaps) >= 60 / 25 - 1e-9  # one lane: one person every 2.4 s, however many arrive
    assert moments[-1] >= 300 * 2.4  # the queue outlasts the arrival window
    two = Morning(workers_per_project=300, lanes_per_gate=2, window_minutes=10, retry_rate=0, stranger_rate=0)
    assert max(c.moment_s for c in gate(two, 0).clock_ins) < moments[-1] * 0.75  # two lanes keep up


def test_strangers_and_retries_hold_lanes_but_upload_nothing() -> None:
    m = Morning(workers_per_project=400, stranger_rate=0.5, retry_rate=0.5, lanes_per_gate=1, window_minutes=10)
    g = gate(m, 3)
    assert len(g.clock_ins) == 400
    assert 150 < g.strangers < 250 and 150 < g.retries < 250
    plain = gate(
        Morning(workers_per_project=400, stranger_rate=0, retry_rate=0, lanes_per_gate=1, window_minutes=10), 3
    )
    assert g.clock_ins[-1].moment_s > plain.clock_ins[-1].moment_s * 1.5


def test_the_peak_factor_shapes_the_busiest_minute() -> None:
    def busiest_over_mean(m: Morning) -> float:
        minutes = Counter(int(c.moment_s // 60) for p in range(m.project_count) for c in gate(m, p).clock_ins)
        return max(minutes.values()) / (m.clock_ins / m.window_minutes)

    wide = dict(projects=200, lanes_per_gate=8, stranger_rate=0.0)  # lanes never queue here
    assert 2.0 < busiest_over_mean(Morning(**wide, peak_factor=2.5)) < 3.2  # type: ignore[arg-type]
    assert busiest_over_mean(Morning(**wide, curve="uniform")) < 1.4  # type: ignore[arg-type]


def test_shards_split_the_projects_and_together_are_the_whole_morning() -> None:
    m = Morning(scale=0.01)
    parts = [timetable(m, shard(m.project_count, i, 3)) for i in range(3)]
    assert sorted((b.send_s, b.project, b.team) for p in parts for b in p) == [
        (b.send_s, b.project, b.team) for b in timetable(m)
    ]
    assert {b.project for b in parts[0]}.isdisjoint({b.project for b in parts[1]})


def test_constant_rate_spaces_distinct_uploads_evenly() -> None:
    m = Morning(scale=0.01)
    plan = constant_rate(m, 100, 30)
    assert len(plan) == 3000 and plan[1].send_s - plan[0].send_s == pytest.approx(0.01)
    records = Counter((b.project, r.worker, r.moment_s) for b in plan for r in b.records)
    assert set(records.values()) == {1}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"scale": 0}, "--scale"),
        ({"scale": -1}, "--scale"),
        ({"compress": 0.5}, "--compress"),
        ({"peak_factor": 1.0}, "peak factor"),
        ({"lanes_per_gate": 0}, "lanes per gate"),
        ({"batch_size": 21}, "batch size"),
        ({"stranger_rate": 2}, "stranger rate"),
        ({"window_minutes": float("nan")}, "finite"),
        ({"curve": "bell"}, "curve"),
        ({"projects": 1_000_000}, "clock-ins is more than"),
    ],
)
def test_nonsense_parameters_are_refused_in_one_line_naming_them(change: dict[str, object], named: str) -> None:
    with pytest.raises(UsageProblem) as refused:
        Morning(**change)  # type: ignore[arg-type]
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_nonsense_rates_are_refused() -> None:
    for rate, duration in ((0, 10), (10, 0), (float("inf"), 1), (0.01, 1)):
        with pytest.raises(UsageProblem):
            constant_rate(Morning(scale=0.01), rate, duration)


def test_the_window_starts_when_asked() -> None:
    assert Morning(window_start=time(7, 0)).window_start == time(7, 0)
