"""Fixtures: the simulator on SQLite (a file) and on PostgreSQL (127.0.0.1:5432), each test with
a fresh database, served on real sockets where the product uses them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from conformance.target import Tenant as PlanTenant
from simulator import server
from simulator.clock import Clock
from simulator.config import Settings
from simulator.platform import Platform
from simulator.seed import seed_demo
from simulator.store import Store
from simulator.tenants import Tenant

PG_ADMIN = os.environ.get("JZGR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def _database() -> Iterator[str]:
    """A PostgreSQL database of its own (its URL), dropped afterwards."""
    name = f"jzgr_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with _database() as url:
        yield url


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    """A database of its own, with no schema."""
    with _database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sim.db'}"
    url: str = request.getfixturevalue("pg_database")
    with psycopg.connect(url, autocommit=True) as conn:  # a clean schema per test
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def platform(db_url: str, clock: Clock) -> Iterator[Platform]:
    store = Store.open(db_url)
    yield Platform(store, Settings(async_delay=0.0), clock)
    store.close()


@pytest.fixture
def tenants(platform: Platform) -> list[Tenant]:
    return seed_demo(platform)


@pytest.fixture
def served(platform: Platform, tenants: list[Tenant]) -> Iterator[server.RunningServer]:
    """Served as ``jzgr sim serve`` serves it (granian)."""
    running = server.start(platform)
    yield running
    running.stop()


@pytest.fixture(params=server.SERVER_KINDS)
def served_by_each(
    request: pytest.FixtureRequest, platform: Platform, tenants: list[Tenant]
) -> Iterator[server.RunningServer]:
    """Served by each HTTP server ``jzgr sim serve --server`` offers, for the tests that keep
    them equal (an upload flow, oversize bodies, transport faults, the client's address)."""
    running = server.start(platform, kind=request.param)
    yield running
    running.stop()


def plan_tenant(t: Tenant) -> PlanTenant:
    return PlanTenant(t.appid, t.appsecret, t.mode, t.projectCode, t.corpCode, t.corpName, t.corpKey)
