"""Which HTTP client the platform-side locust user should drive (issue 16): locust's FastHttpUser
client (geventhttpclient) against locust's HttpUser client (requests) and httpx, each doing the same
signing work — seal (AES) and sign a single-record ``WorkerAttendance.Add``, post it, read the
envelope — closed loop with 32 greenlets for a few seconds against the simulator. Reported: uploads
per second and the load process's CPU microseconds per upload (the figure that decides how many
uploads one load core can generate).

    .venv/bin/python benchmarks/load_clients.py [--seconds 5]
"""

from __future__ import annotations

# locust's gevent patching first
from loadtests import runner  # noqa: F401  # isort: skip

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import gevent
import gevent.pool
import httpx
from load_open_loop import free_port, wait_http
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook
from machine_speed import describe
from requests.adapters import HTTPAdapter

from loadtests import world
from loadtests.morning import Morning
from platform_client import protocol

TOKEN = "bench-token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drive(post: Callable[[str], bytes], make_body: Callable[[int], str], seconds: float) -> dict[str, float]:
    count = 0
    stop = time.monotonic() + seconds

    def loop() -> None:
        nonlocal count
        while time.monotonic() < stop:
            answer = post(make_body(count))
            assert b'"code":0' in answer, answer[:200]
            count += 1

    before, started = cpu(), time.monotonic()
    pool = gevent.pool.Pool(32)
    for _ in range(32):
        pool.spawn(loop)
    pool.join()
    elapsed, used = time.monotonic() - started, cpu() - before
    return {"uploads_per_s": round(count / elapsed), "client_cpu_us_per_upload": round(used / count * 1e6)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jzgr-load-clients-"))
    port = free_port()
    jzgr = str(Path(sys.executable).with_name("jzgr"))
    sim = subprocess.Popen(
        [jzgr, "sim", "serve", "--port", str(port), "--db", f"sqlite:///{work / 'sim.db'}", "--async-delay", "0"],
        env={**os.environ, "JZGR_ADMIN_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/open.api"
        wait_http(f"{base}/admin/api/openapi.json")
        day, sites = world.seed_simulator(url, TOKEN, Morning(scale=0.01), work)
        site = sites[0]
        creds = protocol.Credentials(site.appid, site.secret)

        def body(k: int) -> str:
            sys_no, number = site.worker(k % 87)
            data = {
                "projectCode": site.project_code,
                "teamSysNo": sys_no,
                "dataList": [
                    {
                        "idCardType": "01",
                        "idCardNumber": number,
                        "date": f"{day.isoformat()} {k // 3600 % 24:02d}:{k // 60 % 60:02d}:{k % 60:02d}",
                        "direction": "01",
                    }
                ],
            }
            text = protocol.seal("WorkerAttendance.Add", data, site.secret, validate=False)
            return urlencode(protocol.form_for(creds, "WorkerAttendance.Add", text))

        fast = FastHttpSession(base, EventHook(), None, concurrency=32)
        plain = HttpSession(base, EventHook(), None)
        plain.mount("http://", HTTPAdapter(pool_maxsize=32))
        hx = httpx.Client(base_url=base, limits=httpx.Limits(max_connections=32))
        clients: dict[str, Callable[[str], bytes]] = {
            "FastHttpUser (geventhttpclient)": lambda b: fast.post("/open.api", data=b, headers=FORM).content or b"",
            "HttpUser (requests)": lambda b: plain.post("/open.api", data=b, headers=FORM).content,
            "httpx": lambda b: hx.post("/open.api", content=b, headers=FORM).content,
        }
        serial = itertools.count()
        figures = {}
        for name, post in [*clients.items(), *clients.items()]:  # twice: the second round is reported
            figures[name] = drive(post, lambda _k: body(next(serial)), args.seconds)
            print(name, figures[name], flush=True)
        print(json.dumps({"machine": describe(), **figures}, indent=1))
    finally:
        sim.terminate()
        sim.wait(timeout=30)


if __name__ == "__main__":
    main()
