"""The vendor as the iclock server of a ZKTeco terminal: the handshake, the roster and faces
issued as commands, and ATTLOG lines turned into attendance at the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from hardware_sim import site as site_mod
from hardware_sim.fleet import Fleet
from simulator import server
from simulator import store as sim_store
from simulator.platform import Platform
from tests.vendor.conftest import FAST_POLL, FAST_RETRY, enrolled, until
from vendor.runner import running
from vendor.service import Config, load_tenant


async def test_iclock_terminal_gets_the_roster_and_its_punches_are_uploaded(
    platform: Platform, served: Any, tmp_path: Path
) -> None:
    sim, creds = served
    port = server.free_port()
    sample = site_mod.load(site_mod.sample("dezhou-4-gates"))
    site = site_mod.parse(
        {
            "site": sample.site,
            "project_code": sample.project_code,
            "vendor": {"iclock": f"http://127.0.0.1:{port}"},
            "roster": sample.roster.model_dump(mode="json", exclude_none=True) if sample.roster else None,
            "devices": [
                {"id": "zk-out-1", "kind": "iclock", "direction": "out", "options": {"time_scale": 0.02}},
            ],
        }
    )
    config = Config(
        sim.url,
        load_tenant(creds, site.project_code),
        site,
        db=f"sqlite:///{tmp_path / 'vendor.db'}",
        listen=("127.0.0.1", port),
        retry=FAST_RETRY,
        poll=FAST_POLL,
    )
    async with running(config) as vendor, Fleet(site) as fleet:
        await enrolled(vendor)
        zk = fleet.device("zk-out-1")
        await until(lambda: len(zk.enrolled) == 20 and all(p.face for p in zk.enrolled.values()))
        worker = fleet.roster[4]
        assert zk.enrolled["1005"].name == worker.person.name  # GB18030 on the wire, as the device expects
        event = fleet.present_worker("zk-out-1", 4, worker)
        assert event is not None and event.kind == "face_pass"
        fleet.present_stranger("zk-out-1")

        def rows() -> list[Any]:
            with platform.store.engine.connect() as conn:
                return list(conn.execute(select(sim_store.attendance)).mappings())

        stored = await until(rows)
        assert [(r["id_number"], r["direction"], r["moment"]) for r in stored] == [
            (worker.id_number, "02", event.at.strftime("%Y-%m-%d %H:%M:%S"))
        ]
