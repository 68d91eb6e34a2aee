"""Scenarios: the morning rush, lunch, the evening exit — deterministic, rate-capped per lane,
compressed in time, journaled."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

import pytest

from fixtures.fake.dataset import Worker, generate
from hardware_sim import kinds, scenarios
from hardware_sim import site as site_mod
from hardware_sim.device import Device, Event
from hardware_sim.fleet import Fleet
from hardware_sim.scenarios import Params

ORIGINAL_RESOLVE = kinds.resolve


class Gate(Device):
    kind = "fake"

    def __init__(self, device_id: str, **base: Any) -> None:
        super().__init__(device_id, **base)
        self.received: list[Event] = []

    async def start(self) -> None:
        self.start_sender()

    async def stop(self) -> None:
        await self.stop_sender()

    async def deliver(self, events: list[Event]) -> int:
        self.received += events
        return len(events)


@pytest.fixture(autouse=True)
def fake_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kinds.KINDS, "fake", "test_scenarios:Gate")
    monkeypatch.setattr(kinds, "resolve", lambda kind: Gate if kind == "fake" else ORIGINAL_RESOLVE(kind))


@pytest.fixture(scope="module")
def crowd() -> list[Worker]:
    return generate(23, 120, today=date(2026, 11, 24)).workers


def make_fleet(workers: list[Worker], *, in_lanes: int = 2, out_lanes: int = 2, **over: Any) -> Fleet:
    data: dict[str, Any] = {
        "site": "德州经济技术开发区测试工地",
        "project_code": workers[0].project_code,
        "roster": {"generate": {"seed": 23, "workers": len(workers)}, "preload": True},
        "devices": [
            {"id": "in", "kind": "fake", "direction": "in", "lane": 1, "count": in_lanes, "retry_delay": 0.01},
            {"id": "out", "kind": "fake", "direction": "out", "lane": 1, "count": out_lanes, "retry_delay": 0.01},
        ],
    }
    data.update(over)
    return Fleet(site_mod.parse(data), roster=workers)


def scenario_actions(fleet: Fleet, run_id: str) -> list[dict[str, Any]]:
    return [e for e in fleet.journal.entries(kind="action") if e["source"] == f"scenario:{run_id}"]


def max_per_minute(times: list[datetime]) -> int:
    """The most passes in any 60-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while (t - times[start]).total_seconds() >= 60:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_morning_every_worker_arrives_once_within_the_lane_cap(crowd: list[Worker]) -> None:
    # a narrow rush (07:00–07:04) on two lanes: 120 people, 50 a minute at most, so a queue forms
    windows = {"morning": {"start": "07:00", "peak": "07:02", "end": "07:04"}}
    fleet = make_fleet(crowd)
    async with fleet:
        began = time.monotonic()
        run = await scenarios.run(
            fleet, "morning", Params(time_scale=3000, seed=5, windows=windows, day=date(2026, 11, 24))
        )
        elapsed = time.monotonic() - began
        assert run.status == "done", run.error
        assert elapsed < 2
        assert run.done == run.total == 120
        assert run.counts == {"face_pass": 120}
        actions = scenario_actions(fleet, run.id)
        assert len(actions) == 120
        assert sorted(a["worker"] for a in actions) == list(range(120))  # each worker once
        assert {a["device"] for a in actions} == {"in-1", "in-2"}  # entry gates only
        by_lane: dict[str, list[datetime]] = defaultdict(list)
        for a in actions:
            by_lane[a["lane"]].append(datetime.fromisoformat(a["scenario_at"]))
        assert set(by_lane) == {"lane-1", "lane-2"}
        for lane, times in by_lane.items():
            assert max_per_minute(times) <= 25, lane
        last = max(t for times in by_lane.values() for t in times)
        assert last.strftime("%H:%M") >= "07:02"  # queued past the crowd's peak: 120 people need 2.4 minutes
        # every action made its event, and every event reached the receiver
        events = fleet.journal.entries(kind="event")
        assert len(events) == 120 and all(e["event"] == "face_pass" for e in events)
        deadline = time.monotonic() + 5
        while fleet.summary()["buffered"] and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        received = [e for m in fleet.members.values() for e in m.device.received]  # type: ignore[attr-defined]
        assert len(received) == 120 and all(e.current for e in received)
        finished = fleet.journal.entries(kind="scenario_finished")
        assert finished[-1]["status"] == "done" and finished[-1]["done"] == 120


async def test_default_morning_curve_is_a_bell_around_seven(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd)
    steps, summary = scenarios.plan(fleet, "morning", Params(seed=1))
    hours = [s.at / 3600 for s in steps]
    assert summary["first"] >= "06:30:00" and summary["last"] <= "07:31:00"
    near_peak = sum(1 for h in hours if 6.75 <= h <= 7.25)
    assert near_peak > len(hours) * 0.55  # most people come within 15 minutes of 07:00
    assert steps == sorted(steps, key=lambda s: s.at)


def test_plans_are_deterministic_by_seed(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd)
    params = Params(seed=9, stranger_rate=0.1, spoof_rate=0.1, duplicate_rate=0.1, rescan_rate=0.1, absent_rate=0.1)
    first, _ = scenarios.plan(fleet, "day", params)
    again, _ = scenarios.plan(make_fleet(crowd), "day", params)
    other, _ = scenarios.plan(fleet, "day", params.model_copy(update={"seed": 10}))
    assert first == again
    assert first != other


