"""The reference vendor end to end: it enrols the sample roster in the platform's order, issues
it with faces to the four ISAPI gates, and uploads each recognised clock-in exactly once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from fixtures.fake.payloads import team_workers
from hardware_sim.idreader.card import fixture_person
from hardware_sim.idreader.reader import VirtualReader
from platform_client.async_client import AsyncPlatformClient
from simulator import store as sim_store
from simulator.platform import Platform
from standard.envelope import BEIJING
from tests.vendor.conftest import FAST_POLL, enrolled, fleet_and_vendor, running, site_fleet, until, vendor_config
from vendor.service import Vendor, roster
from vendor.store import outbox, stages


def stored_attendance(platform: Platform) -> list[dict[str, Any]]:
    with platform.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(sim_store.attendance)).mappings()]


def methods_sent(platform: Platform) -> list[str]:
    return [e.method for e in platform.traffic.query(newest_first=False, limit=10_000)]


async def test_enrols_issues_and_uploads(platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path) as (fleet, vendor):
        await until(lambda: vendor.store.status()["stages"].get("contracted", {}).get("done") == 20)
        status = vendor.store.status()
        assert status["teams"] == 2 and status["workers"] == 20
        sent = [m for m in methods_sent(platform) if m != "AsyncHandleResult.Query"]
        firsts = {m: sent.index(m) for m in dict.fromkeys(sent)}
        order = [
            "Corp.Upload",
            "ProjectSubContractor.Add",
            "Team.Add",
            "ProjectWorker.Add",
            "WorkerEntryExit.Add",
            "WorkerContract.Add",
        ]
        assert [firsts[m] for m in order] == sorted(firsts[m] for m in order)
        gate = fleet.device("dz-in-1")
        assert len(gate.enrolled) == 20 and all(p.face for p in gate.enrolled.values())
        assert fleet.device("dz-out-2").enrolled.keys() == gate.enrolled.keys()
        # clock-ins: a recognised worker in and out, a stranger, a failed liveness check
        first, second = fleet.roster[0], fleet.roster[1]
        assert fleet.present_worker("dz-in-1", 0, first).kind == "face_pass"
        assert fleet.present_worker("dz-out-1", 1, second).kind == "face_pass"
        fleet.present_stranger("dz-in-2")
        fleet.present_worker("dz-in-2", 0, first, spoof=True)
        rows = await until(lambda: len(stored_attendance(platform)) >= 2 and stored_attendance(platform))
        await until(
            lambda: (
                vendor.store.status()["clockins"].get("stranger", 0)
                + sum(v for k, v in vendor.store.status()["clockins"].items() if k.startswith("not-uploaded"))
                >= 2
            )
        )
        assert sorted((r["id_number"], r["direction"]) for r in rows) == sorted(
            [(first.id_number, "01"), (second.id_number, "02")]
        )
        await until(lambda: vendor.store.status()["backlog"] == 0)
        async with httpx.AsyncClient() as http:
            doc = (await http.get(vendor.config.base_url + "/status")).json()
        assert doc["backlog"] == 0 and doc["failures"] == [] and doc["clockins"]["queued"] == 2
    assert len(stored_attendance(platform)) == 2


async def test_restart_reconciles_uploads_caught_mid_send(platform: Platform, served: Any, tmp_path: Path) -> None:
    """A crash between sending a batch and recording that it was sent: after the restart, the
    clock-ins the platform already has are not sent again, and the others are."""
    async with site_fleet() as fleet:
        config = vendor_config(served, fleet, tmp_path)
        async with running(config) as vendor:
            await enrolled(vendor)
            fleet.present_worker("dz-in-1", 0, fleet.roster[0])
            await until(lambda: stored_attendance(platform))
            await until(lambda: vendor.store.status()["backlog"] == 0)
        # as if the process had died mid-send: one row the platform has, one it never got
        stopped = Vendor(config)
        now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        assert stopped.record("dz-in-2", 99, "face_pass", "1002", now, None, True)
        with stopped.store.tx() as conn:
            conn.execute(update(outbox).where(outbox.c.kind == "attendance").values(state="sending"))
        stopped.close()
        async with running(vendor_config(served, fleet, tmp_path)) as vendor:
            await until(lambda: len(stored_attendance(platform)) == 2)
            await until(lambda: vendor.store.status()["backlog"] == 0)
        rows = stored_attendance(platform)
        assert sorted(r["id_number"] for r in rows) == sorted([fleet.roster[0].id_number, fleet.roster[1].id_number])
        sent = [e for e in platform.traffic.query(method="WorkerAttendance.Add", limit=100)]
        assert len(sent) == 2


async def test_restart_looks_up_entries_caught_mid_send_and_sends_only_the_missing(
    platform: Platform, served: Any, tmp_path: Path
) -> None:
    """A crash while entry records were on their way: no rule refuses an entry sent twice, so
    after the restart the vendor asks the platform. The writes it holds are done (and their
    contracts follow); the one it never stored is sent again — one entry and one contract each."""
    async with site_fleet() as fleet:
        config = vendor_config(served, fleet, tmp_path)
        async with running(config) as vendor:
            await enrolled(vendor)
        with platform.store.engine.begin() as conn:  # the platform never got the first entry write…
            conn.execute(sim_store.contracts.delete())  # …and no contract was sent yet
            lost = [r[0] for r in conn.execute(select(sim_store.entry_exits.c.id_number).limit(1))]
        stopped = Vendor(config)
        with stopped.store.tx() as conn:  # as if the process had died with every entry write in flight
            conn.execute(outbox.delete().where(outbox.c.method == "WorkerContract.Add"))
            conn.execute(update(outbox).where(outbox.c.method == "WorkerEntryExit.Add").values(state="sending"))
            conn.execute(update(stages).where(stages.c.stage.in_(("entered", "contracted"))).values(state="pending"))
            entry_writes = conn.execute(select(outbox).where(outbox.c.method == "WorkerEntryExit.Add")).mappings().all()
        stopped.close()
        batch = next(r["ref"].split(",") for r in entry_writes if lost[0] in r["ref"].split(","))
        with platform.store.engine.begin() as conn:
            conn.execute(sim_store.entry_exits.delete().where(sim_store.entry_exits.c.id_number.in_(batch)))
        sent_before = methods_sent(platform).count("WorkerEntryExit.Add")
        async with running(vendor_config(served, fleet, tmp_path)) as vendor:
            await enrolled(vendor)
            await until(lambda: vendor.store.status()["backlog"] == 0)
        assert methods_sent(platform).count("WorkerEntryExit.Add") == sent_before + 1  # the lost write only
        with platform.store.engine.connect() as conn:
            entries = [r[0] for r in conn.execute(select(sim_store.entry_exits.c.id_number))]
            contracts = [r[0] for r in conn.execute(select(sim_store.contracts.c.id_number))]
        assert len(entries) == len(set(entries)) == 20
        assert len(contracts) == len(set(contracts)) == 20


async def test_enrols_from_the_id_card_reader(platform: Platform, served: Any, tmp_path: Path) -> None:
    """A new worker read from their ID card is created, uploaded through the platform's order
    (worker, entry, contract), issued with the card's photo to the gates, and clocks in."""
    reader = VirtualReader("idr-1", http_port=0, ws_port=None, hx_port=None)
    await reader.start()
    newcomer = fixture_person(3)
    try:
        async with fleet_and_vendor(served, tmp_path) as (fleet, vendor):
            await enrolled(vendor)
            url = vendor.config.base_url + "/enrol/id-card"
            async with httpx.AsyncClient(timeout=20) as http:
                missing = await http.post(url, json={"reader": f"http://127.0.0.1:{reader.http_port}"})
                assert missing.status_code == 400 and "cellPhone" in missing.json()["error"]
                nocard = await http.post(
                    url, json={"reader": f"http://127.0.0.1:{reader.http_port}", "cellPhone": "13900000001"}
                )
                assert nocard.status_code == 409
                reader.place(newcomer)
                made = await http.post(
                    url, json={"reader": f"http://127.0.0.1:{reader.http_port}", "cellPhone": "13900000001"}
                )
            assert made.status_code == 200, made.text
            employee_no = made.json()["employeeNo"]
            await enrolled(vendor, 21)
            with platform.store.engine.connect() as conn:
                numbers = {r[0] for r in conn.execute(select(sim_store.workers.c.id_number))}
            assert newcomer.id_number in numbers
            assert fleet.device("dz-in-1").enrolled[employee_no].face
            assert fleet.present_employee_no("dz-in-1", employee_no).kind == "face_pass"
            rows = await until(lambda: stored_attendance(platform))
            assert rows[0]["id_number"] == newcomer.id_number
    finally:
        await reader.stop()


