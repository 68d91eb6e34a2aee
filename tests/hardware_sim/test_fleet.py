"""The fleet: site files, building and running many devices, the control API and the CLI.

Devices here are :class:`FakeGate`, a minimal protocol class whose ``deliver`` records what it was
given, registered as kind ``fake``; the protocol classes have their own tests.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from fixtures.fake.dataset import Worker, generate
from hardware_sim import kinds
from hardware_sim import site as site_mod
from hardware_sim.control import ControlServer, run_in_thread
from hardware_sim.device import Device, DeviceSettings, Event, SiteEntry
from hardware_sim.fleet import Fleet, FleetError, UnknownDevice

ORIGINAL_RESOLVE = kinds.resolve


class FakeGate(Device):
    """A push device whose receiver is a list: ``received`` holds (serial_no, current, kind) in
    delivery order; ``refuse`` makes every delivery fail."""

    kind = "fake"

    def __init__(
        self,
        device_id: str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        receiver_url: str | None = None,
        username: str = "admin",
        password: str = "",
        refuse: bool = False,
        settings: DeviceSettings | None = None,
    ) -> None:
        super().__init__(device_id, settings)
        self.host = host
        self.port = port
        self.receiver_url = receiver_url
        self.username = username
        self.refuse = refuse
        self.received: list[tuple[int, bool, str]] = []
        self.running = False

    @classmethod
    def from_site(cls, entry: SiteEntry) -> Self:
        options = {"host": entry.config.host, "port": entry.config.port, "receiver_url": entry.vendor_url}
        return cls.create(entry, {**options, **entry.options()})

    async def start(self) -> None:
        self.running = True
        self.start_sender()

    async def stop(self) -> None:
        self.running = False
        await self.stop_sender()

    async def deliver(self, events: list[Event]) -> int:
        if self.refuse:
            raise ConnectionRefusedError("receiver says no")
        self.received += [(e.serial_no, e.current, e.kind) for e in events]
        return len(events)


class BrokenGate(FakeGate):
    async def start(self) -> None:
        if self.device_id.endswith("-3"):
            raise OSError("address already in use")
        await super().start()


@pytest.fixture(autouse=True)
def fake_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kinds.KINDS, "fake", "test_fleet:FakeGate")
    monkeypatch.setitem(kinds.KINDS, "broken", "test_fleet:BrokenGate")
    classes = {"fake": FakeGate, "broken": BrokenGate}
    monkeypatch.setattr(kinds, "resolve", lambda kind: classes.get(kind) or ORIGINAL_RESOLVE(kind))


@pytest.fixture(scope="module")
def roster() -> list[Worker]:
    return generate(11, 12).workers


def site_data(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "site": "德城区测试工地",
        "project_code": "371402202611240001",
        "vendor": {"receiver": "http://127.0.0.1:9/events"},
        "roster": {"generate": {"seed": 11, "workers": 12}},
        "devices": [
            {"id": "in", "kind": "fake", "direction": "in", "lane": 1, "count": 2, "retry_delay": 0.01},
            {"id": "out", "kind": "fake", "direction": "out", "lane": 1, "count": 2, "retry_delay": 0.01},
        ],
    }
    data.update(over)
    return data


def fleet_of(workers: list[Worker], **over: Any) -> Fleet:
    return Fleet(site_mod.parse(site_data(**over)), roster=workers)


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.01)


# -- site files ----------------------------------------------------------------------------------
def test_sample_dezhou_site_parses() -> None:
    site = site_mod.load(site_mod.sample("dezhou-4-gates"))
    devices = site.expanded()
    assert site.project_code == "371428202611243708"
    assert [(d.id, d.direction, d.port, d.lane) for d in devices] == [
        ("dz-in-1", "in", 18081, 1),
        ("dz-in-2", "in", 18082, 2),
        ("dz-out-1", "out", 18091, 1),
        ("dz-out-2", "out", 18092, 2),
    ]
    assert {d.kind for d in devices} == {"isapi"}
    assert site.vendor.receiver and site.vendor.receiver.startswith("http://")
    assert site.roster is not None and site.roster.generate is not None and site.roster.generate.seed == 2018


def test_count_expands_ids_ports_and_lanes() -> None:
    site = site_mod.parse(
        site_data(
            devices=[
                {"id": "gate", "kind": "fake", "count": 1200, "port": 20000, "lane": 1},
                {"id": "zk-{n:04d}", "kind": "fake", "count": 3, "direction": "out"},
                {"id": "solo", "kind": "fake", "host": "127.0.0.7", "port": 20000},
            ]
        )
    )
    devices = site.expanded()
    assert len(devices) == 1204
    assert devices[0].id == "gate-0001" and devices[0].port == 20000 and devices[0].lane == 1
    assert devices[1199].id == "gate-1200" and devices[1199].port == 21199 and devices[1199].lane == 1200
    assert [d.id for d in devices[1200:1203]] == ["zk-0001", "zk-0002", "zk-0003"]
    assert devices[1200].port is None and devices[1200].lane_key == "zk-0001"
    assert devices[-1].url == "http://127.0.0.7:20000"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"devices": [{"id": "a", "kind": "nope"}]}, "devices[0].kind: unknown device kind 'nope'"),
        ({"devices": [{"id": "a", "kind": "fake", "port": 70000}]}, "devices[0].port:"),
        ({"devices": [{"id": "a", "kind": "fake", "colour": "red"}]}, "devices[0].colour: unknown setting"),
        ({"devices": [{"id": "a", "kind": "fake", "direction": "sideways"}]}, "devices[0].direction:"),
        ({"devices": [{"id": "a b", "kind": "fake"}]}, "devices[0].id: use letters"),
        ({"devices": [{"id": "a", "kind": "fake", "port": 65535, "count": 2}]}, "run past 65535"),
        ({"devices": []}, "devices:"),
        (
            {"devices": [{"id": "a", "kind": "fake"}, {"id": "a", "kind": "fake"}]},
            "devices[1]: id 'a' already used by devices[0]",
        ),
        (
            {
                "devices": [
                    {"id": "a", "kind": "fake", "port": 18000, "count": 3},
                    {"id": "b", "kind": "fake", "port": 18002},
                ]
            },
            "devices[1]: 127.0.0.1:18002 (b) already used by a-3",
        ),
        ({"devices": [{"id": "a", "kind": "fake", "host": "gate.local"}]}, "devices[0].host: use an IP address"),
        ({"devices": [{"id": "a", "kind": "fake", "options": {"journal": 1}}]}, "journal are device settings"),
        ({"vendor": {"receiver": "ftp://x"}}, "vendor.receiver: must be an http:// or https:// URL"),
        ({"roster": {}}, "roster: give exactly one of `dataset`"),
        ({"project_code": "12"}, "project_code: a project code is 6–32 letters or digits"),
        (
            {"schedule": {"morning": {"start": "08:00", "peak": "07:00", "end": "09:00"}}},
            "schedule.morning: needs start",
        ),
    ],
)
def test_site_validation_errors_name_file_path_and_problem(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(site_mod.SiteError) as info:
        site_mod.parse(site_data(**change), "site.yaml")
    assert str(info.value).startswith("site.yaml: ")
    assert expected in str(info.value)
    assert "Traceback" not in str(info.value)


def test_site_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text("site: x\ndevices: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(site_mod.SiteError, match=r"site.yaml: line \d+, column \d+: not valid YAML"):
        site_mod.load(bad)
    with pytest.raises(site_mod.SiteError, match="no such file"):
        site_mod.load(tmp_path / "missing.yaml")
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(site_mod.SiteError, match="expected a mapping"):
        site_mod.load(bad)


def test_roster_dataset_path_is_relative_to_the_site_file(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "samples" / "dezhou-2018"
    (tmp_path / "site.yaml").write_text(
        yaml.safe_dump(site_data(project_code="371428202611243708", roster={"dataset": "roster"})), encoding="utf-8"
    )
    (tmp_path / "roster").symlink_to(samples)
    site = site_mod.load(tmp_path / "site.yaml")
    assert site.roster is not None and site.roster.dataset == tmp_path / "roster"
    fleet = Fleet(site)
    assert len(fleet.roster) == 20
    # the sample site generates the same people in memory as the packaged sample dataset
    sample = Fleet(site_mod.load(site_mod.sample()))
    monkey = sample.roster
    assert [w.id_number for w in monkey] == [w.id_number for w in fleet.roster]


# -- the fleet -----------------------------------------------------------------------------------
async def test_two_hundred_devices_start_and_stop_quickly(roster: list[Worker]) -> None:
    fleet = fleet_of(roster, devices=[{"id": "g", "kind": "fake", "count": 200, "port": 30000, "lane": 1}])
    began = time.monotonic()
    async with fleet:
        assert fleet.started
        gates = [m.device for m in fleet.members.values()]
        assert len(gates) == 200 and all(isinstance(g, FakeGate) and g.running for g in gates)
        assert fleet.device("g-200").port == 30199  # type: ignore[attr-defined]
        assert fleet.device("g-001").receiver_url == "http://127.0.0.1:9/events"  # type: ignore[attr-defined]
        assert len(fleet.status()) == 200
    assert time.monotonic() - began < 5
    assert not any(g.running for g in gates)  # type: ignore[attr-defined]
    kinds_seen = [e["kind"] for e in fleet.journal.entries(device="fleet")]
    assert kinds_seen == ["fleet_started", "fleet_stopped"]


async def test_failed_start_stops_the_others_and_names_the_device(roster: list[Worker]) -> None:
    fleet = fleet_of(roster, devices=[{"id": "b", "kind": "broken", "count": 5}])
    with pytest.raises(FleetError, match="b-3: OSError: address already in use"):
        await fleet.start()
    assert not any(m.device.running for m in fleet.members.values())  # type: ignore[attr-defined]
    assert not fleet.started


def test_unknown_options_and_missing_modules_are_clear(roster: list[Worker], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        FleetError, match=r"a \(fake\): FakeGate cannot be built with options \[.*'colour'.*check `options:`"
    ):
        fleet_of(roster, devices=[{"id": "a", "kind": "fake", "options": {"colour": "red"}}])
    fleet = fleet_of(roster)
    with pytest.raises(UnknownDevice, match="unknown device 'nope'; known: in-1, in-2, out-1, out-2"):
        fleet.device("nope")
    monkeypatch.setattr(kinds, "resolve", ORIGINAL_RESOLVE)
    monkeypatch.setitem(kinds.KINDS, "ghost", "hardware_sim.no_such_module:Ghost")
    with pytest.raises(FleetError, match=r"device kind 'ghost' .* is not available"):
        fleet_of(roster, devices=[{"id": "a", "kind": "ghost"}])


async def test_preload_roster_is_flagged_and_the_vendor_roster_wins(roster: list[Worker]) -> None:
    fleet = fleet_of(roster)
    async with fleet:
        issued = fleet.device("in-1")
        worker = roster[3]
        # the vendor issued one person to in-1 under its own employee number
        from hardware_sim.device import Enrolled

        issued.enrolled["V0003"] = Enrolled("V0003", name=worker.person.name, face=worker.person.photo)
        done = fleet.preload_roster()
        assert sorted(done) == ["in-2", "out-1", "out-2"]
        assert len(fleet.device("in-2").enrolled) == len(roster)
        flagged = fleet.journal.entries(kind="roster_preloaded")
        assert {e["device"] for e in flagged} == {"in-2", "out-1", "out-2"}
        assert all(e["issued_by"] == "fleet, not the vendor" for e in flagged)
        assert fleet.employee_no(issued, worker) == "V0003"  # found by name
        assert fleet.employee_no(issued, roster[4]) is None  # not issued: a stranger at this gate
        event = fleet.present_worker("in-1", 4, roster[4])
        assert event is not None and event.kind == "stranger"
        event = fleet.present_worker("in-1", 3, worker)
        assert event is not None and event.kind == "face_pass" and event.employee_no == "V0003"


# -- the control API -----------------------------------------------------------------------------
async def test_control_api_actions_over_a_real_socket(roster: list[Worker]) -> None:
    fleet = fleet_of(roster, roster={"generate": {"seed": 11, "workers": 12}, "preload": True})
    await fleet.start()
    control = ControlServer(fleet, port=0)
    await control.start()
    try:
        async with httpx.AsyncClient(base_url=control.url, timeout=5) as http:
            listing = (await http.get("/devices")).json()
            assert [d["id"] for d in listing["devices"]] == ["in-1", "in-2", "out-1", "out-2"]
            assert listing["summary"]["roster"] == 12
            assert (await http.get("/devices?direction=out")).json()["devices"][0]["id"] == "out-1"

            r = await http.post("/devices/in-1/present-face", json={"worker_index": 0})
            assert r.status_code == 200, r.text
            assert r.json()["event"]["event"] == "face_pass"
            assert r.json()["event"]["employee_no"] == roster[0].id_number
            r = await http.post("/devices/in-1/present-face", json={"id_number": roster[1].id_number, "spoof": True})
            assert r.json()["event"]["event"] == "liveness_fail"
            r = await http.post("/devices/in-1/present-face", json={"stranger": True})
            assert r.json()["event"]["event"] == "stranger" and r.json()["event"]["photo_bytes"] > 0
            r = await http.post("/devices/in-1/swipe-card", json={"worker_index": 2})
            assert r.json()["event"]["event"] == "card_pass"
            r = await http.post("/devices/in-1/duplicate")
            assert r.json()["event"]["serial_no"] == 4
            gate = fleet.device("in-1")
            assert isinstance(gate, FakeGate)
            await until(lambda: len(gate.received) == 5)
            assert [s for s, _, _ in gate.received] == [1, 2, 3, 4, 4]

            # network drop: events are buffered (current false), then replayed in serial order
            r = await http.post("/devices/in-1/network-drop", json={"minutes": 5})
            assert r.json()["device"]["online"] is False
            for index in range(3, 8):
                r = await http.post("/devices/in-1/present-face", json={"worker_index": index})
                assert r.json()["event"]["current"] is False
            await asyncio.sleep(0.1)
            assert len(gate.received) == 5 and len(gate.outbox) == 5
            assert (await http.get("/devices/in-1")).json()["buffered"] == 5
            r = await http.post("/devices/in-1/network-restore")
            await until(lambda: len(gate.received) == 10)
            assert gate.received[5:] == [(n, False, "face_pass") for n in range(5, 10)]

            # power off: nothing happens at the gate (409), power on with a flat RTC battery
            await http.post("/devices/out-1/power-off")
            r = await http.post("/devices/out-1/present-face", json={"worker_index": 0})
            assert r.status_code == 409 and "power-on" in r.json()["error"]
            r = await http.post("/devices/out-1/power-on", json={"rtc_reset": True})
            assert r.json()["device"]["powered"] is True
            assert r.json()["device"]["clock"].startswith("2000-01-01")
            r = await http.post("/devices/out-1/clock", json={"set": "2026-11-24T07:00:00", "drift_ppm": 50})
            assert r.json()["device"]["clock"].startswith("2026-11-24T07:00:0")
            r = await http.post("/devices/out-1/clock", json={"step_seconds": -3600})
            assert r.json()["device"]["clock"].startswith("2026-11-24T06:00:0")

            # journal as JSON Lines, filtered
            text = (await http.get("/journal.jsonl", params={"device": "in-1", "kind": "action"})).text
            actions = [json.loads(line) for line in text.splitlines()]
            assert [a["action"] for a in actions][:5] == [
                "present_face",
                "present_face",
                "present_face",
                "swipe_card",
                "duplicate",
            ]
            assert all(a["source"] == "control" for a in actions)
            since = actions[-1]["seq"]
            tail = (await http.get("/journal.jsonl", params={"since": since})).text.splitlines()
            assert all(json.loads(line)["seq"] > since for line in tail) and tail
            roster_page = (await http.get("/roster", params={"limit": 2})).json()
            assert roster_page["total"] == 12 and roster_page["workers"][1]["worker_index"] == 1
    finally:
        await control.stop()
        await fleet.stop()


async def test_control_api_errors_are_json_4xx(roster: list[Worker]) -> None:
    fleet = fleet_of(roster)
    await fleet.start()
    control = ControlServer(fleet, port=0)
    await control.start()
    try:
        async with httpx.AsyncClient(base_url=control.url, timeout=5) as http:
            cases = [
                ("GET", "/devices/nope", None, 404, "unknown device 'nope'"),
                ("POST", "/devices/nope/present-face", {"worker_index": 0}, 404, "unknown device 'nope'"),
                ("POST", "/devices/in-1/present-face", {}, 422, "give exactly one of"),
                ("POST", "/devices/in-1/present-face", {"worker_index": 99}, 404, "no worker 99"),
                ("POST", "/devices/in-1/present-face", {"worker_index": "x"}, 422, "worker_index"),
                ("POST", "/devices/in-1/present-face", {"stranger": True, "worker_index": 1}, 422, "a stranger has"),
                ("POST", "/devices/in-1/present-face", {"wrkr": 1}, 422, "wrkr"),
                ("POST", "/devices/in-1/network-drop", {}, 422, "minutes or seconds"),
                ("POST", "/devices/in-1/network-drop", {"minutes": -1}, 422, "minutes"),
                ("POST", "/devices/in-1/clock", {}, 422, "drift_ppm, step_seconds or set"),
                ("POST", "/devices/in-1/clock", {"set": "yesterday"}, 422, "set"),
                ("POST", "/devices/in-1/duplicate", None, 409, "no event"),
                ("POST", "/scenarios/brunch", {}, 404, "unknown scenario 'brunch'"),
                ("POST", "/scenarios/morning", {"time_scale": 0}, 422, "time_scale"),
                ("GET", "/scenarios/morning-999", None, 404, "no scenario run"),
                ("GET", "/journal.jsonl?since=x", None, 400, "since must be a whole number"),
                ("GET", "/nothing/here", None, 404, "no such endpoint"),
            ]
            for method, path, body, status, message in cases:
                r = await http.request(method, path, json=body)
                assert r.status_code == status, (path, body, r.text)
                assert message in r.json()["error"], (path, r.json())
            r = await http.post(
                "/devices/in-1/present-face", content=b"{not json", headers={"content-type": "application/json"}
            )
            assert r.status_code == 400 and "not JSON" in r.json()["error"]
            r = await http.post("/devices/in-1/present-face", json=[1, 2])
            assert r.status_code == 400 and "JSON object" in r.json()["error"]
    finally:
        await control.stop()
        await fleet.stop()


# -- the CLI -------------------------------------------------------------------------------------
@pytest.fixture
def running(roster: list[Worker]) -> Iterator[str]:
    background = run_in_thread(fleet_of(roster, roster={"generate": {"seed": 11, "workers": 12}, "preload": True}))
    try:
        yield background.url
    finally:
        background.stop()


def test_cli_help_is_there_for_every_command() -> None:
    from hardware_sim.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "site.yaml" in top.output
    for command in (
        "up",
        "check",
        "list",
        "status",
        "roster",
        "present-face",
        "swipe-card",
        "power-off",
        "power-on",
        "network-drop",
        "network-restore",
        "clock",
        "duplicate",
        "scenario",
        "scenarios",
        "journal",
    ):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


def test_cli_client_commands_against_a_running_fleet(running: str) -> None:
    from hardware_sim.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["list", "--control", running])
    assert listed.exit_code == 0, listed.output
    assert "in-1" in listed.output and "out-2" in listed.output
    face = runner.invoke(app, ["present-face", "in-2", "--worker", "1", "--control", running])
    assert face.exit_code == 0, face.output
    assert "face_pass" in face.output
    assert runner.invoke(app, ["network-drop", "in-2", "--minutes", "1", "--control", running]).exit_code == 0
    buffered = runner.invoke(app, ["present-face", "in-2", "--stranger", "--control", running])
    assert "stranger" in buffered.output and "buffered" in buffered.output
    assert runner.invoke(app, ["power-off", "out-1", "--control", running]).exit_code == 0
    refused = runner.invoke(app, ["present-face", "out-1", "--worker", "1", "--control", running])
    assert refused.exit_code == 1 and "powered off" in refused.output
    unknown = runner.invoke(app, ["power-on", "gate-9", "--control", running])
    assert unknown.exit_code == 1 and "unknown device 'gate-9'" in unknown.output
    card = runner.invoke(app, ["read-id-card", "in-1", "--worker", "2", "--control", running])
    assert card.exit_code == 0 and "id_card" in card.output, card.output
    journal = runner.invoke(app, ["journal", "--device", "in-2", "--kind", "event", "--control", running])
    events = [json.loads(line) for line in journal.output.splitlines()]
    assert [e["event"] for e in events] == ["face_pass", "stranger"]
    scenario = runner.invoke(app, ["scenario", "morning", "--time-scale", "100000", "--control", running])
    assert scenario.exit_code == 0, scenario.output
    assert "done" in scenario.output


def test_cli_says_when_the_fleet_is_not_running(jzgr: Any) -> None:
    ran = jzgr("devices", "list", "--control", "http://127.0.0.1:9")
    assert ran.code == 3
    line = ran.error_line()
    assert "cannot reach the control API at http://127.0.0.1:9" in line and "jzgr devices up" in line


def _site_file(tmp_path: Path, **over: Any) -> str:
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(site_data(**over), allow_unicode=True), encoding="utf-8")
    return str(config)


def test_cli_up_refuses_a_busy_control_port_in_one_line(jzgr: Any, tmp_path: Path, busy_port: int) -> None:
    ran = jzgr("devices", "up", "--config", _site_file(tmp_path), "--control-port", str(busy_port), "--duration", "5")
    assert ran.code == 3
    assert ran.error_line() == (
        f"error: the control API's port {busy_port} on 127.0.0.1 is already in use (another `jzgr devices up`?); "
        "stop it or pass --control-port (0: any free port)"
    )


def test_cli_up_names_a_device_whose_port_is_busy(jzgr: Any, tmp_path: Path, busy_port: int) -> None:
    devices = [{"id": "gate", "kind": "isapi", "port": busy_port, "options": {"username": "admin", "password": "x"}}]
    ran = jzgr("devices", "up", "--config", _site_file(tmp_path, devices=devices), "--control-port", "0")
    assert ran.code == 3
    assert ran.error_line() == f"error: devices failed to start: gate: port {busy_port} on 127.0.0.1 is already in use"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--control-host", "192.0.2.1"],
            "cannot listen on 192.0.2.1: not an address of this machine (--control-host)",
        ),
        (["--control-host", "nohost.invalid"], "cannot listen on 'nohost.invalid'"),
        (["--journal", "/proc/jzgr/journal.jsonl"], "--journal /proc/jzgr/journal.jsonl: cannot write it"),
        (["--journal", "/proc/jzgr-journal.jsonl"], "--journal /proc/jzgr-journal.jsonl: cannot write it"),
    ],
)
def test_cli_up_refuses_bad_usage_in_one_line(jzgr: Any, tmp_path: Path, args: list[str], says: str) -> None:
    ran = jzgr("devices", "up", "--config", _site_file(tmp_path), "--control-port", "0", "--duration", "5", *args)
    assert ran.code == 2
    assert says in ran.error_line()


def test_cli_output_keeps_brackets_and_whole_ids_when_piped(jzgr: Any, tmp_path: Path) -> None:
    long_id = "dz-in-wucheng-canal-commercial-complex-north-gate-lane-0001"  # 59 of at most 64
    devices = [{"id": long_id, "kind": "fake", "direction": "in", "lane": 1}]
    config = _site_file(tmp_path, site="[workerList][0][idCardNumber] 工地", devices=devices)
    ran = jzgr("devices", "up", "--config", config, "--control-port", "0", "--duration", "0.2")
    assert ran.code == 0, ran.err
    assert "[workerList][0][idCardNumber] 工地  project" in ran.out
    row = next(line for line in ran.out.splitlines() if long_id in line)  # one line, the id whole
    assert "(connects out)" in row or "(set by the vendor)" in row
    assert all(len(line) <= 10_000 for line in ran.out.splitlines())


def test_cli_up_runs_a_site_for_a_duration(tmp_path: Path) -> None:
    from hardware_sim.cli import app

    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(site_data(), allow_unicode=True), encoding="utf-8")
    journal = tmp_path / "journal.jsonl"
    result = CliRunner().invoke(
        app, ["up", "--config", str(config), "--control-port", "0", "--duration", "0.3", "--journal", str(journal)]
    )
    assert result.exit_code == 0, result.output
    assert "control API: http://127.0.0.1:" in result.output and "in-1" in result.output
    kinds_seen = [json.loads(line)["kind"] for line in journal.read_text(encoding="utf-8").splitlines()]
    assert kinds_seen == ["fleet_started", "fleet_stopped"]
    assert CliRunner().invoke(app, ["check", "--config", str(config)]).exit_code == 0


def test_cli_up_with_a_bad_site_prints_the_problem_not_a_traceback(tmp_path: Path) -> None:
    from hardware_sim.cli import app

    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(site_data(devices=[{"id": "a", "kind": "fake", "port": "x"}])), encoding="utf-8")
    result = CliRunner().invoke(app, ["up", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}: devices[0].port:" in result.output
    assert "Traceback" not in result.output


def test_cli_list_keeps_whole_ids_when_piped(jzgr: Any, roster: list[Worker]) -> None:
    long_id = "dz-in-wucheng-canal-commercial-complex-north-gate-lane-0001"
    devices = [{"id": long_id, "kind": "fake", "direction": "in", "lane": 1}]
    background = run_in_thread(fleet_of(roster, site="[workerList][0] 工地", devices=devices))
    try:
        ran = jzgr("devices", "list", "--control", background.url)
    finally:
        background.stop()
    assert ran.code == 0, ran.err
    assert "[workerList][0] 工地 (371402202611240001): 1 devices" in ran.out
    row = next(line for line in ran.out.splitlines() if long_id in line)
    assert "fake" in row and "on" in row and "up" in row
