"""CPU instructions per single-record ``WorkerAttendance.Add`` in the ASGI app (``sim_asgi.py``),
counted by valgrind's callgrind: repeatable to a fraction of a percent where wall-clock figures
on a shared machine move by a third between runs. Two runs (500 warm-up requests alone, then
with ``--requests`` more); the difference divided by ``--requests`` is the figure. Takes a few
minutes (callgrind runs Python about fifty times slower).

    .venv/bin/python benchmarks/sim_instructions.py [--requests 2500]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent


def instructions(requests: int, generate: int) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            str(HERE / "sim_asgi.py"),
            "--requests",
            str(requests),
            "--generate",  # both runs make the same bodies, so only handling them differs
            str(generate),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    found = re.search(r"Collected : (\d+)", out)
    if found is None:
        raise SystemExit(f"callgrind printed no total:\n{out[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2500)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (Debian package valgrind)")
    print(f"counting instructions: two runs under callgrind, {args.requests} requests apart…", flush=True)
    with ThreadPoolExecutor(2) as pool:  # the two runs are independent: one per core
        base, full = pool.map(instructions, (0, args.requests), (500 + args.requests,) * 2)
    print(f"ASGI app, 1-record WorkerAttendance.Add: {(full - base) / args.requests:,.0f} instructions per request")


if __name__ == "__main__":
    main()
