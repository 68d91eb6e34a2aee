"""Datasets for the bureau-console tests: a clean Dezhou site, and the same site altered so that
each compliance flag of the seed notice has exactly one project that should raise it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert, select, update

from fixtures.fake import dataset
from simulator import bulk
from simulator.clock import Clock
from simulator.store import Store, attendance, entry_exits, projects
from standard.envelope import BEIJING

TODAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=BEIJING)
REGION = "sddzsdzs"  # 德州市: every generated project lies in one of its counties


@dataclass
class Site:
    ds: dataset.Dataset
    loaded: bulk.Loaded

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.ds.projects]


def clean(store: Store, clock: Clock, *, workers: int = 60, projects_n: int = 5, days: int = 3) -> Site:
    clock.set(NOON, speed=0.0)  # frozen at noon, so "today" and the hourly chart are stable
    ds = dataset.generate(2018, workers, today=TODAY, project_count=projects_n)
    return Site(ds, bulk.load(store, ds, attendance_days=days, now=NOON, seed=1))


# flag kind → index of the project that should raise it (the fifth project stays clean)
TRIGGERS = {
    "no-gate-attendance": 0,
    "late-uploads": 1,
    "two-sites": 2,
    "no-entry-record": 3,
    "same-second": 2,
    "shared-photo": 3,
}
IDLE_PROJECT = "371402202611209999"  # in scope, registered, never uploads: "not-uploading"


def dirty(store: Store, clock: Clock) -> Site:
    site = clean(store, clock)
    p = site.ds.projects
    with store.tx() as conn:
        # no gate attendance: every clock-in of project 0 went through the emergency channel
        conn.execute(update(attendance).where(attendance.c.project_code == p[0].code).values(attend_type="009"))
        # late uploads: project 1 uploads its clock-ins two hours late
        conn.execute(
            update(attendance).where(attendance.c.project_code == p[1].code).values(received_s=attendance.c.at_s + 7200)
        )
        # two sites: a worker of project 2 also clocks in at project 4 ten minutes later
        w = p[2].teams[0].workers[0]
        first = (
            conn.execute(
                select(attendance.c.at_s).where(attendance.c.id_number == w.id_number).order_by(attendance.c.at_s)
            )
            .scalars()
            .first()
        )
        assert first is not None
        moment = datetime.fromtimestamp(first + 600, BEIJING)
        t4 = p[4].teams[0]
        conn.execute(
            insert(attendance), [bulk.attendance_row(p[4].code, t4.team_sys_no, t4.name, w.id_number, moment, "01")]
        )
        # no entry record: project 3's first worker never had an entry
        w3 = p[3].teams[0].workers[0]
        conn.execute(delete(entry_exits).where(entry_exits.c.id_number == w3.id_number))
        # same second: three workers of project 2's team clocked at the very same second
        stamp = datetime(2026, 11, 20, 7, 0, 0, tzinfo=BEIJING)
        t2 = p[2].teams[0]
        conn.execute(
            insert(attendance),
            [
                bulk.attendance_row(p[2].code, t2.team_sys_no, t2.name, x.id_number, stamp, "01")
                for x in t2.workers[1:4]
            ],
        )
        # shared photo: two workers of project 3 uploaded with one face
        photo = base64.b64encode(p[3].teams[0].workers[1].person.photo).decode()
        t3 = p[3].teams[0]
        conn.execute(
            insert(attendance),
            [
                bulk.attendance_row(
                    p[3].code,
                    t3.team_sys_no,
                    t3.name,
                    x.id_number,
                    NOON - timedelta(hours=1, minutes=i),
                    "02",
                    image=photo,
                )
                for i, x in enumerate(t3.workers[1:3])
            ],
        )
        # not uploading: a registered, in-scope project that never sent anything
        body = dict(p[0].payload)
        body.update(name="德州市某某安置房项目", areaCode="371402", invest=5000.0, projectCode=IDLE_PROJECT)
        conn.execute(
            insert(projects).values(
                project_code=IDLE_PROJECT,
                contractor_corp_code=p[0].contractor["corpCode"],
                area_code="371402",
                body=body,
            )
        )
    return site
