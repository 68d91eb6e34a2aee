"""How fast this machine is right now: a fixed pure-Python loop on core 0, in seconds.

This machine's speed moves by a factor of two and more between phases (same code, same figure,
minutes apart), so absolute figures (records/s, cold start) are recorded next to this one.

    .venv/bin/python benchmarks/machine_speed.py
"""

from __future__ import annotations

import subprocess
import sys

LOOP = """import time
t = time.perf_counter()
s = 0
for i in range(10_000_000):
    s += i
print(time.perf_counter() - t)"""


def loop_seconds(core: int = 0, runs: int = 3) -> float:
    """The best of ``runs`` timings of a 10-million-iteration loop pinned to ``core``."""
    return min(
        float(
            subprocess.run(
                ["taskset", "-c", str(core), sys.executable, "-c", LOOP], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    )


def describe() -> str:
    return f"machine speed: a 10-million-iteration Python loop takes {loop_seconds():.2f} s on core 0"


if __name__ == "__main__":
    print(describe())
