"""A worker made by ``create_app`` (what ``jzgr sim serve`` runs) tunes its interpreter for
serving; the test process itself keeps Python's defaults. A SQLite file has one server."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from simulator.asgi import COMMIT_HANDOFF_S, GC_THRESHOLDS
from simulator.server import free_port

PROBE = """
import gc, json, sys
from simulator.asgi import create_app
create_app()
import os, threading
later = {}
t = threading.Thread(target=lambda: later.update(policy=os.sched_getscheduler(0)))
t.start(); t.join()
print(json.dumps({"thresholds": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "switch": sys.getswitchinterval(), "policy": os.sched_getscheduler(0),
                  "thread_policy": later["policy"]}))
"""


def test_a_serving_worker_freezes_startup_objects_and_collects_less_often(tmp_path: Path) -> None:
    env = {**os.environ, "JZGR_SIM_DB": f"sqlite:///{tmp_path / 'sim.db'}"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert tuple(seen["thresholds"]) == GC_THRESHOLDS
    assert seen["frozen"] > 10_000  # the models, tables and code tables loaded at startup
    assert abs(seen["switch"] - COMMIT_HANDOFF_S) < 1e-9
    # batch scheduling, inherited by threads started afterwards (granian's, the commit thread)
    assert seen["policy"] == seen["thread_policy"] == os.SCHED_BATCH


def test_serving_from_a_thread_leaves_the_test_process_alone(served: object) -> None:
    assert gc.get_threshold() != GC_THRESHOLDS
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def _serve(db: str, port: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", "from jzgr.cli import main; main()", "sim", "serve", "--port", str(port), "--db", db]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _answers(port: int, deadline_s: float = 30) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            time.sleep(0.05)
    return False


def test_a_second_server_on_the_same_sqlite_file_is_refused_until_the_first_is_gone(tmp_path: Path) -> None:
    """Replays are decided in the serving process's memory on SQLite: one server per file."""
    db = f"sqlite:///{tmp_path / 'sim.db'}"
    first_port, port = free_port(), free_port()
    first = _serve(db, first_port)
    try:
        assert _answers(first_port)
        second = _serve(db, port)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2
        assert "already being served by another jzgr sim serve" in err and "PostgreSQL" in err
    finally:
        first.kill()  # as a crash would: the kernel releases the lock with the process
        first.wait()
    third = _serve(db, port)
    try:
        assert _answers(port)
    finally:
        third.terminate()
        third.wait(timeout=30)


def test_the_server_says_where_it_serves_without_the_database_password(empty_pg_database: str) -> None:
    db = empty_pg_database.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")  # trust auth
    port = free_port()
    proc = _serve(db, port)
    try:
        assert _answers(port)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    line = next(x for x in err.splitlines() if x.startswith("open.api:"))
    assert line.startswith(f"open.api: http://127.0.0.1:{port}/open.api (granian, 1 worker, postgresql://postgres:***@")
    assert "hunter2" not in err
