"""``jzgr load peak`` end to end, each party its own process on 127.0.0.1: the simulator, the
reference vendor system the command starts on one site file per project, and the gates (locust
users pushing ISAPI events). A small morning loses and duplicates nothing; a second run finds its
people enrolled, goes on with the gates' serial numbers and fails on a breached threshold; one
master and two local workers share the gates; nonsense is refused before anything starts, a
simulator that is down is reported at once."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import JZGR, Served, free_port

SMALL = ["--projects", "3", "--compress", "1200"]  # 3 gates × 87 workers, the hour in 3 s


def peak(served: Served, report: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            JZGR,
            "load",
            "peak",
            "--platform",
            served.url,
            "--admin-token",
            served.token,
            "--report-dir",
            str(report),
            *SMALL,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def summary(report: Path) -> dict[str, Any]:
    return json.loads((report / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(simulator: Served, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The first run: it makes the world (projects, site files, the vendor's enrolment)."""
    report = tmp_path_factory.mktemp("peak") / "run"
    return report, peak(simulator, report)


def test_a_small_peak_morning_reaches_the_platform_whole(world: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    report, done = world
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout
    s = summary(report)
    f = s["figures"]
    assert s["scenario"] == "peak" and s["verdict"] == "passed"
    assert f["records"] == 3 * 87 and f["records_held"] == 3 * 87 and f["strangers"] > 0
    assert (f["lost"], f["duplicated"], f["unexpected"], f["pushes_failed"]) == (0, 0, 0, 0)
    assert f["pushes"] == f["records"] + f["strangers"]
    assert f["e2e_p99_s"] is not None and 0 < f["e2e_p99_s"] < 60
    names = {row["name"]: row for row in s["locust"]}
    assert names["ISAPI AccessControllerEvent"]["requests"] >= f["pushes"]
    sites = sorted((report / "world" / "sites").iterdir())
    assert len(sites) == 3 and len(list((report / "world" / "vendor").glob("vendor-*.db"))) == 3
    html = (report / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "jzgr load peak" in html
    assert "vendor enrolling" in done.stderr and "requests" in done.stderr  # progress while it ran


def test_a_second_run_goes_on_from_the_first_and_a_breached_threshold_fails_it(
    simulator: Served, world: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    report, first = world
    assert first.returncode == 0, first.stderr[-2000:]
    marks = tmp_path / "strict.yaml"
    marks.write_text("p95_ms: 0.001\n")
    started = time.monotonic()
    done = peak(simulator, report, "--thresholds", str(marks))
    assert done.returncode == 1, done.stderr[-3000:]
    assert "threshold breached: p95_ms" in done.stdout
    f = summary(report)["figures"]
    # the gates' serial numbers went on: nothing the vendor took was mistaken for a repeat
    assert (f["lost"], f["duplicated"], f["records_held"]) == (0, 0, 3 * 87)
    assert "0/261 workers entered" not in done.stderr  # its people were enrolled already
    assert time.monotonic() - started < 120


def test_one_master_and_two_local_workers_share_the_gates(
    simulator: Served, world: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    report, first = world
    assert first.returncode == 0, first.stderr[-2000:]
    done = peak(simulator, report, "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout
    s = summary(report)
    assert s["shards"] == 2
    assert (s["figures"]["lost"], s["figures"]["duplicated"], s["figures"]["records_held"]) == (0, 0, 3 * 87)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--scale", "0"], "--scale"),
        (["--compress", "0.5"], "--compress"),
        (["--vendor-port", "70000"], "--vendor-port"),
        (["--drain-timeout", "-1"], "--drain-timeout"),
    ],
)
def test_nonsense_is_refused_before_anything_starts(extra: list[str], says: str, tmp_path: Path) -> None:
    dead = Served(f"http://127.0.0.1:{free_port()}/open.api", "t")
    done = peak(dead, tmp_path / "run", *extra, timeout=30)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_a_simulator_that_is_down_is_reported_at_once(tmp_path: Path) -> None:
    dead = Served(f"http://127.0.0.1:{free_port()}/open.api", "t")
    started = time.monotonic()
    done = peak(dead, tmp_path / "run", timeout=30)
    assert done.returncode == 3, done.stderr
    assert "does not answer" in done.stderr and time.monotonic() - started < 15
