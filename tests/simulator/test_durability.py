"""Durability: a client streams attendance uploads to a server process; the process is SIGKILLed
mid-stream; after a restart every acknowledged record is stored exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fixtures.fake import dataset, payloads
from platform_client import ClientError, PlatformClient, PollPolicy, RetryPolicy
from simulator.server import free_port
from simulator.store import Store, attendance
from simulator.tenants import Tenant
from standard.envelope import today_beijing


def _serve(db_url: str, port: int, creds: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-c",
        "from jzgr.cli import main; main()",
        "sim",
        "serve",
        "--port",
        str(port),
        "--db",
        db_url,
        "--async-delay",
        "0",
        "--seed-demo",
        "--credentials-out",
        str(creds),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the simulator process did not come up")


def test_sigkill_loses_no_acknowledged_record(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite:///") and ":memory:" in db_url:
        pytest.skip("needs a file")
    port, creds = free_port(), tmp_path / "creds.json"
    proc = _serve(db_url, port, creds)
    tenant = Tenant(
        **{
            k: v
            for k, v in json.loads(creds.read_text())["tenants"][0].items()
            if k in ("appid", "appsecret", "mode", "corpCode", "corpName")
        },
        projects=[],
    )
    code = json.loads(creds.read_text())["tenants"][0]["projectCode"]
    url = f"http://127.0.0.1:{port}/open.api"
    site = dataset.generate(5, 4)
    project, team = site.projects[0], site.projects[0].teams[0]
    project.code = code
    quick = PollPolicy(first_delay=0.01, max_interval=0.05, deadline=10)
    with PlatformClient(url, tenant.appid, tenant.appsecret, poll=quick) as api:
        api.write(
            "ProjectSubContractor.Add",
            {
                **next(s for s in project.subcontractors if s["corpCode"] == team.payload["corpCode"]),
                "projectCode": code,
            },
        )
        team.team_sys_no = api.write("Team.Add", {**team.payload, "projectCode": code}).result["teamSysNo"]
        api.write("ProjectWorker.Add", payloads.team_workers(team, project))
        api.write("WorkerEntryExit.Add", payloads.entry(team, project, today_beijing() - timedelta(days=30)))

    acked: list[tuple[str, str]] = []  # (serial, record time) of every acknowledged upload
    stop = threading.Event()
    start = datetime.combine(today_beijing() - timedelta(days=1), datetime.min.time())
    worker_id = team.workers[0].id_number

    def stream() -> None:
        no_retry = RetryPolicy(deadline=0.0)
        with PlatformClient(url, tenant.appid, tenant.appsecret, retry=no_retry, timeout=2) as api:
            for i in range(100_000):
                if stop.is_set():
                    return
                moment = (start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S")
                record = {"idCardType": "01", "idCardNumber": worker_id, "date": moment, "direction": "01"}
                try:
                    done = api.write(
                        "WorkerAttendance.Add",
                        {"projectCode": code, "teamSysNo": team.team_sys_no, "dataList": [record]},
                        wait=False,
                    )
                except ClientError:
                    return  # the server is gone: what was acknowledged so far is the contract
                acked.append((done.serial, moment))

    thread = threading.Thread(target=stream)
    thread.start()
    deadline = time.monotonic() + 20
    while len(acked) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    thread.join(timeout=10)
    assert len(acked) >= 50

    proc = _serve(db_url, free_port(), tmp_path / "creds2.json")  # restart on the same database
    try:
        store = Store.open(db_url)
        with store.read() as conn:
            rows = conn.execute(
                select(attendance.c.serial, attendance.c.moment, func.count()).group_by(
                    attendance.c.serial, attendance.c.moment
                )
            ).all()
        store.close()
    finally:
        proc.kill()
        proc.wait()
    stored = {(serial, moment): count for serial, moment, count in rows}
    assert all(stored.get(key) == 1 for key in acked), "an acknowledged record is missing or duplicated"
    assert all(count == 1 for count in stored.values())
