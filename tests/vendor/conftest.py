"""The reference vendor against a served simulator (granian, a thread) and the sample Dezhou
site's ISAPI gates on free ports, all over real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hardware_sim import site as site_mod
from hardware_sim.fleet import Fleet
from platform_client.policy import PollPolicy, RetryPolicy
from simulator import server
from simulator.clock import Clock
from simulator.config import Settings
from simulator.platform import Platform
from simulator.seed import credentials, seed_demo
from simulator.store import Store as SimStore
from vendor.runner import running
from vendor.service import Config, Vendor, load_tenant

PG_ADMIN = os.environ.get("JZGR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of its own for the vendor, dropped afterwards."""
    name = f"jzgr_vendor_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    store = SimStore.open(f"sqlite:///{tmp_path / 'sim.db'}")
    sim = Platform(store, Settings(async_delay=0.0), Clock())
    yield sim
    store.close()


@pytest.fixture
def served(platform: Platform, tmp_path: Path) -> Iterator[tuple[server.RunningServer, Path]]:
    """The simulator serving, and the credentials file ``jzgr sim serve --credentials-out`` writes."""
    tenants = seed_demo(platform)
    running_server = server.start(platform)
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(credentials(running_server.url, tenants)), encoding="utf-8")
    yield running_server, creds
    running_server.stop()


def sample_site(**vendor: str) -> site_mod.Site:
    """The sample site with its gates on free ports."""
    sample = site_mod.load(site_mod.sample("dezhou-4-gates"))
    return sample.model_copy(
        update={
            "vendor": sample.vendor.model_copy(update=vendor),
            "devices": [spec.model_copy(update={"port": 0}) for spec in sample.devices],
        }
    )


FAST_POLL = PollPolicy(first_delay=0.05, factor=1.5, max_interval=0.5, deadline=30)
FAST_RETRY = RetryPolicy(deadline=5.0, initial=0.05, max_delay=0.5)


@asynccontextmanager
async def site_fleet() -> AsyncIterator[Fleet]:
    """The sample site's four gates on free ports, pushing nowhere until the vendor says where."""
    fleet = Fleet(sample_site(receiver="http://127.0.0.1:9/isapi/events"))
    await fleet.start()
    try:
        yield fleet
    finally:
        await fleet.stop()


def vendor_config(
    served: tuple[server.RunningServer, Path], fleet: Fleet, tmp_path: Path, *defects: str, **options: Any
) -> Config:
    sim, creds = served
    site = _with_urls(fleet.site, fleet)
    return Config(
        sim.url,
        load_tenant(creds, site.project_code),
        site,
        db=options.pop("db", f"sqlite:///{tmp_path / 'vendor.db'}"),
        listen=("127.0.0.1", 0),
        defects=frozenset(defects),
        retry=options.pop("retry", FAST_RETRY),
        poll=options.pop("poll", FAST_POLL),
        **options,
    )


@asynccontextmanager
async def fleet_and_vendor(
    served: tuple[server.RunningServer, Path], tmp_path: Path, *defects: str, **options: Any
) -> AsyncIterator[tuple[Fleet, Vendor]]:
    """The site's gates and the vendor pointed at them (the vendor configures their push host)."""
    async with site_fleet() as fleet, running(vendor_config(served, fleet, tmp_path, *defects, **options)) as vendor:
        yield fleet, vendor


def _with_urls(site: site_mod.Site, fleet: Fleet) -> site_mod.Site:
    """The site as the vendor configures it: one entry per gate, at the port it bound."""
    specs = []
    for row in fleet.status():
        config = fleet.member(row["id"]).config
        port = int(str(row["url"]).rsplit(":", 1)[1]) if row.get("url") else None
        specs.append(
            site_mod.DeviceSpec(
                id=config.id,
                kind=config.kind,
                direction=config.direction,
                host=config.host,
                port=port,
                options=config.options,
            )
        )
    return site.model_copy(update={"devices": specs})


async def until(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def enrolled(vendor: Vendor, workers: int = 20) -> None:
    """Until every worker's contract is uploaded (the last enrolment stage)."""
    await until(lambda: vendor.store.status()["stages"].get("contracted", {}).get("done") == workers, timeout=60)
