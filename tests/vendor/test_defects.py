"""Each defect switch of the reference vendor, seen where the harness will look for it: the
simulator's inspection log and its stored records. Every scenario runs twice: with the switch on
the defect shows; with no switch the same scenario is clean."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from simulator import store as sim_store
from simulator.platform import Platform
from simulator.traffic import Entry
from tests.vendor.conftest import enrolled, fleet_and_vendor, running, site_fleet, until, vendor_config
from vendor.defects import DEFECTS
from vendor.service import Vendor

pytestmark = pytest.mark.parametrize("on", [True, False], ids=["defect", "clean"])


def traffic(platform: Platform, method: str | None = None) -> list[Entry]:
    return platform.traffic.query(method=method, newest_first=False, limit=10_000)


def stored(platform: Platform) -> list[dict[str, Any]]:
    with platform.store.engine.connect() as conn:
        query = select(sim_store.attendance).order_by(sim_store.attendance.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def sent_list(entry: Entry, field: str) -> list[Any]:
    data = json.loads(entry.form.get("data") or "{}")
    return list(data.get(field) or [])


async def settled(vendor: Vendor) -> None:
    """Until nothing is left to send or poll."""
    await until(lambda: vendor.store.status()["backlog"] == 0)


def defects_if(on: bool, *names: str) -> tuple[str, ...]:
    assert all(n in DEFECTS for n in names)
    return names if on else ()


async def test_forgets_to_encrypt_id(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "forgets-to-encrypt-id"), provision=False) as (
        fleet,
        _vendor,
    ):
        numbers = {w.id_number for w in fleet.roster}
        await until(lambda: traffic(platform, "ProjectWorker.Add"))
        plain = [e for e in traffic(platform) if any(n in e.form.get("data", "") for n in numbers)]
        assert bool(plain) is on


async def test_signs_url_encoded(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "signs-url-encoded"), provision=False):
        await until(lambda: traffic(platform, "Corp.Upload"))
        await asyncio.sleep(0.3)
        refused = [e for e in traffic(platform) if e.code == -2]
        assert bool(refused) is on


async def test_no_async_poll(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "no-async-poll"), provision=False) as (_, vendor):
        await enrolled(vendor)
        team_serials = {e.serial for e in traffic(platform, "Team.Add")}
        polled = {e.serial for e in traffic(platform, "AsyncHandleResult.Query")} - team_serials
        assert bool(polled) is not on


async def test_duplicate_after_retry(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "duplicate-after-retry")) as (fleet, vendor):
        await enrolled(vendor)
        platform.faults.add({"kind": "http_error", "method": "WorkerAttendance.Add", "count": 1})
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        await until(lambda: stored(platform))
        await settled(vendor)
        await asyncio.sleep(0.3)
        assert len(traffic(platform, "WorkerAttendance.Add")) >= 2  # the 503, then the retry
        assert len(stored(platform)) == (2 if on else 1)


async def test_drop_on_5xx(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "drop-on-5xx")) as (fleet, vendor):
        await enrolled(vendor)
        platform.faults.add({"kind": "http_error", "method": "WorkerAttendance.Add", "count": 2})
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        await until(lambda: vendor.store.status()["clockins"].get("queued"))
        await settled(vendor)
        assert len(stored(platform)) == (0 if on else 1)
        if not on:  # retried with backoff: three sends, spaced out
            sends = traffic(platform, "WorkerAttendance.Add")
            assert [e.http_status for e in sends] == [503, 503, 200]
            gaps = [b.at_s - a.at_s for a, b in itertools.pairwise(sends)]
            assert all(g > 0.02 for g in gaps)


async def test_retry_refusals_forever(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    defects = defects_if(on, "retry-refusals-forever")
    async with fleet_and_vendor(served, tmp_path, *defects, refusal_retry_cap=5) as (fleet, vendor):
        await enrolled(vendor)
        tenant = platform.tenants.get(vendor.config.tenant.appid)
        assert tenant is not None
        platform.tenants.put(dataclasses.replace(tenant, appsecret="0" * 32))  # every signature is now wrong
        platform.tenants._cache.clear()
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        await until(lambda: vendor.store.status()["failures"])
        refused = [e for e in traffic(platform, "WorkerAttendance.Add") if e.code == -2]
        assert len(refused) == (5 if on else 1)
        assert "-2" in vendor.store.status()["failures"][0]["error"]


async def test_upload_strangers(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "upload-strangers")) as (fleet, vendor):
        await enrolled(vendor)
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        await until(lambda: stored(platform))
        fleet.present_stranger("dz-in-1")
        fleet.present_worker("dz-in-1", 1, fleet.roster[1], spoof=True)
        await until(lambda: sum(vendor.store.status()["clockins"].values()) == 3)
        await settled(vendor)
        assert len(stored(platform)) == (3 if on else 1)


async def test_oversize_datalist(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "oversize-datalist")) as (fleet, vendor):
        await enrolled(vendor)
        team = [i for i, w in enumerate(fleet.roster) if w.team_sys_no == fleet.roster[0].team_sys_no]
        # the platform is slow for a moment: clock-ins pile up behind the first upload
        platform.faults.add({"kind": "latency", "method": "WorkerAttendance.Add", "count": 1, "latency_ms": 1500})
        for round_ in range(3):
            for i in team:
                fleet.present_worker("dz-in-1" if round_ % 2 == 0 else "dz-out-1", i, fleet.roster[i])
        total = 3 * len(team)
        await until(lambda: vendor.store.status()["clockins"].get("queued") == total)
        await settled(vendor)
        sizes = [len(sent_list(e, "dataList")) for e in traffic(platform, "WorkerAttendance.Add")]
        assert (max(sizes) > 20) is on
        if not on:
            assert len(stored(platform)) == total


async def test_late_upload(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "late-upload"), late_upload_s=3.0) as (
        fleet,
        vendor,
    ):
        await enrolled(vendor)
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        rows = await until(lambda: stored(platform), timeout=30)
        late = rows[0]["received_s"] - rows[0]["at_s"]
        assert (late >= 3) is on and (late <= 1 or on)


async def test_swap_direction(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "swap-direction")) as (fleet, vendor):
        await enrolled(vendor)
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        fleet.present_worker("dz-out-2", 1, fleet.roster[1])
        rows = await until(lambda: len(stored(platform)) == 2 and stored(platform))
        by_worker = {r["id_number"]: r["direction"] for r in rows}
        expected = {fleet.roster[0].id_number: "01", fleet.roster[1].id_number: "02"}
        swapped = {k: {"01": "02", "02": "01"}[v] for k, v in expected.items()}
        assert by_worker == (swapped if on else expected)


async def test_skip_entry(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    async with fleet_and_vendor(served, tmp_path, *defects_if(on, "skip-entry")) as (fleet, vendor):
        await enrolled(vendor)
        fleet.present_worker("dz-in-1", 0, fleet.roster[0])
        await until(lambda: vendor.store.status()["clockins"].get("queued"))
        await settled(vendor)
        assert bool(traffic(platform, "WorkerEntryExit.Add")) is not on
        # the platform refuses attendance without entry (async status 10): surfaced, not hidden
        assert len(stored(platform)) == (0 if on else 1)
        assert bool(vendor.store.status()["failures"]) is on


async def test_volatile_outbox(on: bool, platform: Platform, served: Any, tmp_path: Path) -> None:
    """A clock-in acknowledged while the platform is down survives a restart — unless the
    outbox lives in memory."""
    defects = defects_if(on, "volatile-outbox")
    async with site_fleet() as fleet:
        config = vendor_config(served, fleet, tmp_path, *defects)
        async with running(config) as vendor:
            await enrolled(vendor)
            platform.faults.add({"kind": "http_error", "method": "WorkerAttendance.Add"})
            fleet.present_worker("dz-in-1", 0, fleet.roster[0])
            await until(lambda: vendor.store.status()["clockins"].get("queued"))
        platform.faults.remove()
        async with running(vendor_config(served, fleet, tmp_path, *defects)) as vendor:
            await asyncio.sleep(0.5)
            await settled(vendor)
            assert len(stored(platform)) == (0 if on else 1)
