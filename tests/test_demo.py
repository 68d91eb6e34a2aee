"""``jzgr demo`` — the README's main job — runs end to end and leaves its reports behind."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from conformance.reports import evidence
from jzgr.cli import app


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
