"""The construction contract of device kinds: ``kinds.KINDS`` is the one map from a site-file kind to
its class, every class builds itself from a site entry and the shared settings, and every kind takes
every physical action the control API offers or refuses it with a clear 422 (real sockets)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fixtures.fake.dataset import generate
from hardware_sim import kinds
from hardware_sim import site as site_mod
from hardware_sim.control import run_in_thread
from hardware_sim.device import PHYSICAL_ACTIONS, Device, DeviceSettings
from hardware_sim.fleet import Fleet, FleetError
from hardware_sim.idreader.reader import VirtualReader
from hardware_sim.isapi.device import IsapiDevice

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, pushes fail and stay buffered


def site(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "site": "德城区测试工地",
        "project_code": "371402202611240001",
        "vendor": {"receiver": f"{UNREACHABLE}/events", "iclock": UNREACHABLE},
        "roster": {"generate": {"seed": 11, "workers": 6}, "preload": True},
        "devices": [
            {"id": "gate", "kind": "isapi", "retry_delay": 5},
            {"id": "zk", "kind": "iclock", "retry_delay": 5},
            {"id": "wo", "kind": "callback", "options": {"template": "uniubi-wo"}, "retry_delay": 5},
            {"id": "reader", "kind": "idreader", "options": {"ws_port": None}},
        ],
    }
    data.update(over)
    return data


def test_every_kind_resolves_to_a_device_class_that_builds_from_its_site_entry() -> None:
    fleet = Fleet(site_mod.parse(site()), roster=generate(11, 6).workers)
    for kind in kinds.KINDS:
        cls = kinds.resolve(kind)
        assert issubclass(cls, Device) and cls.kind == kind
    built = {m.config.kind: m.device for m in fleet.members.values()}
    assert sorted(built) == sorted(kinds.KINDS)
    for device in built.values():  # the shared settings reach every kind
        assert device.journal is fleet.journal
    assert built["iclock"].batch_size == 62 and built["isapi"].batch_size == 1  # a kind's own default
    gate = built["isapi"]
    assert isinstance(gate, IsapiDevice) and gate.http_hosts["1"].port_no == 9  # the site's receiver, preset
    reader = built["idreader"]
    assert isinstance(reader, VirtualReader) and reader.host == "127.0.0.1"


def test_site_settings_are_refused_as_options_by_their_one_list() -> None:
    for name in DeviceSettings.names():
        bad = site(devices=[{"id": "g", "kind": "isapi", "options": {name: 1}}])
        with pytest.raises(site_mod.SiteError, match=f"{name} .*are device settings"):
            site_mod.parse(bad)


def test_a_kind_that_needs_the_vendor_says_where_to_set_it() -> None:
    data = site(vendor={"receiver": f"{UNREACHABLE}/events"}, devices=[{"id": "zk", "kind": "iclock"}])
    with pytest.raises(FleetError, match=r"device zk \(iclock\): needs the vendor's URL: set vendor.iclock"):
        Fleet(site_mod.parse(data), roster=[])


@pytest.fixture(scope="module")
def control() -> Iterator[str]:
    fleet = Fleet(site_mod.parse(site()), roster=generate(11, 6).workers)
    background = run_in_thread(fleet)
    try:
        yield background.url
    finally:
        background.stop()


BODIES: dict[str, dict[str, Any]] = {
    "present_face": {"worker_index": 0},
    "swipe_card": {"worker_index": 1},
    "read_id_card": {"worker_index": 2},
    "duplicate": {},
    "clock": {"step_seconds": 1},
    "network_drop": {"seconds": 60},
    "network_restore": {},
    "power_off": {},
    "power_on": {},
}


@pytest.mark.parametrize("device_id", ["gate", "zk", "wo", "reader"])
def test_every_kind_takes_every_physical_action_or_refuses_it_clearly(control: str, device_id: str) -> None:
    assert set(BODIES) == set(PHYSICAL_ACTIONS)
    with httpx.Client(base_url=control, timeout=10) as http:
        kind = http.get(f"/devices/{device_id}").json()["kind"]
        refuses = kinds.resolve(kind).refuses
        for action in PHYSICAL_ACTIONS:  # in this order: the last presentation is there to duplicate
            path = f"/devices/{device_id}/{action.replace('_', '-')}"
            r = http.post(path, json=BODIES[action])
            if action in refuses:
                assert r.status_code == 422, (action, r.text)
                assert r.json() == {"error": r.json()["error"], "kind": kind, "action": action}
                assert f"a {kind} device cannot {action.replace('_', ' ')}: " in r.json()["error"]
            else:
                assert r.status_code == 200, (action, r.text)
        entries = http.get("/journal.jsonl", params={"device": device_id, "kind": "action"}).text
        journaled = {line.split('"action": "')[1].split('"')[0] for line in entries.splitlines() if line}
        assert journaled == set(PHYSICAL_ACTIONS) - set(refuses)  # a refused action leaves no trace as done


def test_an_id_card_on_a_gate_and_on_the_reader(control: str) -> None:
    with httpx.Client(base_url=control, timeout=10) as http:
        worker = http.get("/roster").json()["workers"][3]
        r = http.post("/devices/zk/read-id-card", json={"id_number": worker["id_number"]})
        assert r.status_code == 200, r.text
        assert r.json()["event"]["event"] == "id_card" and r.json()["event"]["employee_no"] == worker["id_number"]
        r = http.post("/devices/reader/read-id-card", json={"worker_index": 3})
        assert r.status_code == 200 and r.json()["event"] is None  # a reader answers reads; it pushes nothing
        card = r.json()["device"]["card"]
        assert card["id_number"] == worker["id_number"] and card["name"] == worker["name"]
        read = httpx.post(r.json()["device"]["urls"]["readCard"], timeout=10)
        assert worker["id_number"] in read.text
        r = http.post("/devices/reader/read-id-card", json={"worker_index": 3, "id_number": "x"})
        assert r.status_code == 422 and "exactly one of worker_index, id_number" in r.json()["error"]


def test_the_isapi_modules_import_in_any_order_without_a_cycle() -> None:
    for first in ("hardware_sim.isapi.app", "hardware_sim.isapi.server", "hardware_sim.isapi.device"):
        code = f"import {first}; from hardware_sim.isapi.http import ROUTES; print(len(ROUTES.exact))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) > 30