async def test_lunch_goes_out_then_back_in(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd[:30])
    async with fleet:
        run = await scenarios.run(fleet, "lunch", Params(time_scale=20000, seed=2, workers=30))
        assert run.status == "done"
        actions = scenario_actions(fleet, run.id)
        per_worker: dict[int, list[str]] = defaultdict(list)
        for a in actions:
            per_worker[a["worker"]].append(fleet.member(a["device"]).config.direction)
        assert len(per_worker) == 30
        assert all(moves == ["out", "in"] for moves in per_worker.values())


async def test_evening_exit_uses_exit_gates(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd[:20])
    async with fleet:
        run = await scenarios.run(fleet, "evening", Params(time_scale=20000, workers=20))
        assert run.status == "done" and run.counts == {"face_pass": 20}
        assert {a["device"] for a in scenario_actions(fleet, run.id)} <= {"out-1", "out-2"}
        assert all(e["direction"] == "out" for e in fleet.journal.entries(kind="event"))


async def test_noise_strangers_spoofs_and_duplicates(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd)
    async with fleet:
        params = Params(time_scale=20000, seed=4, stranger_rate=0.1, spoof_rate=0.1, duplicate_rate=0.1)
        run = await scenarios.run(fleet, "morning", params)
        assert run.status == "done"
        counts = Counter(run.counts)
        assert counts["face_pass"] == 120  # everyone still gets in exactly once
        assert counts["stranger"] == 12
        assert 3 <= counts["liveness_fail"] <= 25
        assert 3 <= counts["duplicate"] <= 25
        passes = Counter(e["employee_no"] for e in fleet.journal.entries(kind="event") if e["event"] == "face_pass")
        assert len(passes) == 120 and set(passes.values()) == {1}
        duplicates = fleet.journal.entries(kind="duplicate")
        assert len(duplicates) == counts["duplicate"] and all(d["current"] is False for d in duplicates)


async def test_workers_the_vendor_did_not_issue_are_strangers(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd[:10], roster={"generate": {"seed": 23, "workers": 10}})  # no preload
    async with fleet:
        run = await scenarios.run(fleet, "morning", Params(time_scale=50000, workers=10))
        assert run.counts == {"stranger": 10}
        assert all(a["known_to_device"] is False for a in scenario_actions(fleet, run.id))


async def test_network_drop_during_the_rush_is_replayed_in_order(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd[:60], in_lanes=1)
    async with fleet:
        params = Params(
            time_scale=6000,
            workers=60,
            disruptions=[{"at": "06:40", "device": "in", "action": "network-drop", "minutes": 600}],
        )
        run = await scenarios.run(fleet, "morning", params)
        assert run.status == "done"
        gate = fleet.device("in")  # count 1: the id as written
        assert isinstance(gate, Gate)
        assert not gate.online and len(gate.outbox) > 0
        offline = [e for e in fleet.journal.entries(device="in", kind="event") if not e["current"]]
        assert len(offline) == len(gate.outbox)
        fleet.network_restore("in")
        deadline = time.monotonic() + 5
        while gate.outbox and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        serials = [e.serial_no for e in gate.received]
        assert serials == list(range(1, 61))  # none lost, in serial order
        assert all(not e.current for e in gate.received[-len(offline) :])


async def test_stamp_scenario_sets_device_clocks_to_scenario_time(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd[:10])
    async with fleet:
        params = Params(time_scale=50000, workers=10, stamp="scenario", day=date(2026, 11, 24))
        await scenarios.run(fleet, "morning", params)
        stamps = [e["at"] for e in fleet.journal.entries(kind="event")]
        assert all(s.startswith("2026-11-24T06:") or s.startswith("2026-11-24T07:") for s in stamps), stamps


async def test_progress_and_cancel(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd)
    async with fleet:
        run = scenarios.start(fleet, "morning", Params(time_scale=10))  # would take minutes
        await asyncio.sleep(0.05)
        view = run.view()
        assert view["status"] == "running" and view["total"] == 120 and 0 <= view["done"] < 120
        await run.cancel()
        assert run.status == "cancelled"
        assert fleet.journal.entries(kind="scenario_finished")[-1]["status"] == "cancelled"


def test_scenario_errors_are_clear(crowd: list[Worker]) -> None:
    fleet = make_fleet(crowd, devices=[{"id": "in", "kind": "fake", "direction": "in"}])
    with pytest.raises(scenarios.ScenarioError, match="unknown scenario 'brunch'"):
        scenarios.plan(fleet, "brunch", Params())
    with pytest.raises(scenarios.ScenarioError, match="needs 'out' gates"):
        scenarios.plan(fleet, "evening", Params())
    empty = Fleet(fleet.site.model_copy(update={"roster": None}))
    with pytest.raises(scenarios.ScenarioError, match="no roster"):
        scenarios.plan(empty, "morning", Params())
    with pytest.raises(ValueError, match="unknown window"):
        Params(windows={"brunch": {"start": "10:00", "peak": "10:30", "end": "11:00"}})
