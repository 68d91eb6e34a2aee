"""``jzgr load platform`` against a served simulator: a short, small morning with nothing lost or
duplicated, alone and as one locust master with two workers; a breached threshold fails the run;
nonsense is refused before any load; a platform that is down is reported at once."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jzgr.cli import main
from standard.envelope import today_beijing

from .conftest import JZGR, Served, free_port

SMALL = ["--scale", "0.005", "--compress", "1200"]  # 7 projects × 87 workers, the hour in 3 s


def load(served: Served, report: Path, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            JZGR,
            "load",
            "platform",
            "--url",
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


def loose(tmp_path: Path) -> Path:
    marks = tmp_path / "loose.yaml"
    marks.write_text("p95_ms: 60000\np99_ms: 60000\nerror_rate: 0\nlost: 0\nduplicated: 0\n")
    return marks


def test_a_small_morning_loses_and_duplicates_nothing(simulator: Served, tmp_path: Path) -> None:
    done = load(simulator, tmp_path / "run", "--thresholds", str(loose(tmp_path)))
    assert done.returncode == 0, done.stderr + done.stdout
    s = summary(tmp_path / "run")
    f = s["figures"]
    assert f["records"] == 7 * 87 and f["records_held"] == 7 * 87
    assert (f["lost"], f["duplicated"], f["unexpected"], f["uploads_failed"]) == (0, 0, 0, 0)
    assert f["p99_ms"] is not None and f["e2e_p99_s"] is not None
    names = {row["name"]: row for row in s["locust"]}
    assert names["WorkerAttendance.Add"]["requests"] == f["uploads"]
    assert names["AsyncHandleResult.Query"]["requests"] >= f["uploads"]  # every upload polled
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "polyline" in html and "passed" in html
    assert (tmp_path / "run" / "locust_stats.csv").read_text().count("WorkerAttendance.Add") == 1
    assert "requests" in done.stderr  # progress while it ran


def test_a_breached_threshold_fails_the_run(simulator: Served, tmp_path: Path) -> None:
    marks = tmp_path / "strict.yaml"
    marks.write_text("p95_ms: 0.001\n")
    done = load(simulator, tmp_path / "run", "--thresholds", str(marks), "--no-poll")
    assert done.returncode == 1, done.stderr
    assert "threshold breached: p95_ms" in done.stdout
    assert summary(tmp_path / "run")["verdict"] == "failed"
    assert summary(tmp_path / "run")["figures"]["lost"] == 0  # the same simulator, run again: baseline subtracted


def test_one_master_and_two_workers_share_the_morning(simulator: Served, tmp_path: Path) -> None:
    done = load(simulator, tmp_path / "run", "--workers", "2", "--thresholds", str(loose(tmp_path)), "--no-poll")
    assert done.returncode == 0, done.stderr + done.stdout
    s = summary(tmp_path / "run")
    assert s["shards"] == 2
    f = s["figures"]
    assert (f["records_held"], f["lost"], f["duplicated"], f["uploads_failed"]) == (7 * 87, 0, 0, 0)
    # the master's locust statistics are the sum of both workers'
    assert {row["name"]: row for row in s["locust"]}["WorkerAttendance.Add"]["requests"] == f["uploads"]


def test_a_platform_too_slow_for_the_time_limit_is_cut_short_and_what_was_answered_kept(
    simulator: Served, tmp_path: Path
) -> None:
    admin = simulator.url.removesuffix("/open.api") + "/admin/api"
    auth = {"Authorization": f"Bearer {simulator.token}"}
    fault = {"kind": "latency", "method": "WorkerAttendance.Add", "latency_ms": 20_000, "probability": 0.5}
    httpx.post(f"{admin}/faults", json=fault, headers=auth, timeout=10).raise_for_status()
    try:
        started = time.monotonic()
        # its own seed, so its own projects: the uploads still held back land on nobody else's run
        marks = str(loose(tmp_path))
        done = load(simulator, tmp_path / "run", "--time-limit", "6", "--no-poll", "--seed", "7", "--thresholds", marks)
        assert time.monotonic() - started < 60  # not the 20 s of every second upload, times hundreds
    finally:
        httpx.delete(f"{admin}/faults", headers=auth, timeout=10)
    assert done.returncode == 1 and "time limit" in done.stderr
    s = summary(tmp_path / "run")
    f = s["figures"]
    assert s["cut_short"] and 0 < f["uploads_failed"] < f["uploads"]  # the fast half was answered and kept
    assert f["lost"] == 0 and f["p50_ms"] is not None


def test_a_platform_that_is_down_is_reported_in_one_line_at_once(tmp_path: Path) -> None:
    nobody = Served(f"http://127.0.0.1:{free_port()}/open.api", "t")
    started = time.monotonic()
    done = load(nobody, tmp_path / "run", timeout=30)
    assert done.returncode == 3
    assert time.monotonic() - started < 20
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the platform at") and "does not answer" in lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--scale", "0"], "--scale"),
        (["--compress", "0"], "--compress"),
        (["--peak-factor", "0.5"], "peak factor"),
        (["--batch-size", "50"], "batch size"),
        (["--rate", "100"], "--rate and --duration together"),
        (["--rate", "-5", "--duration", "10"], "--rate"),
        (["--window-start", "7am"], "--window-start"),
        (["--workers", "-1"], "--workers"),
    ],
)
def test_nonsense_parameters_are_refused_before_any_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    # the URL has nobody behind it: a refusal after the platform was contacted would be exit 3
    url = f"http://127.0.0.1:{free_port()}/open.api"
    with pytest.raises(SystemExit) as ended:
        main(["load", "platform", "--url", url, "--admin-token", "t", "--report-dir", str(tmp_path), *args])
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0]


@pytest.mark.parametrize("text", ["p95_ms: -3", "nonsense: 1", "[1, 2"])
def test_a_thresholds_file_that_makes_no_sense_is_refused_before_any_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    marks = tmp_path / "marks.yaml"
    marks.write_text(text)
    url = f"http://127.0.0.1:{free_port()}/open.api"
    with pytest.raises(SystemExit) as ended:
        main(
            [
                "load",
                "platform",
                "--url",
                url,
                "--admin-token",
                "t",
                "--report-dir",
                str(tmp_path),
                "--thresholds",
                str(marks),
            ]
        )
    assert ended.value.code == 2
    assert capsys.readouterr().err.startswith("error: --thresholds")


def test_without_an_admin_token_the_sites_must_be_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JZGR_ADMIN_TOKEN", raising=False)
    with pytest.raises(SystemExit) as ended:
        main(["load", "platform", "--url", "http://127.0.0.1:9/open.api", "--report-dir", str(tmp_path)])
    assert ended.value.code == 2
    assert "--credentials and --dataset" in capsys.readouterr().err


def _dataset(folder: Path, day: date) -> Path:
    subprocess.run(
        [JZGR, "fixtures", "generate", "--out", str(folder), "--seed", "99", "--workers", "87", "--today", str(day)],
        check=True,
        capture_output=True,
    )
    return folder


def test_a_platform_not_ours_is_loaded_from_its_credentials_and_dataset(simulator: Served, tmp_path: Path) -> None:
    yesterday = today_beijing() - timedelta(days=1)
    folder = _dataset(tmp_path / "site", yesterday)
    admin = simulator.url.removesuffix("/open.api") + "/admin/api"
    answer = httpx.post(
        f"{admin}/seed-dataset",
        json={"path": str(folder)},
        headers={"Authorization": f"Bearer {simulator.token}"},
        timeout=60,
    )
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(answer.json()), encoding="utf-8")
    run = [JZGR, "load", "platform", "--url", simulator.url, "--report-dir", str(tmp_path / "run")]
    common = ["--scale", "0.001", "--compress", "1200", "--thresholds", str(loose(tmp_path)), "--no-poll"]
    env = {k: v for k, v in os.environ.items() if k != "JZGR_ADMIN_TOKEN"}
    done = subprocess.run(
        [*run, *common, "--tenant-file", str(creds), "--dataset", str(folder)],  # the old spelling still works
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    f = summary(tmp_path / "run")["figures"]
    assert (f["records"], f["records_held"], f["lost"], f["duplicated"]) == (87, 87, 0, 0)

    late = _dataset(tmp_path / "today", yesterday + timedelta(days=1))
    refused = subprocess.run(
        [*run, *common, "--credentials", str(creds), "--dataset", str(late)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert refused.returncode == 2 and "generate it with --today" in refused.stderr
