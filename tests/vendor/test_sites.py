"""One reference vendor serving two sites (projects) on one port: each gate's events go to the
site that owns the gate, each site its own database and tenant; a gate no site owns is refused;
``/status`` adds the sites up and ``/people`` says whom each site's gates hold."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from fixtures.fake import dataset
from hardware_sim import site as site_mod
from simulator import server
from standard.envelope import BEIJING
from vendor.runner import hosting
from vendor.service import Config, load_tenant
from vendor.store import clockins

from .conftest import FAST_POLL, FAST_RETRY


def _site(code: str, device: str) -> site_mod.Site:
    return site_mod.Site.model_validate(
        {"site": f"site {code}", "project_code": code, "devices": [{"id": device, "kind": "isapi", "direction": "in"}]}
    )


def _event(device: str, serial: int, employee: str) -> dict[str, object]:
    at = datetime.now(BEIJING).replace(microsecond=0).isoformat()
    return {
        "ipAddress": "127.0.0.1",
        "eventType": "AccessControllerEvent",
        "dateTime": at,
        "AccessControllerEvent": {
            "deviceName": device,
            "majorEventType": 5,
            "subEventType": 75,
            "employeeNoString": employee,
            "serialNo": serial,
            "currentEvent": True,
        },
    }


async def test_two_sites_on_one_port_each_keep_their_own_gates_events(
    served: tuple[server.RunningServer, Path], tmp_path: Path
) -> None:
    sim, creds = served
    # the demo tenants' two projects (seed_demo): one worker each
    people = dataset.generate(2018, 2, today=dataset.DEMO_DAY, project_count=2)
    folder = tmp_path / "people"
    dataset.write(people, folder)
    configs = [
        Config(
            sim.url,
            load_tenant(creds, p.code),
            _site(p.code, f"gate-{i}"),
            db=f"sqlite:///{tmp_path / f'vendor-{p.code}.db'}",
            listen=("127.0.0.1", 0),
            dataset=folder,
            retry=FAST_RETRY,
            poll=FAST_POLL,
            provision=False,
        )
        for i, p in enumerate(people.projects)
    ]
    async with hosting(configs) as listener, httpx.AsyncClient(base_url=configs[0].base_url) as http:
        assert configs[0].base_url == configs[1].base_url  # one port
        held = (await http.get("/people")).json()["sites"]
        assert [s["project"] for s in held] == [p.code for p in people.projects]
        assert [s["devices"] for s in held] == [["gate-0"], ["gate-1"]]
        first = {s["project"]: s["people"][0] for s in held}
        for serial, (i, p) in enumerate(enumerate(people.projects), start=7):
            employee = first[p.code]["employeeNo"]
            answer = await http.post("/isapi/events", json=_event(f"gate-{i}", serial, employee))
            assert answer.status_code == 200, answer.text
        stray = await http.post("/isapi/events", json=_event("gate-nobody", 9, "1001"))
        assert stray.status_code == 403 and "gate-nobody" in stray.text
        for i, (vendor, p) in enumerate(zip(listener.vendors, people.projects, strict=True)):
            with vendor.store.engine.connect() as conn:
                rows = conn.execute(select(clockins.c.device_id, clockins.c.id_number, clockins.c.outcome)).all()
            assert [tuple(r) for r in rows] == [(f"gate-{i}", first[p.code]["idCardNumber"], "queued")]
        status = (await http.get("/status")).json()
        assert [s["project"] for s in status["sites"]] == [p.code for p in people.projects]
        assert status["workers"] == 2 and status["clockins"] == {"queued": 2}


def test_two_sites_need_a_database_each_and_a_project_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jzgr.cli import main

    people = dataset.generate(2018, 2, today=dataset.DEMO_DAY, project_count=2)
    tenants = [{"appid": p.code, "appsecret": "s" * 32, "projectCode": p.code} for p in people.projects]
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"url": "http://127.0.0.1:9/open.api", "tenants": tenants}))
    files = []
    for i, p in enumerate(people.projects):
        path = tmp_path / f"site-{i}.yaml"
        path.write_text(
            json.dumps({"site": "s", "project_code": p.code, "devices": [{"id": f"g{i}", "kind": "isapi"}]})
        )
        files.append(str(path))
    base = ["vendor", "serve", "--platform", "http://127.0.0.1:9/open.api", "--credentials", str(creds)]
    for devices, db, says in (
        ([files[0], files[1]], "sqlite:///v.db", "{project}"),
        ([files[0], files[0]], "sqlite:///v-{project}.db", "served twice"),
    ):
        with pytest.raises(SystemExit) as done:
            main([*base, *(a for f in devices for a in ("--devices", f)), "--db", db])
        assert done.value.code == 2 and says in capsys.readouterr().err
