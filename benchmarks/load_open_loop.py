"""Open loop at a constant rate against the simulator and, in the same run, against WireMock serving
a static stub (issue 16): the same locust user, the same signed and encrypted single-record
``WorkerAttendance.Add`` uploads on the same timetable, latency measured from the moment each was
due; p50, p99 and p99.9 of each, and the simulator's p99 over WireMock's.

Installs WireMock on first use (npm's ``wiremock`` package ships the standalone jar; into
~/.cache/jzgr-bench); Java 17 runs it.

    .venv/bin/python benchmarks/load_open_loop.py [--rate 1000] [--seconds 60] [--scale 0.01] [--workers 2]
"""

from __future__ import annotations

# locust first: it patches the standard library for gevent before anything opens a socket
from loadtests import runner  # isort: skip

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from machine_speed import describe

from loadtests import world
from loadtests.matcher import percentile
from loadtests.morning import Morning
from loadtests.platform_users import PlatformScenario
from standard import terminal

CACHE = Path.home() / ".cache" / "jzgr-bench"
TOKEN = "bench-token"
STUB = {"code": 0, "message": "success", "data": {"requestSerialCode": "attendance-add-2026120307-1-0001"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def wiremock_jar() -> Path:
    found = sorted((CACHE / "node_modules" / "wiremock").rglob("wiremock-standalone-*.jar"))
    if not found:
        print("installing wiremock (npm)…", flush=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "wiremock@3"], cwd=CACHE, check=True)
        found = sorted((CACHE / "node_modules" / "wiremock").rglob("wiremock-standalone-*.jar"))
    return found[-1]


def measure(scenario: PlatformScenario, report: Path, workers: int) -> dict[str, float | int | None]:
    where = runner.Distribution(local=workers)
    done = runner.run(scenario, where, report, terminal.console(stderr=True))
    sent = scenario.sent(done.outcomes, done.start_at, where.shards)
    ms = [(s.acked - s.due) * 1000 for s in sent if s.acked is not None]
    return {
        "uploads": len(sent),
        "answered": len(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "p99_9_ms": percentile(ms, 99.9),
        "max_ms": max(ms, default=None),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=0, help="locust worker processes generating the load (0: this one)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jzgr-load-bench-"))
    sim_port, wm_port = free_port(), free_port()
    jzgr = str(Path(sys.executable).with_name("jzgr"))
    sim = subprocess.Popen(
        [jzgr, "sim", "serve", "--port", str(sim_port), "--db", f"sqlite:///{work / 'sim.db'}", "--async-delay", "0"],
        env={**os.environ, "JZGR_ADMIN_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wm = subprocess.Popen(
        ["java", "-jar", str(wiremock_jar()), "--port", str(wm_port), "--bind-address", "127.0.0.1",
         "--no-request-journal", "--disable-banner", "--root-dir", str(work / "wiremock")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        sim_url, wm_url = f"http://127.0.0.1:{sim_port}/open.api", f"http://127.0.0.1:{wm_port}/open.api"
        wait_http(f"http://127.0.0.1:{sim_port}/admin/api/openapi.json")
        wait_http(f"http://127.0.0.1:{wm_port}/__admin/mappings")
        httpx.post(
            f"http://127.0.0.1:{wm_port}/__admin/mappings",
            json={
                "request": {"method": "POST", "url": "/open.api"},
                "response": {"status": 200, "jsonBody": STUB, "headers": {"Content-Type": "application/json"}},
            },
        ).raise_for_status()
        m = Morning(scale=args.scale, batch_size=1)
        day, sites = world.seed_simulator(sim_url, TOKEN, m, work)
        by_index = dict(enumerate(sites))
        figures = {}
        for name, url in (("wiremock (warm-up)", wm_url), ("simulator", sim_url), ("wiremock", wm_url)):
            seconds = min(args.seconds, 5) if "warm-up" in name else args.seconds
            scenario = PlatformScenario(url, m, args.rate, seconds, day.isoformat(), by_index, 256, False)
            print(f"{name}: {args.rate:g} uploads/s for {seconds:g} s …", flush=True)
            figures[name] = measure(scenario, work / name.split()[0], args.workers)
            print(f"  {figures[name]}", flush=True)
        sim_p99, wm_p99 = figures["simulator"]["p99_ms"], figures["wiremock"]["p99_ms"]
        ratio = sim_p99 / wm_p99 if sim_p99 and wm_p99 else None
        print(json.dumps({"machine": describe(), "rate": args.rate, "seconds": args.seconds, **figures,
                          "simulator_p99_over_wiremock_p99": ratio}, indent=1))  # fmt: skip
    finally:
        for proc in (sim, wm):
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
