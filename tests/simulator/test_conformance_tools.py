"""The conformance plan's other entry points against the served simulator: the pytest plugin,
and the fuzzer's differential oracle catching a platform that accepts what the standard refuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conformance.fuzz import judge
from conformance.target import Target
from simulator import server
from simulator.platform import Platform
from simulator.server import RunningServer
from simulator.tenants import Tenant
from standard import idcard, methods
from tests.simulator.conftest import plan_tenant

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pytest_plugin_runs_the_smoke_plan(
    pytester: pytest.Pytester, served: RunningServer, tenants: list[Tenant]
) -> None:
    creds = pytester.path / "creds.json"
    creds.write_text(
        json.dumps({"url": served.url, "tenants": [t.credentials() for t in tenants[:2]]}), encoding="utf-8"
    )
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")  # a vendor's own pytest.ini
    result = pytester.runpytest_inprocess(
        "--jzgr-credentials", str(creds), "--jzgr-plan", "smoke", "--junitxml", str(pytester.path / "j.xml")
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 15 and "failed" not in outcomes
    junit = (pytester.path / "j.xml").read_text(encoding="utf-8")
    assert 'name="SIG-02"' in junit and 'name="clause"' in junit


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pytest_plugin_reports_a_failing_check(
    pytester: pytest.Pytester, platform: Platform, tenants: list[Tenant]
) -> None:
    platform.settings.defects = frozenset({"accept-bad-signature"})
    running = server.start(platform)
    try:
        creds = pytester.path / "creds.json"
        creds.write_text(json.dumps({"url": running.url, "tenants": [tenants[0].credentials()]}), encoding="utf-8")
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        # the option's old name keeps working for existing CI scripts
        result = pytester.runpytest_inprocess("--jzgr-tenant-file", str(creds), "--jzgr-only", "signature")
    finally:
        running.stop()
    result.assert_outcomes(passed=2, failed=5)
    assert "SIG-02 (REQ-SIG-02, interface.md §3.1, §3.2" in result.stdout.str()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pytest_plugin_stops_at_refused_credentials_or_an_unknown_check(
    pytester: pytest.Pytester, served: RunningServer, tenants: list[Tenant]
) -> None:
    creds = pytester.path / "creds.json"
    entry = {**tenants[0].credentials(), "appsecret": "f" * 32}
    creds.write_text(json.dumps({"url": served.url, "tenants": [entry]}), encoding="utf-8")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    refused = pytester.runpytest_inprocess("--jzgr-credentials", str(creds))
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert "the platform refuses these credentials: -2" in refused.stderr.str()
    creds.write_text(json.dumps({"url": served.url, "tenants": [tenants[0].credentials()]}), encoding="utf-8")
    typo = pytester.runpytest_inprocess("--jzgr-credentials", str(creds), "--jzgr-only", "SIG-2")
    assert typo.ret == pytest.ExitCode.USAGE_ERROR and "unknown check id or area SIG-2" in typo.stderr.str()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_differential_oracle_catches_an_over_long_list(platform: Platform, tenants: list[Tenant]) -> None:
    platform.settings.defects = frozenset({"attendance-list-21"})
    running = server.start(platform)
    try:
        target = Target(running.url, plan_tenant(tenants[0]))
        when = (target.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")  # Beijing, as the platform
        record = {
            "idCardType": "01",
            "idCardNumber": idcard.make("371402", datetime(1990, 1, 1).date(), 1, True),
            "date": when,
            "direction": "01",
        }
        data = {"projectCode": tenants[0].projectCode, "teamSysNo": 100000001, "dataList": [record] * 21}
        expected, got, _ = judge(target, methods.METHODS["WorkerAttendance.Add"], data)
    finally:
        running.stop()
    assert (expected, got) == ("refused -1", "accepted")


def test_openapi_document_is_published(tmp_path: Path) -> None:
    from conformance.openapi import document

    doc = document()
    assert len(doc["paths"]) == len([m for m in methods.METHODS.values() if not m.regional])
    body = doc["paths"]["/methods/ProjectWorker.Add"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ProjectWorkerAdd"}
    item = doc["components"]["schemas"]["WorkerItemAdd"]["properties"]
    assert item["idCardNumber"]["format"] == "gb11643" and "020" in item["workType"]["enum"]
    assert doc["components"]["schemas"]["ProjectWorkerAdd"]["properties"]["workerList"]["maxItems"] == 5
