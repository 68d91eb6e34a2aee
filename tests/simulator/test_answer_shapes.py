"""A profile relaxes what the simulator accepts, never the shape of what it answers: the same
requests to a strict and to a lenient simulator get answers whose every envelope field, down to
the async ``result`` and the rows, has the same JSON type — for every method of the catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conformance.payloads import PayloadFactory
from simulator.clock import Clock
from simulator.config import Settings
from simulator.platform import Platform
from simulator.seed import seed_demo
from simulator.store import Store
from simulator.tenants import Tenant
from standard import envelope, methods, payload
from standard.profile import LENIENT, STRICT
from tests.simulator.conftest import plan_tenant

PAGE = {"pageIndex": 0, "pageSize": 10}


def json_types(value: Any) -> Any:
    """The JSON type of a value, recursively: objects by key, lists by the set of their items'."""
    if isinstance(value, dict):
        return {k: json_types(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return ["array", sorted({json.dumps(json_types(v), sort_keys=True) for v in value})]
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string"}[type(value)]


class Session:
    """One simulator and its first tenant, spoken to in-process."""

    def __init__(self, platform: Platform, tenant: Tenant) -> None:
        self.platform, self.tenant = platform, tenant

    def send(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        spec = methods.get(method)
        assert spec is not None
        sealed = payload.encrypt(spec.request, data, self.tenant.appsecret)
        now = self.platform.clock.now()
        form = envelope.build_request(
            method,
            sealed,
            appid=self.tenant.appid,
            secret=self.tenant.appsecret,
            timestamp=envelope.format_timestamp(now),
        )
        answer: dict[str, Any] = json.loads(self.platform.handle(list(form.items())).body())
        return answer


def scenario(s: Session) -> Iterator[tuple[str, dict[str, Any]]]:
    """(step, answer) for every method: a valid request where one can be built here, an answer
    for each write's serial, and a minimal (refused) request for the rest."""
    clock_now = s.platform.clock.now().replace(tzinfo=None)
    f = PayloadFactory(plan_tenant(s.tenant), 13, now=clock_now)
    code = s.tenant.projectCode

    def write(method: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = s.send(method, data)
        yield_later.append((f"{method} result", s.send("AsyncHandleResult.Query", serial_of(answer))))
        return answer

    def serial_of(answer: dict[str, Any]) -> dict[str, Any]:
        data = answer.get("data") or {}
        return {"requestSerialCode": data.get("requestSerialCode", "team-add-2026120410-1-0000")}

    yield_later: list[tuple[str, dict[str, Any]]] = []
    team = f.team()
    added = write("Team.Add", team)
    sys_no = int(json.loads(yield_later[-1][1]["data"]["result"])["teamSysNo"])
    workers = [f.worker() for _ in range(2)]
    ids = [w["idCardNumber"] for w in workers]
    samples = {
        "ProjectWorker.Add": f.workers_payload(team, sys_no, workers),
        "WorkerEntryExit.Add": f.entry(team, sys_no, ids, (clock_now - timedelta(days=2)).date()),
        "WorkerContract.Add": f.contract(team, ids),
        "WorkerAttendance.Add": f.attendance(sys_no, ids, (clock_now - timedelta(days=1)).replace(hour=7, minute=0), 4),
        "Payroll.Add": f.payroll(team, sys_no, ids),
        "ProjectSubContractor.Add": f.subcontractor(),
        "Team.Update": {**team, "teamSysNo": sys_no, "remark": "更新"},
        "Worker.Query": {"idCardType": "01", "idCardNumber": ids[0]},
        "CheckSign.Query": {},
    }
    yield "Team.Add", added
    for spec in methods.METHODS.values():
        if spec.name in ("Team.Add", "AsyncHandleResult.Query"):
            continue
        data = samples.get(spec.name) or ({**PAGE, "projectCode": code} if spec.paged else {"projectCode": code})
        yield spec.name, (write(spec.name, data) if spec.is_async else s.send(spec.name, data))
    yield "Team.Add", write("Team.Add", f.team(corp_code=f.credit_code(), corp_name="不参建的公司"))  # status 10
    yield from yield_later


@pytest.fixture
def sessions(tmp_path: Path, clock: Clock) -> Iterator[dict[str, Session]]:
    made: dict[str, Session] = {}
    stores = []
    for profile in (STRICT, LENIENT):
        store = Store.open(f"sqlite:///{tmp_path / profile.name}.db")
        stores.append(store)
        platform = Platform(store, Settings(profile=profile, async_delay=0.0), clock)
        made[profile.name] = Session(platform, seed_demo(platform)[0])
    yield made
    for store in stores:
        store.close()


def test_every_answer_has_the_same_json_types_in_both_profiles(sessions: dict[str, Session]) -> None:
    strict = list(scenario(sessions["strict"]))
    lenient = list(scenario(sessions["lenient"]))
    assert [step for step, _ in strict] == [step for step, _ in lenient]
    covered = {step.removesuffix(" result") for step, _ in strict}
    assert covered >= set(methods.METHODS) - {"AsyncHandleResult.Query"}
    for (step, a), (_, b) in zip(strict, lenient, strict=True):
        assert json_types(a) == json_types(b), (step, a, b)
    results = [a["data"] for step, a in strict if step.endswith(" result") and a["code"] == 0]
    assert {r["status"] for r in results} >= {10, 20}  # both final outcomes are compared
    assert all(isinstance(r["result"], str) for r in results if r["status"] in (10, 20) and r["result"] is not None)
