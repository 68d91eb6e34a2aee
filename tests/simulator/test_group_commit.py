"""Group commit with batch-level inserts: a batch's attendance and job rows are inserted together
at its end, yet every write in it reads what the writes before it did, replays inside one batch
are refused, and every acknowledged record is stored once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from fixtures.fake import dataset, payloads
from platform_client import PlatformClient
from simulator.checks import REPLAYED
from simulator.platform import Answer, Platform
from simulator.server import RunningServer
from simulator.store import Store, attendance, jobs
from simulator.tenants import Tenant
from standard import envelope, payload
from standard.envelope import today_beijing
from standard.models.attendance import WorkerAttendanceAdd


def _site(served: RunningServer, t: Tenant) -> tuple[int, list[str]]:
    """A team of four workers who entered the project a month ago; their team number and IDs."""
    site = dataset.generate(7, 4)
    project, team = site.projects[0], site.projects[0].teams[0]
    project.code = t.projectCode
    with PlatformClient(served.url, t.appid, t.appsecret) as api:
        employer = next(s for s in project.subcontractors if s["corpCode"] == team.payload["corpCode"])
        api.write("ProjectSubContractor.Add", {**employer, "projectCode": project.code})
        team.team_sys_no = int(api.write("Team.Add", {**team.payload, "projectCode": project.code}).result["teamSysNo"])
        api.write("ProjectWorker.Add", payloads.team_workers(team, project))
        api.write("WorkerEntryExit.Add", payloads.entry(team, project, today_beijing() - timedelta(days=30)))
    return team.team_sys_no, [w.id_number for w in team.workers]


def _clock_in(t: Tenant, sys_no: int, number: str, moment: datetime) -> dict[str, str]:
    record = {"idCardType": "01", "idCardNumber": number, "date": f"{moment:%Y-%m-%d %H:%M:%S}", "direction": "01"}
    data = payload.encrypt(
        WorkerAttendanceAdd, {"projectCode": t.projectCode, "teamSysNo": sys_no, "dataList": [record]}, t.appsecret
    )
    return envelope.build_request(
        "WorkerAttendance.Add", data, appid=t.appid, secret=t.appsecret, nonce=uuid.uuid4().hex
    )


def _team(t: Tenant, name: str) -> dict[str, str]:
    body = {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamName": name}
    return envelope.build_request("Team.Add", body, appid=t.appid, secret=t.appsecret)


def test_a_mixed_batch_commits_once_and_stores_every_acknowledged_record(
    platform: Platform, tenants: list[Tenant], served: RunningServer, db_url: str
) -> None:
    t = tenants[0]
    sys_no, ids = _site(served, t)
    served.stop()  # from here the batch is driven in-process, on one event loop
    start = datetime.combine(today_beijing() - timedelta(days=1), datetime.min.time())
    first = [_clock_in(t, sys_no, ids[i % 4], start + timedelta(minutes=i)) for i in range(10)]
    teams = [_team(t, f"木工{i}班") for i in range(3)]
    then = [_clock_in(t, sys_no, ids[i % 4], start + timedelta(hours=2, minutes=i)) for i in range(10)]
    forms = [*first, *teams, first[0], *then]  # first[0] again: a replay inside the same batch
    before = platform.writer.stats()

    async def together() -> list[Answer]:
        return await asyncio.gather(*(platform.handle_async(list(f.items())) for f in forms))

    answers = asyncio.run(together())
    after = platform.writer.stats()
    assert after["commits"] - before["commits"] == 1 and after["writes"] - before["writes"] == len(forms)
    codes = [a.envelope.code for a in answers]
    assert codes == [0] * 13 + [-1] + [0] * 10
    assert answers[13].envelope.message == REPLAYED
    uploads = [a.serial for a in answers[:10] + answers[14:]]
    with platform.store.read() as conn:
        stored: dict[Any, int] = dict(
            conn.execute(  # type: ignore[arg-type]
                select(attendance.c.serial, func.count())
                .where(attendance.c.serial.in_(uploads))
                .group_by(attendance.c.serial)
            ).all()
        )
        statuses = dict(conn.execute(select(jobs.c.serial, jobs.c.status).where(jobs.c.serial.in_(uploads))).all())  # type: ignore[arg-type]
    assert stored == {s: 1 for s in uploads}
    assert statuses == {s: 20 for s in uploads}

    # The batch's nonces were stored with it (SQLite: the nonce log, inserted at the batch's end):
    # a restarted server refuses each of them.
    again = Store.open(db_url)
    try:
        for form in [*first, *teams, *then]:
            assert not again.remember_nonce(t.appid, form["nonce"], platform.clock.timestamp(), 600.0)
    finally:
        again.close()
