"""``jzgr sim serve --workers 2`` on PostgreSQL: two processes behind one port share the nonce
memory, the rate counters and the sequences through the database (issue 3)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from fixtures.fake import dataset
from platform_client import PlatformClient, PollPolicy
from simulator.server import free_port
from standard import envelope


def _jzgr(*args: str) -> list[str]:
    return [sys.executable, "-c", "from jzgr.cli import main; main()", *args]


@pytest.fixture(scope="module")
def two_workers(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp_path = tmp_path_factory.mktemp("workers")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    # a rate-limited tenant next to the demo ones
    subprocess.run(
        _jzgr("sim", "tenant", "add", "37140220261130077", "--db", pg_database, "--rate-limit", "20"),
        check=True,
        capture_output=True,
    )
    port, creds = free_port(), tmp_path / "creds.json"
    proc = subprocess.Popen(
        _jzgr(
            "sim",
            "serve",
            "--port",
            str(port),
            "--db",
            pg_database,
            "--workers",
            "2",
            "--async-delay",
            "0",
            "--seed-demo",
            "--credentials-out",
            str(creds),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    pids: set[int] = set()
    while time.monotonic() < deadline and len(pids) < 2:
        try:
            pids.add(httpx.get(base + "/healthz", timeout=0.5).json()["pid"])
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        assert len(pids) == 2, f"expected two worker processes answering, saw {pids}"
        yield base + "/open.api", json.loads(creds.read_text())["tenants"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _post_many(url: str, forms: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each on its own connection, concurrently: the kernel spreads them over both workers."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda f: httpx.post(url, data=f, timeout=10).json(), forms))


def test_replay_is_refused_whichever_worker_gets_it(two_workers: Any) -> None:
    url, tenants = two_workers
    t = tenants[0]
    form = envelope.build_request(
        "Team.Query",
        {"pageIndex": 0, "pageSize": 1, "projectCode": t["projectCode"]},
        appid=t["appid"],
        secret=t["appsecret"],
    )
    codes = [a["code"] for a in _post_many(url, [form] * 12)]
    assert codes.count(0) == 1 and codes.count(-1) == 11


def test_sequences_stay_unique_across_workers(two_workers: Any) -> None:
    url, tenants = two_workers
    t = tenants[0]
    site = dataset.generate(11, 2)
    project = site.projects[0]
    employer = project.subcontractors[0]
    with PlatformClient(url, t["appid"], t["appsecret"]) as api:
        api.write("ProjectSubContractor.Add", {**employer, "projectCode": t["projectCode"]})
    forms = []
    for i in range(40):
        data = {
            "projectCode": t["projectCode"],
            "corpCode": employer["corpCode"],
            "corpName": employer["corpName"],
            "teamName": f"钢筋{i:02d}班",
        }
        forms.append(envelope.build_request("Team.Add", data, appid=t["appid"], secret=t["appsecret"]))
    answers = _post_many(url, forms)
    serials = [a["data"]["requestSerialCode"] for a in answers]
    assert all(a["code"] == 0 for a in answers) and len(set(serials)) == 40
    fast = PollPolicy(first_delay=0.02, max_interval=0.05, deadline=10)
    with PlatformClient(url, t["appid"], t["appsecret"], poll=fast) as api:
        results = [api.wait(s, "Team.Add") for s in serials]
    sys_nos = [json.loads(r)["teamSysNo"] if isinstance(r, str) else r["teamSysNo"] for r in results]
    assert len(set(sys_nos)) == 40  # team numbers come from one shared sequence


def test_rate_limit_is_counted_across_workers(two_workers: Any, pg_database: str) -> None:
    url, _ = two_workers
    with psycopg.connect(pg_database) as conn:
        body = conn.execute("SELECT body FROM tenants WHERE appid = '37140220261130077'").fetchone()
    assert body is not None
    tenant = body[0] if isinstance(body[0], dict) else json.loads(body[0])
    if time.time() % 60 > 55:  # keep the burst (well under a second) inside one rate window
        time.sleep(61 - time.time() % 60)
    forms = [
        envelope.build_request(
            "Team.Query",
            {"pageIndex": 0, "pageSize": 1, "projectCode": tenant["appid"]},
            appid=tenant["appid"],
            secret=tenant["appsecret"],
        )
        for _ in range(30)
    ]
    codes = [a["code"] for a in _post_many(url, forms)]
    assert codes.count(0) == 20 and codes.count(-5) == 10


def test_workers_start_on_an_empty_database(empty_pg_database: str) -> None:
    """No schema yet and no seeding: the server makes the schema before its workers start (two
    workers creating it at once collided, and the server exited)."""
    port = free_port()
    proc = subprocess.Popen(
        _jzgr("sim", "serve", "--port", str(port), "--db", empty_pg_database, "--workers", "2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(pids) < 2 and proc.poll() is None:
            try:
                pids.add(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).json()["pid"])
            except httpx.HTTPError:
                time.sleep(0.05)
        assert len(pids) == 2, f"exit status {proc.poll()}, workers seen {pids}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
