"""``jzgr demo`` on other days of the calendar, the real clock moved with libfaketime (issue 12):
the 1st of a month just after midnight in Beijing (still the day before in UTC, the host's zone),
the last day of a month, and 29 February. Slow (a demo each), so only the days that broke. New Year's
night runs the whole demo, the client plan too: plain libfaketime restarts the clock in each process,
so the gates, the vendor and the platform disagree by seconds and the vendor's clock goes back when it
is restarted — which the reference vendor must survive without losing a clock-in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FAKETIME = shutil.which("faketime")
pytestmark = pytest.mark.skipif(
    FAKETIME is None, reason="faketime not installed (scripts/ensure-debian-tools.sh installs it)"
)


@pytest.mark.parametrize(
    ("utc", "beijing_day", "plans"),
    [
        ("2026-12-31 16:30:00", "2027-01-01", ["--workers", "24"]),  # both plans, on New Year's night
        ("2027-02-28 16:30:00", "2027-03-01", ["--workers", "12", "--no-client"]),  # UTC still on the 28th
        ("2027-03-31 12:00:00", "2027-03-31", ["--workers", "12", "--no-client"]),
        ("2028-02-29 03:00:00", "2028-02-29", ["--workers", "12", "--no-client"]),
    ],
)
def test_demo_passes_on_another_day(utc: str, beijing_day: str, plans: list[str], tmp_path: Path) -> None:
    assert FAKETIME is not None
    jzgr = Path(sys.executable).with_name("jzgr")
    env = {**os.environ, "TZ": "UTC"}
    done = subprocess.run(
        [FAKETIME, "-f", f"@{utc}", str(jzgr), "demo", "--out", str(tmp_path), *plans],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["today"] == beijing_day  # the day in Beijing, not the host's UTC day
    assert summary["problems"] == [] and summary["twins_missed"] == []
