"""The vendor's durability: ``jzgr vendor serve`` as a process of its own takes a stream of
clock-ins from the sample site's ISAPI gates, is SIGKILLed mid-stream and restarted on the same
database; at the simulator every clock-in a gate saw acknowledged is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from hardware_sim.fleet import Fleet
from simulator import server
from simulator import store as sim_store
from simulator.platform import Platform
from tests.vendor.conftest import _with_urls, sample_site, until

JZGR = str(Path(sys.executable).with_name("jzgr"))


def start_vendor(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([JZGR, "vendor", "serve", *args], stdout=out, stderr=subprocess.STDOUT)


async def vendor_status(url: str) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            doc: dict[str, Any] = (await http.get(url + "/status")).json()
            return doc
    except httpx.HTTPError:
        return None


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    db: str, platform: Platform, served: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sim, creds = served
    db_url = f"sqlite:///{tmp_path / 'vendor.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    site = sample_site(receiver="http://127.0.0.1:9/isapi/events")
    site = site.model_copy(update={"devices": [d.model_copy(update={"retry_delay": 0.2}) for d in site.devices]})
    fleet = Fleet(site)
    await fleet.start()
    port = server.free_port()
    vendor_url = f"http://127.0.0.1:{port}"
    site_file = tmp_path / "site.yaml"
    site_file.write_text(yaml.safe_dump(_with_urls(fleet.site, fleet).model_dump(mode="json", exclude_none=True)))
    args = ["--platform", sim.url, "--credentials", str(creds), "--devices", str(site_file), "--db", db_url]
    args += ["--listen", f"127.0.0.1:{port}"]
    log = tmp_path / "vendor.log"
    vendor = start_vendor(args, log)
    presented: list[tuple[str, str, str]] = []  # (device, serial, id number) of every clock-in made
    try:

        async def enrolled() -> bool:
            doc = await vendor_status(vendor_url)
            return bool(doc and doc["stages"].get("contracted", {}).get("done") == 20)

        await until_async(enrolled, 90)
        await until_async(lambda: _all_issued(fleet), 30)
        gates = ["dz-in-1", "dz-out-1", "dz-in-2", "dz-out-2"]
        for n in range(120):
            i = n % 20
            gate = gates[(n // 20) % 4]
            event = fleet.present_worker(gate, i, fleet.roster[i])
            assert event is not None and event.kind == "face_pass"
            presented.append((gate, str(event.serial_no), fleet.roster[i].id_number))
            if n == 50:
                vendor.send_signal(signal.SIGKILL)  # mid-stream: events in flight, uploads in flight
                vendor.wait(10)
            if n == 80:
                vendor = start_vendor(args, log)  # the same database
            await asyncio.sleep(0.05)
        acknowledged = {
            (e["device"], str(e["serial_no"])) for e in fleet.journal.entries(kind="push") if e["status"] == 200
        }

        async def drained() -> bool:
            doc = await vendor_status(vendor_url)
            delivered = {
                (e["device"], str(e["serial_no"])) for e in fleet.journal.entries(kind="push") if e["status"] == 200
            }
            return bool(doc and doc["backlog"] == 0 and len(delivered) == len(presented))

        await until_async(drained, 90)
        with platform.store.engine.connect() as conn:
            a = sim_store.attendance.c
            rows = conn.execute(select(a.id_number, a.moment, a.direction)).all()
        uploaded = Counter(tuple(r) for r in rows)
        assert len(acknowledged) > 0
        refused = [e for e in fleet.journal.entries(kind="push") if e["status"] != 200]
        assert refused, "the gates never saw the vendor down: the kill was not mid-stream"
        assert max(uploaded.values()) == 1, "a clock-in was uploaded twice"
        assert len(rows) == len(presented), "a clock-in was lost"
        per_worker = Counter(r[0] for r in rows)
        assert per_worker == Counter(number for _, _, number in presented)
        doc = await vendor_status(vendor_url)
        assert doc is not None and doc["failures"] == [] and doc["clockins"]["queued"] == len(presented)
    finally:
        if vendor.poll() is None:
            vendor.send_signal(signal.SIGTERM)
            try:
                vendor.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(vendor.pid, signal.SIGKILL)
        await fleet.stop()
        print(log.read_text(errors="replace")[-3000:])


def _all_issued(fleet: Fleet) -> bool:
    return all(len(fleet.device(g).enrolled) == 20 for g in ("dz-in-1", "dz-out-1", "dz-in-2", "dz-out-2"))


async def until_async(condition: Any, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.1)


__all__ = ["until"]
