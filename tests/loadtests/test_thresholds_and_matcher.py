"""Pass marks (refused when they make no sense, breached when the run misses them) and the
matcher's arithmetic of lost and duplicated clock-ins."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from loadtests import thresholds
from loadtests.matcher import Sent, keys, percentile, summarise
from loadtests.morning import Morning, timetable
from loadtests.world import Site
from standard.terminal import UsageProblem


def test_a_thresholds_file_is_read_as_yaml_or_json(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("p95_ms: 250\nlost: 0\n")
    (tmp_path / "t.json").write_text('{"p99_ms": 900, "deadline_s": 5}')
    assert thresholds.load(tmp_path / "t.yaml").p95_ms == 250
    assert thresholds.load(tmp_path / "t.json").deadline_s == 5
    assert thresholds.load(None) == thresholds.Thresholds()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("p95_ms: -1", "p95_ms"),
        ("p95: 100", "p95"),
        ("lost: 0.5", "lost"),
        ("error_rate: 2", "error_rate"),
        ("- p95_ms", "mapping"),
        ("p95_ms: [", "not YAML"),
        ("deadline_s: .nan", "deadline_s"),
    ],
)
def test_a_thresholds_file_that_makes_no_sense_is_refused(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(UsageProblem) as refused:
        thresholds.load(path)
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem, match="cannot read"):
        thresholds.load(tmp_path / "none.yaml")


def test_breaches_name_each_missed_mark() -> None:
    marks = thresholds.Thresholds(p95_ms=100, p99_ms=200, lost=0, duplicated=0)
    fine = {"p95_ms": 50.0, "p99_ms": 150.0, "error_rate": 0.0, "late_rate": 0.0, "lost": 0, "duplicated": 0}
    assert marks.breaches(fine) == []
    bad = {**fine, "p99_ms": 250.0, "lost": 1, "duplicated": 2}
    assert [b.split()[0] for b in marks.breaches(bad)] == ["p99_ms", "lost", "duplicated"]
    assert marks.breaches({**fine, "p95_ms": None})  # nothing answered is no pass


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 99.9)) == (50, 99, 100)
    assert percentile([], 95) is None


def test_the_matcher_counts_lost_and_duplicated_clock_ins() -> None:
    m = Morning(projects=1, workers_per_project=24, compress=60)
    site = Site(
        "p",
        "s" * 32,
        "P1",
        [(1, [f"id{i:02d}" for i in range(0, 24, 2)]), (2, [f"id{i:02d}" for i in range(1, 24, 2)])],
    )
    plan = timetable(m)
    start = 1000.0
    sent = [Sent(b, start + b.send_s, start + b.send_s, start + b.send_s + 0.01, "", 20, 1) for b in plan]
    day = date(2026, 12, 3)
    all_keys = [k for b in plan for k in keys(b, site, datetime.combine(day, m.window_start))]
    before = Counter({("P1", "someone", "2026-12-03 06:00:00"): 1})
    after = before + Counter(all_keys)
    ok = summarise(m, sent, {0: site}, day, start, before, after, deadline_s=60)
    assert (ok["lost"], ok["duplicated"], ok["records"], ok["unexpected"]) == (0, 0, 24, 0)
    assert ok["p99_ms"] == pytest.approx(10, abs=0.01)
    after[all_keys[0]] -= 1  # acknowledged, then gone
    after[all_keys[1]] += 2  # stored three times
    bad = summarise(m, sent, {0: site}, day, start, before, after, deadline_s=60)
    assert (bad["lost"], bad["duplicated"]) == (1, 2)
    assert bad["series"][-1]["backlog"] == 0