async def test_takes_over_a_partly_uploaded_site(platform: Platform, served: Any, tmp_path: Path) -> None:
    """Team and two workers already on the platform (sent before a crash, or by another system):
    the team's teamSysNo is read from the refusal, the two count as registered, the rest go up."""
    sim, _ = served
    async with site_fleet() as fleet:
        config = vendor_config(served, fleet, tmp_path, provision=False)
        team = roster(config).projects[0].teams[0]
        t = config.tenant
        async with AsyncPlatformClient(sim.url, t.appid, t.secret, poll=FAST_POLL) as client:
            [made] = await client.upload("Team.Add", team.payload)
            sys_no = int(made.result["teamSysNo"])
            early = {**team_workers(team, roster(config).projects[0]), "teamSysNo": sys_no}
            early["workerList"] = early["workerList"][1:3]  # the second and third of a chunk of five
            await client.upload("ProjectWorker.Add", early)
        async with running(config) as vendor:
            await enrolled(vendor)
            assert {t["team_name"]: t["team_sys_no"] for t in vendor.store.all_teams()}[team.name] == sys_no
            assert vendor.store.status()["failures"] == []
            with vendor.store.engine.connect() as conn:
                notes = [
                    r[0] for r in conn.execute(select(outbox.c.error).where(outbox.c.method == "ProjectWorker.Add"))
                ]
            assert sum(1 for n in notes if n and "已存在" in n) == 1  # the chunk with the two, split
        with platform.store.engine.connect() as conn:
            numbers = [r[0] for r in conn.execute(select(sim_store.workers.c.id_number))]
            entered = {r[0] for r in conn.execute(select(sim_store.entry_exits.c.id_number))}
        assert sorted(numbers) == sorted(w.id_number for w in fleet.roster)
        assert entered == set(numbers)


