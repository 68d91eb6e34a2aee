"""``jzgr sim …`` refuses what it cannot serve in one line naming what to change, with the
documented exit code (2: the usage or a path; 3: the environment), before it starts anything."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.cli import ProfileChoice
from simulator.server import free_port
from standard.profile import PROFILES


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sim.db'}"


@pytest.mark.parametrize(
    ("args", "code", "names"),
    [
        (["--db", "sqlite:///{tmp}/missing/sim.db"], 2, "missing does not exist"),
        (["--db", "bogus://"], 2, "--db 'bogus://'"),
        (["--db", "sqlite:////proc/jzgr-sim.db"], 2, "--db sqlite:////proc/jzgr-sim.db: cannot open the SQLite file"),
        (["--db", "not a url"], 2, "--db 'not a url' is not a database URL"),
        (["--db", "postgresql://postgres@127.0.0.1:1/jzgr"], 3, "--db postgresql://postgres@127.0.0.1:1/jzgr"),
        (["--db", "postgresql://postgres@127.0.0.1:5432/jzgr_no_such_database"], 3, "createdb jzgr_no_such_database"),
        (["--profile", "bogus"], 2, "--profile"),
        (["--timestamp-window", "soon"], 2, "--timestamp-window"),
        (["--nonce-window", "-5"], 2, "--nonce-window"),
        (["--port", "99999"], 2, "--port"),
        (["--credentials-out", "{tmp}/missing/creds.json"], 2, "--credentials-out"),
        (["--credentials-out", "{tmp}"], 2, "--credentials-out"),
        (
            ["--credentials-out", "/proc/jzgr-creds.json"],
            2,
            "--credentials-out /proc/jzgr-creds.json cannot be written",
        ),
        (["--defect", "nope"], 2, "--defect"),
        (["--workers", "2"], 2, "--workers"),
        (["--host", "192.0.2.1"], 2, "--host 192.0.2.1 is not an address of this machine"),
        (["--host", "nohost.invalid"], 2, "--host 'nohost.invalid' is not an address of this machine"),
    ],
)
def test_serve_refuses_in_one_line(jzgr: Any, tmp_path: Path, args: list[str], code: int, names: str) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    db = [] if "--db" in args else ["--db", f"sqlite:///{tmp_path / 'sim.db'}"]
    ran = jzgr("sim", "serve", "--port", str(free_port()), *db, *args)
    assert ran.code == code
    line = ran.error_line()
    assert line.startswith("error: ") and names in line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jzgr.cli import main; main()",
            "--debug",
            "sim",
            "serve",
            "--db",
            f"sqlite:///{tmp_path}/missing/sim.db",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "Traceback" in run.stderr and "UsageProblem" in run.stderr


def test_the_profile_choices_are_the_standards_profiles() -> None:
    assert [p.value for p in ProfileChoice] == list(PROFILES)


def test_tenant_commands_refuse_a_bad_database_in_one_line(jzgr: Any, tmp_path: Path) -> None:
    ran = jzgr("sim", "tenant", "list", "--db", f"sqlite:///{tmp_path}/missing/sim.db")
    assert ran.code == 2 and "--db" in ran.error_line()
    ran = jzgr("sim", "tenant", "list", "--db", "sqlite:////proc/jzgr-sim.db")
    assert ran.code == 2 and "cannot open the SQLite file" in ran.error_line()
    ran = jzgr("sim", "tenant", "add", "1234", "--db", "postgresql://postgres@127.0.0.1:1/jzgr")
    assert ran.code == 3 and "cannot connect" in ran.error_line()


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_serve_refuses_a_busy_port(jzgr: Any, busy_port: int, sqlite_db: str, server: str) -> None:
    ran = jzgr("sim", "serve", "--port", str(busy_port), "--db", sqlite_db, "--server", server)
    assert ran.code == 3
    assert f"port {busy_port} on 127.0.0.1 is already in use" in ran.error_line()


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_serve_with_workers_refuses_a_busy_port(jzgr: Any, busy_port: int, empty_pg_database: str, server: str) -> None:
    ran = jzgr(
        "sim", "serve", "--port", str(busy_port), "--db", empty_pg_database, "--workers", "2", "--server", server
    )
    assert ran.code == 3
    assert f"port {busy_port} on 127.0.0.1 is already in use" in ran.error_line()


def _serve(*args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", "from jzgr.cli import main; main()", "sim", "serve", *args]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_a_second_server_on_a_port_in_use_is_refused(tmp_path: Path) -> None:
    """granian binds with SO_REUSEPORT: without the check, the second would share the port."""
    port = free_port()
    first = _serve("--port", str(port), "--db", f"sqlite:///{tmp_path / 'first.db'}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the first server did not start"
                time.sleep(0.05)
        second = _serve("--port", str(port), "--db", f"sqlite:///{tmp_path / 'second.db'}")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 3
        assert err.splitlines()[-1] == (
            f"error: port {port} on 127.0.0.1 is already in use (another jzgr sim serve?); stop it or pass --port"
        )
        assert "open.api:" not in err  # refused before saying where it serves
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_key_match_reaches_the_served_platform(tmp_path: Path) -> None:
    """``--key-match case-insensitive`` under the strict profile reads ``CORPNAME`` as ``corpName``."""
    import json

    from platform_client import PlatformClient
    from platform_client.errors import PlatformError

    def upload(mode: str) -> str:
        port, creds = free_port(), tmp_path / f"{mode}.json"
        db = f"sqlite:///{tmp_path / f'{mode}.db'}"
        args = ["--port", str(port), "--db", db, "--seed-demo", "--credentials-out", str(creds), "--key-match", mode]
        served = _serve(*args)
        try:
            deadline = time.monotonic() + 30
            while not creds.exists() or not creds.read_text(encoding="utf-8"):
                assert time.monotonic() < deadline and served.poll() is None, "the server did not start"
                time.sleep(0.05)
            tenant = json.loads(creds.read_text(encoding="utf-8"))["tenants"][0]
            url = f"http://127.0.0.1:{port}/open.api"
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the server did not answer"
                    time.sleep(0.05)
            corp = {"corpCode": tenant["corpCode"], "CORPNAME": tenant["corpName"], "areaCode": "371428"}
            with PlatformClient(url, tenant["appid"], tenant["appsecret"], validate=False) as api:
                try:
                    api.write("Corp.Upload", corp)
                    return "accepted"
                except PlatformError as exc:
                    return str(exc)
        finally:
            served.terminate()
            served.wait(timeout=30)

    assert upload("case-insensitive") == "accepted"
    refused = upload("exact")
    assert "corpName" in refused and "CORPNAME" in refused  # missing, and the near-miss named


def test_key_match_is_a_checked_choice(jzgr: Any, sqlite_db: str) -> None:
    ran = jzgr("sim", "serve", "--db", sqlite_db, "--key-match", "loose")
    assert ran.code == 2 and "--key-match" in ran.error_line()
