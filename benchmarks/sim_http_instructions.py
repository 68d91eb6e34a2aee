"""CPU instructions the served mock platform spends per single-record ``WorkerAttendance.Add``
over real sockets: uvicorn, the event loop and the app together (``sim_instructions.py`` counts
the app alone). ``jzgr sim serve`` runs under valgrind's callgrind in two runs from the same
database: one answers ``--warm`` requests, the other ``--warm`` + ``--requests``; the difference
divided by ``--requests`` is the figure. Counted in user space (the kernel's socket work is not
in it), repeatable where requests/s on this machine are not. Takes a few minutes.

    .venv/bin/python benchmarks/sim_http_instructions.py [--requests 3000] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import callgrind
import httpx
from sim_http import bodies, free_port, prepare, serve_command, wait_port


async def post_all(port: int, lines: list[str], connections: int) -> int:
    """Send every body once over ``connections`` keep-alive connections; return the code-0 answers."""
    queue = list(reversed(lines))
    ok = 0

    async def connection() -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            body = queue.pop().encode()
            writer.write(
                b"POST /open.api HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            size = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            ok += b'"code":0' in await reader.readexactly(size)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return ok


def count(db_file: Path, lines: list[str], connections: int, tag: str) -> int:
    """Serve ``lines`` under callgrind from a copy of the database; the instructions counted."""
    work = Path(tempfile.mkdtemp(prefix=f"jzgr-callgrind-{tag}-"))
    for f in db_file.parent.glob(db_file.name + "*"):
        shutil.copy(f, work / f.name)
    port, log = free_port(), work / "valgrind.log"
    serve = serve_command(port, f"sqlite:///{work / db_file.name}")
    server = subprocess.Popen(
        [*callgrind.command(log), sys.executable, *serve], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port, timeout=600)
        ok = asyncio.run(post_all(port, lines, connections))
        if ok != len(lines):
            raise SystemExit(f"{len(lines) - ok} of {len(lines)} requests were not answered with code 0")
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=60).json()
        print(f"  {tag}: {health['writes']} writes in {health['commits']} commits", flush=True)
    finally:
        server.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly; callgrind prints its total
        server.wait(timeout=600)
    return callgrind.total(log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warm", type=int, default=1000, help="requests in both runs (caches, serial block)")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jzgr-http-instructions-"))
    db_file, creds_file = work / "sim.db", work / "creds.json"
    port = free_port()
    print("preparing a database: tenant, team, workers, entries…", flush=True)
    setup = subprocess.Popen(
        serve_command(port, f"sqlite:///{db_file}", "--seed-demo", "--credentials-out", str(creds_file)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        creds = json.loads(creds_file.read_text())["tenants"][0]
        sys_no, ids = prepare(f"http://127.0.0.1:{port}/open.api", creds)
    finally:
        setup.send_signal(signal.SIGINT)
        setup.wait(timeout=60)
    body_file = work / "bodies.txt"
    bodies(body_file, creds, sys_no, ids, args.warm + args.requests, 1, day=2)
    lines = body_file.read_text().splitlines()
    print(f"counting: two servers under callgrind, {args.requests} requests apart…", flush=True)
    with ThreadPoolExecutor(2) as pool:  # independent runs: one per core
        base, full = pool.map(
            count,
            [db_file] * 2,
            [lines[: args.warm], lines],
            [args.connections] * 2,
            ["base", "full"],
        )
    print(
        f"served, 1-record WorkerAttendance.Add, {args.connections} connections: "
        f"{(full - base) / args.requests:,.0f} instructions per request"
    )


if __name__ == "__main__":
    main()
