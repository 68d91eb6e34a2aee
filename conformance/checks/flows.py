"""The stateful flow: team → workers → entry → contract → attendance → payroll, then the queries
return what was written (interface.md §10.1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from conformance import setup
from conformance.catalogue import check, expect
from conformance.checks.oracles import expect_code
from conformance.target import Target
from standard import methods, payload


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(str(r.get("idCardNumber")) for r in rows)


def _rows(target: Target, method: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    exchange = target.call(method, {"pageIndex": 0, "pageSize": 50, **data})
    expect_code(exchange, 0)
    env = exchange.envelope
    rows = env.data.get("rows", []) if env and isinstance(env.data, dict) else []
    spec = methods.METHODS[method]
    out = []
    for row in rows:
        plain, failures = payload.decrypt(spec.row, row, target.tenant.appsecret) if spec.row else (row, [])
        expect(not failures, f"{method} row does not decrypt: {failures}")
        out.append(plain)
    return out


@check(
    "FLOW-01",
    "The full upload flow succeeds in order and every query returns what was written.",
    requirement="REQ-FLOW-01",
    area="flows",
    smoke=True,
)
def flow_01(target: Target) -> None:
    f = setup.factory(target)
    sub = f.subcontractor()
    setup.write_ok(target, "ProjectSubContractor.Add", sub)
    team = f.team(sub["corpCode"], sub["corpName"])
    sys_no = int(setup.write_ok(target, "Team.Add", team)["teamSysNo"])
    workers = [f.worker() for _ in range(5)]
    ids = [w["idCardNumber"] for w in workers]
    setup.write_ok(target, "ProjectWorker.Add", f.workers_payload(team, sys_no, workers))
    day = (f.now - timedelta(days=2)).date()
    setup.write_ok(target, "WorkerEntryExit.Add", f.entry(team, sys_no, ids, day))
    setup.write_ok(target, "WorkerContract.Add", f.contract(team, ids))
    start = datetime.combine(f.now.date() - timedelta(days=1), datetime.min.time()) + timedelta(hours=7)
    attendance = f.attendance(sys_no, ids, start, 20)
    setup.write_ok(target, "WorkerAttendance.Add", attendance)
    payroll = f.payroll(team, sys_no, ids)
    setup.write_ok(target, "Payroll.Add", payroll)

    project = target.tenant.projectCode
    teams = _rows(target, "Team.Query", {"projectCode": project, "teamSysNo": sys_no})
    expect([t.get("teamName") for t in teams] == [team["teamName"]], f"Team.Query returned {teams!r}")
    got_workers = _rows(target, "ProjectWorker.Query", {"projectCode": project, "teamSysNo": sys_no})
    expect(_ids(got_workers) == sorted(ids), "ProjectWorker.Query ID numbers differ")
    names = {w["idCardNumber"]: w["workerName"] for w in workers}
    expect(
        all(w.get("workerName") == names.get(str(w.get("idCardNumber"))) for w in got_workers), "worker names differ"
    )
    entries = _rows(target, "WorkerEntryExit.Query", {"projectCode": project, "teamSysNo": sys_no})
    expect(_ids(entries) == sorted(ids), f"entry rows differ: {len(entries)}")
    contracts = _rows(target, "WorkerContract.Query", {"projectCode": project, "corpCode": team["corpCode"]})
    expect(_ids(contracts) == sorted(ids), f"contract rows differ: {len(contracts)}")
    att = _rows(
        target,
        "WorkerAttendance.Query",
        {"projectCode": project, "teamSysNo": sys_no, "date": start.date().isoformat()},
    )
    sent = sorted((r["idCardNumber"], r["date"], r["direction"]) for r in attendance["dataList"])
    got = sorted((r.get("idCardNumber"), r.get("date"), r.get("direction")) for r in att)
    expect(got == sent, f"attendance rows differ: sent {len(sent)}, got {len(got)}")
    pays = _rows(
        target, "Payroll.Query", {"projectCode": project, "teamSysNo": sys_no, "payMonth": payroll["payMonth"]}
    )
    details = [d for p in pays for d in (p.get("detailList") or [p])]
    expect(
        sorted(str(d.get("idCardNumber")) for d in details) == sorted(ids), f"payroll details differ: {len(details)}"
    )
