"""Cold start of the mock platform: from launching ``jzgr sim serve`` to its first answer.

.venv/bin/python benchmarks/sim_cold_start.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from machine_speed import describe


def main(runs: int = 3, port: int = 8799) -> None:
    jzgr = shutil.which("jzgr") or str(Path(".venv/bin/jzgr").resolve())
    db = f"sqlite:///{Path(tempfile.mkdtemp()) / 'cold.db'}"
    subprocess.run([jzgr, "sim", "tenant", "add", "37140220190101001", "--db", db], check=True, capture_output=True)
    figures = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [jzgr, "sim", "serve", "--port", str(port), "--db", db],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                try:
                    httpx.post(f"http://127.0.0.1:{port}/open.api", data={"appid": "x"}, timeout=0.2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.005)
            figures.append(time.perf_counter() - started)
        finally:
            proc.kill()
            proc.wait()
    print(f"cold start to first answer: {statistics.median(figures):.3f} s (median of {runs}); {describe()}")


if __name__ == "__main__":
    main()
