"""The simulator passes the full server conformance plan (strict) on both databases, and the plan
detects every named defect switched on in the simulator."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from conformance import runner
from conformance.catalogue import REGISTRY, Check, CheckFailed
from conformance.target import Target
from jzgr.cli import main
from simulator import server
from simulator.clock import Clock
from simulator.config import DEFECTS
from simulator.platform import Platform
from simulator.server import RunningServer
from simulator.tenants import Tenant
from standard import requirements
from standard.envelope import BEIJING
from tests.simulator.conftest import plan_tenant

# Which check must catch which defect (the detection table in docs/conformance.md).
DETECTED_BY = {
    "accept-bad-signature": "SIG-02",
    "ignore-timestamp-window": "TS-01",
    "accept-replayed-nonce": "NONCE-01",
    "plaintext-id-in-rows": "AES-03",
    "worker-list-6": "LIM-01",
    "page-index-one-based": "PAGE-02",
    "accept-future-dates": "RULE-05",
    "leak-other-tenant": "TEN-01",
    "duplicate-worker-succeeds": "RULE-01",
    "page-size-unbounded": "PAGE-01",
    "attendance-list-21": "LIM-02",
    "accept-aes128": "AES-02",
    "result-without-team-sys-no": "ASYNC-02",
    "duplicate-team-succeeds": "RULE-02",
}


def test_every_defect_has_a_detecting_check() -> None:
    assert set(DETECTED_BY) == set(DEFECTS) and len(DEFECTS) >= 12


def test_full_plan_passes_in_under_a_minute(served: RunningServer, platform: Platform, tenants: list[Tenant]) -> None:
    target = Target(served.url, plan_tenant(tenants[0]), plan_tenant(tenants[1]), poll_interval=0.05)
    started = time.monotonic()
    run = runner.run(target, plan="full", seed=7)
    elapsed = time.monotonic() - started
    failures = {r.check.id: r.message[:300] for r in run.results if r.status in ("failed", "error")}
    assert failures == {}
    assert run.ok and elapsed < 60
    assert {r.check.id for r in run.results if r.status == "skipped"} == {"RATE-01"}
    # every answer of the plan's requests is logged under a requirement of the one registry
    logged = {e.check_id for e in platform.traffic.query(newest_first=False, limit=1_000_000)}
    assert logged - {"FAULT", "INTERNAL"} <= set(requirements.registry())
    assert {"REQ-ASYNC-01", "REQ-ASYNC-02", "REQ-FMT-01", "REQ-FMT-02", "REQ-LIM-02", "REQ-TEN-01"} <= logged


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_the_plan_detects_each_defect(defect: str, platform: Platform, tenants: list[Tenant]) -> None:
    platform.settings.defects = frozenset({defect})
    running = server.start(platform)
    try:
        target = Target(running.url, plan_tenant(tenants[0]), plan_tenant(tenants[1]), poll_interval=0.05)
        checks = [c.id for c in runner.select("full", "strict") if c.area != "fuzzing"]
        run = runner.run(target, only=checks, seed=11)
    finally:
        running.stop()
    failed = {r.check.id for r in run.results if r.status in ("failed", "error")}
    assert DETECTED_BY[defect] in failed, f"{defect} not detected; failed checks: {sorted(failed)}"
    detector = next(r.check for r in run.results if r.check.id == DETECTED_BY[defect])
    assert run.ok is (detector.severity == "should")  # a failed must check fails the run


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_rate_limit_check_passes_against_a_limited_tenant(platform: Platform, tenants: list[Tenant]) -> None:
    tenants[0].rate_limit = 5
    platform.tenants.put(tenants[0])
    running = server.start(platform)
    try:
        target = Target(running.url, plan_tenant(tenants[0]))
        target.cache["rate_burst"] = 20
        run = runner.run(target, only=["RATE-01"])
    finally:
        running.stop()
    assert [(r.check.id, r.status) for r in run.results] == [("RATE-01", "passed")]
    codes = [e.envelope.code for e in run.results[0].exchanges if e.envelope]
    assert codes[:5] == [0] * 5 and codes[-1] == -5


@contextmanager
def _process_zone(zone: str) -> Iterator[None]:
    """Run with this process's local zone set to ``zone`` (TZ and tzset), restored afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


# Moments at which the machine's date differs from Beijing's: Kiritimati (UTC+14) is already on
# the next day at 20:30 Beijing, Los Angeles (UTC-8) still on the previous day at 07:30.
ZONES = [
    ("Pacific/Kiritimati", datetime(2026, 3, 1, 20, 30, tzinfo=BEIJING)),
    ("America/Los_Angeles", datetime(2026, 3, 1, 7, 30, tzinfo=BEIJING)),
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("zone", "moment"), ZONES)
def test_dated_checks_take_now_in_beijing_whatever_the_machine_zone(
    zone: str, moment: datetime, served: RunningServer, tenants: list[Tenant], clock: Clock
) -> None:
    clock.set(moment)  # the platform's clock and the plan's clock: one moment, not the day the test runs
    with _process_zone(zone):
        assert moment.astimezone().date() != moment.date()  # at that moment the machine is on another day
        target = Target(served.url, plan_tenant(tenants[0]), plan_tenant(tenants[1]), poll_interval=0.05)
        target.clock = clock.now
        checks = [c.id for c in runner.select("full", "strict") if c.area != "fuzzing"]
        run = runner.run(target, only=checks, seed=5)
    failures = {r.check.id: r.message[:200] for r in run.results if r.status in ("failed", "error")}
    assert failures == {} and run.ok
    assert {"RULE-04", "RULE-05", "RULE-06", "RULE-07", "LIM-02", "FMT-04"} <= {r.check.id for r in run.results}


