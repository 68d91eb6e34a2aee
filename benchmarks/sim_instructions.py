"""CPU instructions per single-record ``WorkerAttendance.Add`` in the ASGI app (``sim_asgi.py``),
counted by valgrind's callgrind: repeatable to a fraction of a percent where wall-clock figures
on a shared machine move by a third between runs. Two runs (500 warm-up requests alone, then
with ``--requests`` more); the difference divided by ``--requests`` is the figure. Takes a few
minutes (callgrind runs Python about fifty times slower).

    .venv/bin/python benchmarks/sim_instructions.py [--requests 2500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import callgrind

HERE = Path(__file__).parent


def instructions(requests: int, generate: int) -> int:
    log = Path(tempfile.mkdtemp(prefix="jzgr-callgrind-")) / "valgrind.log"
    subprocess.run(
        [
            *callgrind.command(log),
            sys.executable,
            str(HERE / "sim_asgi.py"),
            "--requests",
            str(requests),
            "--generate",  # both runs make the same bodies, so only handling them differs
            str(generate),
        ],
        capture_output=True,
        check=True,
    )
    return callgrind.total(log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2500)
    args = parser.parse_args()
    print(f"counting instructions: two runs under callgrind, {args.requests} requests apart…", flush=True)
    with ThreadPoolExecutor(2) as pool:  # the two runs are independent: one per core
        base, full = pool.map(instructions, (0, args.requests), (500 + args.requests,) * 2)
    print(f"ASGI app, 1-record WorkerAttendance.Add: {(full - base) / args.requests:,.0f} instructions per request")


if __name__ == "__main__":
    main()