async def test_retries_rate_limits_resets_and_5xx_with_growing_backoff(
    platform: Platform, served: Any, tmp_path: Path
) -> None:
    async with fleet_and_vendor(served, tmp_path) as (fleet, vendor):
        await enrolled(vendor)
        for kind in ("rate_limit", "reset", "http_error", "rate_limit"):  # the first matching rule fires first
            platform.faults.add({"kind": kind, "method": "WorkerAttendance.Add", "count": 1})
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        await until(lambda: stored_attendance(platform))
        await until(lambda: vendor.store.status()["backlog"] == 0)
        await asyncio.sleep(0.3)
        assert len(stored_attendance(platform)) == 1
        sends = platform.traffic.query(method="WorkerAttendance.Add", newest_first=False, limit=100)
        assert len(sends) >= 4 and sends[-1].code == 0
        gaps = [b.at_s - a.at_s for a, b in itertools.pairwise(sends)]
        assert all(later >= earlier * 0.8 for earlier, later in itertools.pairwise(gaps))  # backoff, no storm


async def test_a_repeated_push_is_acknowledged_and_kept_once(platform: Platform, served: Any, tmp_path: Path) -> None:
    """A gate that missed our 200 sends the event again: acknowledged again, stored and uploaded once;
    a body that is no event gets a 400, not a stack trace."""
    async with fleet_and_vendor(served, tmp_path, provision=False) as (_fleet, vendor):
        await enrolled(vendor)
        now = datetime.now(BEIJING).isoformat(timespec="seconds")
        event = {
            "eventType": "AccessControllerEvent",
            "dateTime": now,
            "AccessControllerEvent": {
                "deviceName": "dz-out-1",
                "majorEventType": 5,
                "subEventType": 75,
                "employeeNoString": "1003",
                "serialNo": 7,
                "currentEvent": True,
            },
        }
        url = vendor.config.base_url + "/isapi/events"
        async with httpx.AsyncClient() as http:
            answers = [await http.post(url, json=event) for _ in range(3)]
            garbage = await http.post(url, content=b"\x00not json", headers={"Content-Type": "application/json"})
        assert [a.status_code for a in answers] == [200, 200, 200] and garbage.status_code == 400
        rows = await until(lambda: stored_attendance(platform))
        await until(lambda: vendor.store.status()["backlog"] == 0)
        assert [(r["direction"], r["moment"]) for r in rows] == [("02", now[:19].replace("T", " "))]
        assert vendor.store.status()["clockins"] == {"queued": 1}


