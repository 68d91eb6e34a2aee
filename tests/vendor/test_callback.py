"""The vendor and a Uniubi callback terminal: the vendor sets the terminal's recognition callback
and creates the workers with faces over its local API; recognitions come back as attendance."""

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


async def test_uniubi_terminal_gets_the_roster_and_its_recognitions_are_uploaded(
    platform: Platform, served: Any, tmp_path: Path
) -> None:
    sim, creds = served
    sample = site_mod.load(site_mod.sample("dezhou-4-gates"))
    site = site_mod.parse(
        {
            "site": sample.site,
            "project_code": sample.project_code,
            "roster": sample.roster.model_dump(mode="json", exclude_none=True) if sample.roster else None,
            "devices": [
                {
                    "id": "uface-in-1",
                    "kind": "callback",
                    "direction": "in",
                    "port": server.free_port(),
                    "retry_delay": 0.2,
                    "options": {"template": "uniubi-wo"},
                },
            ],
        }
    )
    async with Fleet(site) as fleet:
        config = Config(
            sim.url,
            load_tenant(creds, site.project_code),
            site,
            db=f"sqlite:///{tmp_path / 'vendor.db'}",
            listen=("127.0.0.1", 0),
            retry=FAST_RETRY,
            poll=FAST_POLL,
        )
        async with running(config) as vendor:
            await enrolled(vendor)
            uface = fleet.device("uface-in-1")
            assert len(uface.enrolled) == 20 and all(p.face for p in uface.enrolled.values())
            worker = fleet.roster[7]
            event = fleet.present_worker("uface-in-1", 7, worker)
            assert event is not None and event.kind == "face_pass"
            fleet.present_stranger("uface-in-1")

            def rows() -> list[Any]:
                with platform.store.engine.connect() as conn:
                    return list(conn.execute(select(sim_store.attendance)).mappings())

            stored = await until(rows)
            await until(lambda: sum(vendor.store.status()["clockins"].values()) == 2)
            assert [(r["id_number"], r["direction"], r["moment"]) for r in stored] == [
                (worker.id_number, "01", event.at.strftime("%Y-%m-%d %H:%M:%S"))
            ]
            assert vendor.store.status()["clockins"] == {"queued": 1, "stranger": 1}
