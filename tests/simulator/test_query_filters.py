"""Every filter the spec lists for a query method filters (issue 13, point 2): on both databases,
a site is uploaded through the reference client, then each filter is queried with a value the
data has (every row returned carries it) and with one it has not (no row at all)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from fixtures.fake import dataset, payloads
from platform_client import PlatformClient, PollPolicy
from simulator.form import decode_form
from simulator.platform import Platform
from simulator.tenants import Tenant
from standard import idcard, methods

OTHER_CORP_CODE = "91370000MA3C5LRH2X"
OTHER_NAME = "不存在的名称"
EMPTY_PROJECT = "371428209901010001"  # the tenant's, with nothing in it


def in_process(platform: Platform) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=platform.handle(decode_form(request.content.decode())).body())

    return httpx.MockTransport(answer)


@dataclass(frozen=True)
class Filter:
    method: str
    key: str
    value: Any
    other: Any
    carries: Callable[[dict[str, Any], Any], bool] | None = None  # how a row shows the value

    def holds(self, row: dict[str, Any]) -> bool:
        if self.carries is not None:
            return self.carries(row, self.value)
        return str(row.get(self.key)) == str(self.value)


def _in_details(key: str) -> Callable[[dict[str, Any], Any], bool]:
    return lambda row, value: any(d.get(key) == value for d in row["detailList"])


def _site(platform: Platform, tenant: Tenant) -> tuple[list[Filter], dict[str, dict[str, Any]]]:
    """Upload a site into the tenant's project; return the filters to try and each method's base query."""
    tenant.projects = [tenant.projectCode, EMPTY_PROJECT]
    platform.tenants.put(tenant)
    site = dataset.generate(99, 5)
    project, team = site.projects[0], site.projects[0].teams[0]
    code = project.code = tenant.projectCode
    employer = next(s for s in project.subcontractors if s["corpCode"] == team.payload["corpCode"])
    other = next(s for s in project.subcontractors if s["corpCode"] != employer["corpCode"])
    worker = team.workers[0]
    today = site.today
    day = today - timedelta(days=1)
    month = (today.replace(day=1) - timedelta(days=40)).replace(day=1)  # paid on the 10th after: in the past
    with PlatformClient(
        "http://sim/open.api",
        tenant.appid,
        tenant.appsecret,
        transport=in_process(platform),
        poll=PollPolicy(first_delay=0.0),
    ) as api:
        api.write("Corp.Upload", next(c for c in site.corps if c["corpCode"] == employer["corpCode"]))
        for sub in (employer, other):
            if sub["corpCode"] != tenant.corpCode:  # the seeded project has its own participants
                api.write("ProjectSubContractor.Add", {**sub, "projectCode": code})
        sys_no = api.write("Team.Add", {**team.payload, "projectCode": code}).result["teamSysNo"]
        # a second team, of another company, that corp filters must leave out
        api.write(
            "Team.Add",
            {**team.payload, "projectCode": code, "corpCode": other["corpCode"], "corpName": other["corpName"],
             "teamName": "木工二班"},
        )  # fmt: skip
        team.team_sys_no = sys_no
        for w in team.workers:
            w.team_sys_no = sys_no
        api.upload("ProjectWorker.Add", payloads.team_workers(team, project))
        api.write("WorkerEntryExit.Add", payloads.entry(team, project, today - timedelta(days=30)))
        api.write("WorkerContract.Add", payloads.contracts(team, project, today - timedelta(days=30)))
        api.write("WorkerAttendance.Add", payloads.attendance(team, project, day))
        payroll_code = api.write("Payroll.Add", payloads.payroll(team, project, month)).result[0]["payrollCode"]
        api.write("ProjectTraining.Add", payloads.training(project, team.workers[:2], day))

    corp, corp_name = employer["corpCode"], employer["corpName"]
    id_number, other_id = worker.id_number, idcard.make("371428", worker.person.birth, 7, True)
    in_project = {"projectCode": code}
    by_person = [("idCardType", "01", "02"), ("idCardNumber", id_number, other_id)]
    bases: dict[str, dict[str, Any]] = {
        "Corp.Query": {},
        "Project.Query": {},
        "ProjectSubContractor.Query": in_project,
        "Team.Query": in_project,
        "ProjectWorker.Query": in_project,
        "WorkerEntryExit.Query": in_project,
        "WorkerContract.Query": in_project,
        "WorkerAttendance.Query": in_project,
        "Payroll.Query": in_project,
        "ProjectTraining.Query": in_project,
    }
    cases: list[tuple[str, str, Any, Any]] = [
        ("Corp.Query", "corpCode", corp, OTHER_CORP_CODE),
        ("Corp.Query", "corpName", corp_name, OTHER_NAME),
        ("Project.Query", "projectCode", code, EMPTY_PROJECT),
        ("Project.Query", "contractorCorpCode", tenant.corpCode, OTHER_CORP_CODE),
        ("Project.Query", "contractorCorpName", tenant.corpName, OTHER_NAME),
        ("ProjectSubContractor.Query", "projectCode", code, EMPTY_PROJECT),
        ("ProjectSubContractor.Query", "corpCode", corp, OTHER_CORP_CODE),
        ("ProjectSubContractor.Query", "corpName", corp_name, OTHER_NAME),
        ("Team.Query", "projectCode", code, EMPTY_PROJECT),
        ("Team.Query", "teamSysNo", sys_no, 1_999_999_999),
        ("Team.Query", "teamName", team.name, OTHER_NAME),
        ("Team.Query", "corpCode", corp, OTHER_CORP_CODE),
        ("Team.Query", "corpName", corp_name, OTHER_NAME),
        *[
            (m, k, v, o)
            for m in ("ProjectWorker.Query", "WorkerEntryExit.Query", "WorkerContract.Query", "Payroll.Query")
            for k, v, o in [("corpCode", corp, OTHER_CORP_CODE), ("corpName", corp_name, OTHER_NAME)]
        ],
        ("ProjectWorker.Query", "teamSysNo", sys_no, 1_999_999_999),
        ("ProjectWorker.Query", "teamName", team.name, OTHER_NAME),
        ("ProjectWorker.Query", "projectCode", code, EMPTY_PROJECT),
        ("WorkerEntryExit.Query", "teamSysNo", sys_no, 1_999_999_999),
        ("WorkerEntryExit.Query", "projectCode", code, EMPTY_PROJECT),
        ("WorkerContract.Query", "projectCode", code, EMPTY_PROJECT),
        ("WorkerAttendance.Query", "projectCode", code, EMPTY_PROJECT),
        ("WorkerAttendance.Query", "date", day.isoformat(), (day - timedelta(days=1)).isoformat()),
        ("WorkerAttendance.Query", "teamSysNo", sys_no, 1_999_999_999),
        ("Payroll.Query", "projectCode", code, EMPTY_PROJECT),
        ("Payroll.Query", "teamSysNo", sys_no, 1_999_999_999),
        ("Payroll.Query", "payMonth", f"{month:%Y-%m}", f"{month - timedelta(days=40):%Y-%m}"),
        ("Payroll.Query", "payRollCode", payroll_code, "GZD000000202001001"),
        ("ProjectTraining.Query", "projectCode", code, EMPTY_PROJECT),
        ("ProjectTraining.Query", "trainingDate", day.isoformat(), today.isoformat()),
        *[
            (m, k, v, o)
            for m in ("ProjectWorker.Query", "WorkerEntryExit.Query", "WorkerContract.Query", "WorkerAttendance.Query")
            for k, v, o in by_person
        ],
    ]
    special = {
        ("WorkerAttendance.Query", "date"): lambda row, value: row["date"][:10] == value,
        ("Payroll.Query", "payRollCode"): lambda row, value: row["payrollCode"] == value,
        ("Payroll.Query", "idCardType"): _in_details("idCardType"),
        ("Payroll.Query", "idCardNumber"): _in_details("idCardNumber"),
    }
    cases += [("Payroll.Query", k, v, o) for k, v, o in by_person]
    filters = [Filter(m, k, v, o, special.get((m, k))) for m, k, v, o in cases]
    return filters, bases


def test_every_listed_filter_filters(platform: Platform, tenants: list[Tenant]) -> None:
    tenant = tenants[0]
    filters, bases = _site(platform, tenant)
    worker_query = {"idCardType": "01"}  # Worker.Query: not paged, one worker by ID
    with PlatformClient("http://sim/open.api", tenant.appid, tenant.appsecret, transport=in_process(platform)) as api:
        wrong: list[str] = []
        for f in filters:
            query = {"pageIndex": 0, "pageSize": 50, **bases[f.method]}
            hit = api.query(f.method, {**query, f.key: f.value})["rows"]
            miss = api.query(f.method, {**query, f.key: f.other})["rows"]
            if not hit or not all(f.holds(r) for r in hit):
                wrong.append(f"{f.method} {f.key}={f.value!r}: {len(hit)} rows, not all carrying it")
            if miss:
                wrong.append(f"{f.method} {f.key}={f.other!r}: {len(miss)} rows, expected none")
        assert not wrong, "\n".join(wrong)

        team_rows = api.query("Team.Query", {"pageIndex": 0, "pageSize": 50, **bases["Team.Query"]})["rows"]
        assert len({r["corpCode"] for r in team_rows}) == 2  # the corp filters above had a team to leave out
        person = next(f for f in filters if f.method == "ProjectWorker.Query" and f.key == "idCardNumber")
        found = api.query("Worker.Query", {**worker_query, "idCardNumber": person.value})["rows"]
        assert [r["idCardNumber"] for r in found] == [person.value]
        other_type = api.query("Worker.Query", {"idCardType": "02", "idCardNumber": person.value})["rows"]
        assert other_type == []
        assert api.query("Worker.Query", {**worker_query, "idCardNumber": person.other})["rows"] == []


def test_every_query_of_the_catalogue_is_covered(platform: Platform, tenants: list[Tenant]) -> None:
    """The spec's filter list of each query method with stored data, against the request models:
    a filter added to a model without a test here fails this."""
    tested = {
        "Corp.Query": {"corpCode", "corpName"},
        "Project.Query": {"projectCode", "contractorCorpCode", "contractorCorpName"},
        "ProjectSubContractor.Query": {"projectCode", "corpCode", "corpName"},
        "Team.Query": {"projectCode", "teamSysNo", "teamName", "corpCode", "corpName"},
        "ProjectWorker.Query": {
            "projectCode", "corpCode", "corpName", "teamSysNo", "teamName", "idCardType", "idCardNumber"
        },
        "Worker.Query": {"idCardType", "idCardNumber"},
        "WorkerEntryExit.Query": {"projectCode", "corpCode", "corpName", "teamSysNo", "idCardType", "idCardNumber"},
        "WorkerContract.Query": {"projectCode", "corpCode", "corpName", "idCardType", "idCardNumber"},
        "WorkerAttendance.Query": {"projectCode", "date", "teamSysNo", "idCardType", "idCardNumber"},
        "Payroll.Query": {
            "projectCode", "corpCode", "corpName", "teamSysNo", "payMonth", "payRollCode", "idCardType",
            "idCardNumber",
        },
        "ProjectTraining.Query": {"projectCode", "trainingDate"},
    }  # fmt: skip
    for name, keys in tested.items():
        fields = set(methods.METHODS[name].request.model_fields) - {"pageIndex", "pageSize"}
        assert fields == keys, name
