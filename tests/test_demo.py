"""``jzgr demo`` — the README's main job — runs end to end and leaves its reports behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conformance.reports import evidence
from jzgr.cli import app, main


def test_demo_end_to_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--workers", "24"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["problems"] == [] and summary["twins_missed"] == []
    assert sum(summary["twins_caught"].values()) >= 80
    assert summary["records"]["WorkerAttendance.Add"] == 48  # 24 workers, in and out
    report = json.loads((tmp_path / "conformance" / "report.json").read_text(encoding="utf-8"))
    assert report["ok"] and report["counts"]["failed"] == 0
    assert evidence.verify((tmp_path / "conformance" / "evidence.zip").read_bytes()).manifest["ok"] is True
    assert json.loads((tmp_path / "credentials.json").read_text(encoding="utf-8"))["tenants"]
    # the reference vendor certified by the client plan, the simulator, fleet and vendor as processes
    client = json.loads((tmp_path / "client-conformance" / "report.json").read_text(encoding="utf-8"))
    assert client["plan"] == "e2e" and client["ok"] and client["counts"]["failed"] == 0
    assert f"{tmp_path / 'client-conformance' / 'report.html'}" in result.output.replace("\n", "")


def test_demo_on_a_leap_day_in_the_past(tmp_path: Path) -> None:
    # A fixed past day: on it "last month's payroll" used to be dated after the day (issue 12).
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path), "--workers", "12", "--today", "2024-02-29", "--no-client"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["today"] == "2024-02-29" and summary["problems"] == [] and summary["twins_missed"] == []


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--today", "2999-01-01"], "--today"),
        (["--today", "yesterday"], "--today"),
        (["--out", "/proc/jzgr-demo"], "--out"),
    ],
)
def test_demo_refuses_bad_input_in_one_line(args: list[str], names: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and names in err and "Traceback" not in err
