"""The jzgr_platform fixture's local-process path: a served platform and fleet that a plan certifies,
and nothing left running after it."""

from __future__ import annotations

import os

import httpx
import pytest

from conformance import runner
from conformance.target import Target, load_credentials
from jzgr import testing


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has ended; only its parent's wait is missing
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_local_processes_serve_the_platform_and_fleet_then_stop(tmp_path: pytest.TempPathFactory) -> None:
    with testing.start("processes") as platform:
        assert platform.started_as == "processes"
        assert httpx.get(platform.url.removesuffix("open.api") + "healthz").status_code == 200
        assert platform.credentials["url"] == platform.url and len(platform.credentials["tenants"]) >= 2
        tenants = platform.admin.get("/tenants")
        assert tenants.status_code == 200, tenants.text
        devices = httpx.get(f"{platform.devices_control_url}/devices").json()
        assert len(devices["devices"]) == 4
        assert httpx.get(platform.console_url).status_code == 200
        pids = list(platform.pids)
        assert all(_alive(pid) for pid in pids)
        children = _children(pids)
    assert not any(_alive(pid) for pid in pids + children)


def _children(pids: list[int]) -> list[int]:
    """Processes in the sessions of ``pids`` (granian's workers, the fleet's helpers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) in pids:
                    found.append(int(entry))
            except ProcessLookupError:
                continue
    return found


def test_auto_without_an_engine_starts_processes() -> None:
    if testing.docker_reachable():
        pytest.skip("a Docker engine answers here: auto would start containers")
    with testing.start("auto") as platform:
        assert platform.started_as == "processes"


def test_the_fixture_runs_the_smoke_plan(jzgr_platform: testing.JzgrPlatform) -> None:
    url, tenants = load_credentials(jzgr_platform.credentials_file)
    run = runner.run(Target(url, tenants[0], tenants[1], poll_interval=0.05), plan="smoke", seed=3)
    failures = {r.check.id: r.message[:200] for r in run.results if r.status in ("failed", "error")}
    assert failures == {} and run.ok and len(run.results) == 15
