"""Runner verdicts, waivers and report formats, against a target that is not there (connection
refused), so every check that talks to it fails for real."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conformance import runner
from conformance.catalogue import Severity, all_checks
from conformance.reports import bundle, evidence
from conformance.target import Target, Tenant
from conformance.waivers import Waiver, WaiverError, active, load
from standard.envelope import BEIJING

TODAY = datetime(2026, 3, 1).date()  # waivers are judged against a given day, never the day the tests run


@pytest.fixture
def target(dead_url: str) -> Target:
    return Target(
        dead_url,
        Tenant("37140220190101001", "0123456789abcdef0123456789abcdef", projectCode="37140220190101001"),
        poll_timeout=0.1,
    )


def test_a_dead_target_fails_must_checks(target: Target) -> None:
    run = runner.run(target, only=["ENV-01", "SIG-01"])
    assert [r.status for r in run.results] == ["failed", "failed"]
    assert not run.ok
    assert "got 0" in run.results[0].message
    assert "Connection refused" in run.results[0].exchanges[0].body


def test_waived_checks_are_reported_waived_and_are_not_failures(target: Target) -> None:
    waiver = Waiver("ENV-01", "platform answers 302 to form posts until the 2027 release", TODAY + timedelta(days=1))
    run = runner.run(target, only=["ENV-01"], waivers={"ENV-01": waiver})
    assert run.results[0].status == "waived" and run.failed("must") == []
    assert "outcome without the waiver: failed" in run.results[0].message
    assert not run.ok and run.verdict() == "FAIL: no check passed (1 waived)"  # nothing was shown to conform


def _run(*outcomes: tuple[str, runner.Status], fail_on: Severity = "must") -> runner.Run:
    """A run with these (check id, status) results, as the runner records them."""
    checks = all_checks()
    run = runner.Run("full", "strict", "http://platform/open.api", 1, datetime(2026, 3, 1, tzinfo=BEIJING))
    run.fail_on = fail_on
    run.results = [runner.Result(checks[i], status, "why", [], 0.0) for i, status in outcomes]
    return run


def test_a_failed_recommendation_cannot_hide_in_a_pass() -> None:
    run = _run(("SIG-01", "passed"), ("NONCE-01", "failed"), ("TS-01", "passed"))
    assert run.ok and run.verdict() == "PASS with 1 failed recommendation: NONCE-01"
    assert run.to_json()["verdict"] == run.verdict()
    strict = _run(("SIG-01", "passed"), ("NONCE-01", "failed"), fail_on="should")
    assert not strict.ok and strict.verdict() == "FAIL (fail on should): 1 failed recommendation: NONCE-01"


def test_failed_requirements_are_named_errors_included() -> None:
    run = _run(("SIG-01", "passed"), ("SIG-02", "failed"), ("ENV-01", "error"), ("NONCE-01", "failed"))
    assert not run.ok
    assert run.verdict() == "FAIL: 2 failed requirements: SIG-02, ENV-01 (error); 1 failed recommendation: NONCE-01"
    assert _run(("SIG-01", "passed"), ("SIG-02", "waived")).verdict() == "PASS"


def test_a_run_where_no_check_passed_never_passes() -> None:
    assert not runner.Run("full", "strict", "u", 1, datetime(2026, 3, 1, tzinfo=BEIJING)).ok
    skipped = _run(("TEN-01", "skipped"))
    assert not skipped.ok and skipped.verdict() == "FAIL: no check passed (1 skipped)"


def test_only_names_are_checked() -> None:
    with pytest.raises(runner.SelectionError, match="did you mean NONCE-01"):
        runner.select("full", "strict", ["NONCE-1"])
    assert [c.id for c in runner.select("full", "strict", ["sig-02", "Replay"])] == [
        "NONCE-01",
        "SIG-02",
        "TS-01",
        "TS-02",
    ]


def test_expired_waivers_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n"
        "  - {check: ENV-01, reason: old, expires: 2020-01-01}\n"
        "  - {check: SIG-05, reason: current, expires: 2999-01-01}\n",
        encoding="utf-8",
    )
    assert set(active(load(path), TODAY)) == {"SIG-05"}


@pytest.mark.parametrize(
    "text", ["waivers: [{check: X}]", "waivers: 3", "[", "waivers: [{check: X, reason: '', expires: 2030-01-01}]"]
)
def test_malformed_waiver_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WaiverError):
        load(path)


def test_reports_are_written_and_consistent(target: Target, tmp_path: Path) -> None:
    run = runner.run(target, plan="smoke", only=["ENV-01", "SIG-01", "TEN-01"])
    written = bundle.write_all(run, tmp_path)
    suites = ET.parse(written.junit).getroot()
    failures = sum(int(s.get("failures", "0")) for s in suites)
    skipped = sum(int(s.get("skipped", "0")) for s in suites)
    assert failures == 2 and skipped == 1  # TEN-01 skips: no second tenant
    report = json.loads(written.json.read_text(encoding="utf-8"))
    assert report["ok"] is False and report["counts"]["failed"] == 2
    assert report["meta"]["spec_sha256"] == bundle.spec_hash()
    page = written.html.read_text(encoding="utf-8")
    assert '<svg id="chart"' in page and page.count("<rect") >= 2 and "ENV-01" in page
    # every report names the requirement each check tests, with the registry's clause (issue 14)
    assert [(r["id"], r["requirement"]) for r in report["results"]][:2] == [
        ("ENV-01", "REQ-ENV-01"),
        ("SIG-01", "REQ-SIG-01"),
    ]
    assert report["results"][1]["clause"] == "interface.md §3.1, §3.3" and "<td>REQ-SIG-01</td>" in page
    case = next(c for s in suites for c in s.iter("testcase") if c.get("name", "").startswith("SIG-01"))
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["requirement"] == "REQ-SIG-01"
    verified = evidence.verify(written.evidence.read_bytes())
    assert verified.manifest["seed"] == run.seed and [c[0] for c in verified.manifest["checks"]] == [
        "ENV-01",
        "SIG-01",
        "TEN-01",
    ]


def test_html_report_escapes_statements_and_platform_bodies(target: Target, tmp_path: Path) -> None:
    run = runner.run(target, only=["ASYNC-01"])
    run.results[0].exchanges[0].body = "<script>alert(1)</script>"
    page = bundle.write_all(run, tmp_path).html.read_text(encoding="utf-8")
    assert "&lt;entity&gt;-&lt;op&gt;" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_reports_say_when_a_throwaway_key_signed_them(target: Target, tmp_path: Path) -> None:
    run = runner.run(target, only=["ENV-01"])
    page = bundle.write_all(run, tmp_path / "a").html.read_text(encoding="utf-8")
    assert "signed with a throwaway key" in page
    manifest = evidence.verify((tmp_path / "a" / "evidence.zip").read_bytes()).manifest
    assert manifest["throwaway_key"] is True and manifest["verdict"] == "FAIL: 1 failed requirement: ENV-01"
    kept = bundle.write_all(run, tmp_path / "b", signing_key=tmp_path / "key.pem")
    assert "signed with a throwaway key" not in kept.html.read_text(encoding="utf-8")
    assert evidence.verify(kept.evidence.read_bytes()).manifest["throwaway_key"] is False
