"""The reference client against the served simulator, over real sockets, on both databases:
corp → subcontractor → team → 5 workers → entry → contract → 20 attendance → payroll, then every
query returns, decrypted, what was sent."""

from __future__ import annotations

from datetime import timedelta

from fixtures.fake import dataset, payloads
from platform_client import PlatformClient, PollPolicy
from simulator.server import RunningServer
from simulator.tenants import Tenant


def test_full_upload_flow_and_queries(served_by_each: RunningServer, tenants: list[Tenant]) -> None:
    tenant = tenants[0]
    site = dataset.generate(99, 5)
    project = site.projects[0]
    team = project.teams[0]
    code = tenant.projectCode
    employer = next(s for s in project.subcontractors if s["corpCode"] == team.payload["corpCode"])
    labour = {**employer, "projectCode": code}
    with PlatformClient(served_by_each.url, tenant.appid, tenant.appsecret, poll=PollPolicy(first_delay=0.05)) as api:
        api.write("Corp.Upload", next(c for c in site.corps if c["corpCode"] == employer["corpCode"]))
        api.write("ProjectSubContractor.Add", labour)
        body = {**team.payload, "projectCode": code}
        sys_no = api.write("Team.Add", body).result["teamSysNo"]
        assert isinstance(sys_no, int) and 1_000_000_000 <= sys_no < 10_000_000_000
        team.team_sys_no = sys_no
        for w in team.workers:
            w.team_sys_no = sys_no
        project.code = code
        workers = payloads.team_workers(team, project)
        assert len(api.upload("ProjectWorker.Add", workers)) == 1
        today = site.today
        api.write("WorkerEntryExit.Add", payloads.entry(team, project, today - timedelta(days=30)))
        api.write("WorkerContract.Add", payloads.contracts(team, project, today - timedelta(days=30)))
        day = today - timedelta(days=1)
        attendance = payloads.attendance(team, project, day)
        attendance["dataList"] = (attendance["dataList"] * 2)[:20]
        api.write("WorkerAttendance.Add", attendance)
        pay = payloads.payroll(team, project, payloads.paid_month(today))
        payroll_code = api.write("Payroll.Add", pay).result[0]["payrollCode"]

        ids = sorted(w.id_number for w in team.workers)
        rows = list(api.query_all("ProjectWorker.Query", {"projectCode": code, "teamSysNo": sys_no}))
        assert sorted(r["idCardNumber"] for r in rows) == ids
        sent = {w["idCardNumber"]: w for w in workers["workerList"]}
        for row in rows:
            assert row["workerName"] == sent[row["idCardNumber"]]["workerName"]
            assert row["payRollBankCardNumber"] == sent[row["idCardNumber"]]["payRollBankCardNumber"]
            assert row["hasContract"] == 1
        teams = api.query("Team.Query", {"pageIndex": 0, "pageSize": 10, "projectCode": code})["rows"]
        assert [t["teamName"] for t in teams] == [team.name]
        entries = list(api.query_all("WorkerEntryExit.Query", {"projectCode": code}))
        assert sorted(e["idCardNumber"] for e in entries) == ids
        contracts = list(api.query_all("WorkerContract.Query", {"projectCode": code}))
        assert sorted(c["idCardNumber"] for c in contracts) == ids
        got = list(api.query_all("WorkerAttendance.Query", {"projectCode": code, "date": day.isoformat()}))
        assert sorted((r["idCardNumber"], r["date"], r["direction"]) for r in got) == sorted(
            (r["idCardNumber"], r["date"], r["direction"]) for r in attendance["dataList"]
        )
        pays = api.query("Payroll.Query", {"pageIndex": 0, "pageSize": 10, "projectCode": code})["rows"]
        assert [p["payrollCode"] for p in pays] == [payroll_code]
        assert sorted(d["idCardNumber"] for d in pays[0]["detailList"]) == ids
        assert {d["payRollBankCardNumber"] for d in pays[0]["detailList"]} == {w.person.bank_card for w in team.workers}
