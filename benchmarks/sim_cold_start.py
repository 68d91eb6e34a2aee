"""Cold start of the mock platform: from launching ``jzgr sim serve`` to its first answer.

    .venv/bin/python benchmarks/sim_cold_start.py                  # seconds, median of 3
    .venv/bin/python benchmarks/sim_cold_start.py --instructions   # CPU instructions (callgrind)

Seconds on this machine move with its speed (printed beside them); the instruction count of
the same start, up to the first answer and a clean shutdown, is repeatable.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import callgrind
import httpx
from machine_speed import describe


def first_answer(port: int, poll: float) -> float:
    """Seconds until the server being started answers a POST to /open.api."""
    started = time.perf_counter()
    while True:
        try:
            httpx.post(f"http://127.0.0.1:{port}/open.api", data={"appid": "x"}, timeout=poll)
            return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    args = parser.parse_args()
    jzgr = shutil.which("jzgr") or str(Path(".venv/bin/jzgr").resolve())
    work = Path(tempfile.mkdtemp())
    db = f"sqlite:///{work / 'cold.db'}"
    subprocess.run([jzgr, "sim", "tenant", "add", "37140220190101001", "--db", db], check=True, capture_output=True)
    serve = [jzgr, "sim", "serve", "--port", str(args.port), "--db", db]
    if args.instructions:
        log = work / "valgrind.log"
        proc = subprocess.Popen([*callgrind.command(log), *serve], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first_answer(args.port, poll=5)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
        print(f"cold start to first answer and shutdown: {callgrind.total(log):,} instructions")
        return
    figures = []
    for _ in range(args.runs):
        proc = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            figures.append(first_answer(args.port, poll=0.2))
        finally:
            proc.kill()
            proc.wait()
    print(f"cold start to first answer: {statistics.median(figures):.3f} s (median of {args.runs}); {describe()}")


if __name__ == "__main__":
    main()
