"""The simulator's full path without HTTP: single-record WorkerAttendance.Add requests (verify,
decrypt, validate, rules, durable commit) and 20-record batches, on one core.

    taskset -c 0 .venv/bin/python benchmarks/sim_inprocess.py [--db sqlite:///bench.db]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime, timedelta

from sqlalchemy import select

from fixtures.fake import dataset, payloads
from simulator.config import Settings
from simulator.platform import Platform
from simulator.seed import seed_demo
from simulator.store import Store, teams
from standard import envelope, methods, payload
from standard.envelope import today_beijing
from standard.models.attendance import WorkerAttendanceAdd


def prepare(platform: Platform) -> tuple[dict[str, object], str, str, int, list[str]]:
    tenant = seed_demo(platform)[0]
    site = dataset.generate(3, 20)
    project, team = site.projects[0], site.projects[0].teams[0]
    project.code = tenant.projectCode

    def call(method: str, data: dict[str, object]) -> dict[str, object]:
        sealed = payload.encrypt(methods.METHODS[method].request, data, tenant.appsecret)
        form = envelope.build_request(method, sealed, appid=tenant.appid, secret=tenant.appsecret)
        answer = platform.handle(list(form.items()))
        assert answer.envelope.code == 0, answer.envelope.message
        return dict(answer.envelope.data or {})

    employer = next(s for s in project.subcontractors if s["corpCode"] == team.payload["corpCode"])
    call("ProjectSubContractor.Add", {**employer, "projectCode": tenant.projectCode})
    call("Team.Add", {**team.payload, "projectCode": tenant.projectCode})
    with platform.store.read() as conn:
        sys_no = int(conn.execute(select(teams.c.team_sys_no)).scalar_one())
    team.team_sys_no = sys_no
    for w in team.workers:
        w.team_sys_no = sys_no
    for batch in [payloads.team_workers(team, project)]:
        for i in range(0, len(batch["workerList"]), 5):
            call("ProjectWorker.Add", {**batch, "workerList": batch["workerList"][i : i + 5]})
    call("WorkerEntryExit.Add", payloads.entry(team, project, today_beijing() - timedelta(days=30)))
    return {}, tenant.appid, tenant.appsecret, sys_no, [w.id_number for w in team.workers]


Form = list[tuple[str, str]]


def forms(appid: str, secret: str, code: str, sys_no: int, ids: list[str], n: int, size: int) -> list[Form]:
    start = datetime.combine(today_beijing() - timedelta(days=1), datetime.min.time())
    out = []
    for i in range(n):
        records = [
            {
                "idCardType": "01",
                "idCardNumber": ids[(i * size + j) % len(ids)],
                "date": (start + timedelta(seconds=i * size + j)).strftime("%Y-%m-%d %H:%M:%S"),
                "direction": "01",
            }
            for j in range(size)
        ]
        plain = {"projectCode": code, "teamSysNo": sys_no, "dataList": records}
        data = payload.encrypt(WorkerAttendanceAdd, plain, secret)
        out.append(list(envelope.build_request("WorkerAttendance.Add", data, appid=appid, secret=secret).items()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{os.path.join(tempfile.mkdtemp(), 'bench.db')}"
    store = Store.open(url)
    platform = Platform(store, Settings(async_delay=0))
    _, appid, secret, sys_no, ids = prepare(platform)
    code = appid
    for size in (1, 20):
        batch = forms(appid, secret, code, sys_no, ids, 20000 if size == 1 else 2000, size)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < args.seconds and done < len(batch):
            answer = platform.handle(batch[done])
            assert answer.envelope.code == 0, answer.envelope.message
            done += 1
        rate = done / (time.perf_counter() - started)
        print(
            f"{url.split(':')[0]} in-process, {size:2d}-record WorkerAttendance.Add: {rate:,.0f} req/s"
            f" = {rate * size:,.0f} records/s stored"
        )
    store.close()


if __name__ == "__main__":
    main()