async def test_offline_backlog_is_uploaded_in_order_after_entry(
    platform: Platform, served: Any, tmp_path: Path
) -> None:
    async with fleet_and_vendor(served, tmp_path) as (fleet, vendor):
        await enrolled(vendor)
        team = [i for i, w in enumerate(fleet.roster) if w.team_sys_no == fleet.roster[0].team_sys_no][:4]
        fleet.network_drop("dz-in-2", 600)
        made = []
        for i in team:
            event = fleet.present_worker("dz-in-2", i, fleet.roster[i])
            assert event is not None and not event.current
            made.append((fleet.roster[i].id_number, event.at.strftime("%Y-%m-%d %H:%M:%S")))
            await asyncio.sleep(1.05)  # one clock-in per second: the order shows in the times too
        await asyncio.sleep(0.3)
        assert stored_attendance(platform) == []
        fleet.network_restore("dz-in-2")
        await until(lambda: len(stored_attendance(platform)) == len(team))
        assert [(r["id_number"], r["moment"]) for r in stored_attendance(platform)] == made
        sent = [e.method for e in platform.traffic.query(newest_first=False, limit=10_000)]
        last_entry = max(i for i, m in enumerate(sent) if m == "WorkerEntryExit.Add")
        assert last_entry < sent.index("WorkerAttendance.Add")


async def test_a_gate_ahead_of_the_platform_is_held_briefly_and_resent_until_the_platform_takes_it(
    platform: Platform, served: Any, tmp_path: Path
) -> None:
    """A gate 5 s ahead: the vendor does not hold its clock-in for 5 s by its own clock (which may
    be the wrong one) nor refuses it locally; the platform refuses it as future, and the vendor sends
    it again, spaced out, until the platform's clock passes it — stored once, nothing failed."""
    async with fleet_and_vendor(served, tmp_path) as (fleet, vendor):
        await enrolled(vendor)
        fleet.device("dz-in-1").clock.step(5)  # the gate runs 5 s ahead of the vendor and the platform
        worker = fleet.roster[0]
        event = fleet.present_worker("dz-in-1", 0, worker)
        assert event is not None
        moment = event.at.strftime("%Y-%m-%d %H:%M:%S")
        rows = await until(lambda: stored_attendance(platform), timeout=30)
        assert [(r["id_number"], r["moment"]) for r in rows] == [(worker.id_number, moment)]
        refused = [
            e
            for e in platform.traffic.query(newest_first=False, limit=10_000)
            if e.method == "WorkerAttendance.Add" and e.code == -1
        ]
        assert refused and all("不能大于当前时间" in (e.message or "") for e in refused)
        await until(lambda: vendor.store.status()["backlog"] == 0)
        assert vendor.store.status()["failures"] == []
        with vendor.store.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.kind == "attendance")).mappings().one()
        assert row["state"] == "done" and row["attempts"] == len(refused) + 1