def test_no_check_reads_the_machine_zone() -> None:
    """Every "now" of the plan comes from the target's clock, never the host's local time."""
    local = re.compile(r"datetime\.now\(\)|date\.today\(\)|time\.localtime|datetime\.today\(\)")
    package = Path(runner.__file__).parent
    offenders = [
        f"{p.name}:{i}"
        for p in package.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if local.search(line)
    ]
    assert offenders == []


# ---- jzgr conform server against the served simulator: verdicts that cannot mislead ----------


def _conform(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["conform", "server", *args])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def _credentials(path: Path, url: str, tenants: list[Tenant]) -> Path:
    path.write_text(json.dumps({"url": url, "tenants": [t.credentials() for t in tenants]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_platform_without_replay_protection_passes_only_with_its_failure_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, platform: Platform, tenants: list[Tenant]
) -> None:
    platform.settings.defects = frozenset({"accept-replayed-nonce"})
    running = server.start(platform)
    try:
        creds = _credentials(tmp_path / "creds.json", running.url, tenants[:2])
        args = ["--credentials", str(creds), "--only", "NONCE-01", "--only", "SIG-01", "--seed", "3"]
        code, out, err = _conform(capsys, *args, "--report-dir", str(tmp_path / "a"))
        assert code == 0 and out.splitlines()[0] == "PASS with 1 failed recommendation: NONCE-01"
        assert "the replayed request was accepted" in err  # why, on the terminal, not only in report.html
        code, out, _ = _conform(capsys, *args, "--report-dir", str(tmp_path / "b"), "--fail-on", "should")
        assert code == 1 and out.splitlines()[0] == "FAIL (fail on should): 1 failed recommendation: NONCE-01"
    finally:
        running.stop()
    report = json.loads((tmp_path / "b" / "report.json").read_text(encoding="utf-8"))
    assert report["ok"] is False and report["fail_on"] == "should"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_wrong_appsecret_is_one_line_and_no_evidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, served: RunningServer, tenants: list[Tenant]
) -> None:
    entry = {**tenants[0].credentials(), "appsecret": "f" * 32}
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"url": served.url, "tenants": [entry]}), encoding="utf-8")
    code, out, err = _conform(capsys, "--credentials", str(creds), "--report-dir", str(tmp_path / "out"))
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1
    assert lines[0].startswith("error: the platform refuses these credentials: -2 ")
    assert lines[0].endswith(f"(check appid/appsecret of {tenants[0].appid} in {creds})")
    assert list((tmp_path / "out").iterdir()) == []
    entry["appid"] = "37140299999999999"  # an appid the platform does not know
    creds.write_text(json.dumps({"url": served.url, "tenants": [entry]}), encoding="utf-8")
    code, _, err = _conform(capsys, "--credentials", str(creds), "--report-dir", str(tmp_path / "out"))
    assert code == 2 and "refuses these credentials: -1 请求参数无效:appid无效!" in err
    second = {**tenants[1].credentials(), "appsecret": "e" * 32}  # the isolation checks' tenant is checked too
    creds.write_text(json.dumps({"url": served.url, "tenants": [tenants[0].credentials(), second]}), encoding="utf-8")
    code, _, err = _conform(capsys, "--credentials", str(creds), "--report-dir", str(tmp_path / "out"))
    assert code == 2 and f"(check appid/appsecret of {tenants[1].appid} in {creds})" in err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_failure_reasons_print_bracketed_field_paths_whole(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    served: RunningServer,
    tenants: list[Tenant],
) -> None:
    reason = "refused with -1 but the message lacks '[workerList][0][idCardNumber]校验位不正确!': '[red]x[/red]'"

    def fails(target: object) -> None:
        raise CheckFailed(reason)

    monkeypatch.setitem(
        REGISTRY, "ZZZ-01", Check("ZZZ-01", "A check that fails.", requirements.get("REQ-FMT-03"), "zzz", fails)
    )
    creds = _credentials(tmp_path / "creds.json", served.url, tenants[:1])
    code, out, err = _conform(capsys, "--credentials", str(creds), "--report-dir", str(tmp_path), "--only", "ZZZ-01")
    assert code == 1 and out.splitlines()[0] == "FAIL: 1 failed requirement: ZZZ-01"
    assert f"          {reason}" in err.splitlines()
