"""The simulator's ASGI app without sockets: what one single-record ``WorkerAttendance.Add`` costs
the app itself (form decode, checks, decrypt, validate, rules, group commit, answer, log), driven
``--concurrency`` requests at a time on one event loop, as uvicorn would with that many
connections. The HTTP server's own share is what ``sim_http.py`` measures on top.

    taskset -c 0 .venv/bin/python benchmarks/sim_asgi.py [--requests 20000] [--size 1] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import tempfile
import time
from typing import Any
from urllib.parse import urlencode

from sim_inprocess import forms, prepare

from simulator.asgi import SimulatorApp, tune_interpreter_for_serving
from simulator.config import Settings
from simulator.platform import Platform
from simulator.store import Store


async def drive(app: SimulatorApp, bodies: list[bytes], concurrency: int) -> int:
    ok = 0

    async def one(body: bytes) -> None:
        nonlocal ok
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/open.api",
            "headers": [(b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 5000),
        }
        await app(scope, receive, send)
        ok += b'"code":0' in sent[-1]["body"]

    for i in range(0, len(bodies), concurrency):
        await asyncio.gather(*(one(b) for b in bodies[i : i + concurrency]))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None)
    parser.add_argument("--requests", type=int, default=20000, help="measured, after 500 not measured")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--size", type=int, default=1, help="records per upload")
    parser.add_argument("--profile", default=None, help="write cProfile stats here")
    parser.add_argument("--generate", type=int, default=None, help="signed bodies to make (default: all needed)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{os.path.join(tempfile.mkdtemp(), 'bench.db')}"
    platform = Platform(Store.open(url), Settings(async_delay=0))
    _, appid, secret, sys_no, ids = prepare(platform)
    app = SimulatorApp(platform)
    made = max(args.generate or 0, 500 + args.requests)
    bodies = [urlencode(f).encode() for f in forms(appid, secret, appid, sys_no, ids, made, args.size)]
    tune_interpreter_for_serving()  # as the server's lifespan does
    asyncio.run(drive(app, bodies[:500], args.concurrency))  # warm-up: caches, serial block
    rest = bodies[500 : 500 + args.requests]
    if not rest:  # the baseline run of sim_instructions.py
        return
    profiler = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    ok = asyncio.run(drive(app, rest, args.concurrency))
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{url.split(':')[0]} ASGI app, {args.size}-record WorkerAttendance.Add, {args.concurrency} at a time: "
        f"{len(rest) / took:,.0f} req/s = {took / len(rest) * 1e6:.0f} µs per request, "
        f"of which CPU {cpu / len(rest) * 1e6:.0f} µs ({ok}/{len(rest)} code 0)"
    )
    platform.store.close()


if __name__ == "__main__":
    main()
