"""Bureau console response times with a large dataset (issue 4 asks < 300 ms with 200,000
attendance records): loads a Dezhou dataset straight into the store, serves the simulator on
127.0.0.1 and times GET requests to the national, city, county, flag and traffic pages.

    .venv/bin/python benchmarks/console_pages.py [--records 200000] [--db sqlite:////tmp/console.db]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, datetime
from pathlib import Path

import httpx

from fixtures.fake import dataset
from simulator import bulk, server
from simulator.clock import Clock
from simulator.config import Settings
from simulator.platform import Platform
from simulator.store import Store
from standard.envelope import BEIJING


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=2_000)
    ap.add_argument("--projects", type=int, default=20)
    ap.add_argument("--db", default="sqlite:////tmp/jzgr-console-bench.db")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    if args.db.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(args.db.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    days = max(1, args.records // (2 * args.workers))
    today = date(2026, 11, 20)
    noon = datetime(2026, 11, 20, 18, 30, tzinfo=BEIJING)
    clock = Clock()
    clock.set(noon, speed=0.0)
    t0 = time.perf_counter()
    ds = dataset.generate(2018, args.workers, today=today, project_count=args.projects)
    store = Store.open(args.db)
    loaded = bulk.load(store, ds, attendance_days=days, now=noon, seed=1)
    print(f"loaded {loaded.to_json()} in {time.perf_counter() - t0:.1f} s ({args.db.split(':')[0]})")
    platform = Platform(store, Settings(), clock)
    running = server.start(platform)
    base = running.url.removesuffix("/open.api")
    county = next(
        c
        for c in (
            "sddcqdzs",
            "sdlcqdzs",
            "sdycsdzs",
            "sdllsdzs",
            "sdnjxdzs",
            "sdqhxdzs",
            "sdlyxdzs",
            "sdpyxdzs",
            "sdwcxdzs",
            "sdxjxdzs",
            "sdqyxdzs",
        )
        if True
    )
    pages = {
        "national /": "/",
        "city /sddzsdzs/": "/sddzsdzs/",
        f"county /{county}/": f"/{county}/",
        "flag records": f"/sddzsdzs/flags/late-uploads/{ds.projects[0].code}",
        "tenant traffic": f"/traffic/{ds.projects[0].code}",
    }
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            print(f"{'page':<24}{'median ms':>10}{'p90 ms':>10}{'max ms':>10}")
            for name, path in pages.items():
                assert http.get(path).status_code == 200, path  # warm-up (template compile)
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    response = http.get(path)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200
                times.sort()
                p90 = times[int(len(times) * 0.9) - 1]
                print(f"{name:<24}{statistics.median(times):>10.1f}{p90:>10.1f}{times[-1]:>10.1f}")
    finally:
        running.stop()
        store.close()


if __name__ == "__main__":
    main()
