"""Load a ``jzgr fixtures generate`` dataset straight into the store, bypassing the wire: the
admin API's "seed a dataset", the bureau console's demo data and its benchmark (200,000 clock-ins
would take minutes through open.api). Rows look exactly as the write handlers store them."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from fixtures.fake.dataset import Dataset, Project
from simulator.store import Store, attendance, corps, entry_exits, projects, subcontractors, teams, workers
from standard.envelope import BEIJING


@dataclass
class Loaded:
    corps: int = 0
    projects: int = 0
    workers: int = 0
    attendance: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def attendance_row(
    project_code: str,
    team_sys_no: int,
    team_name: str,
    id_number: str,
    moment: datetime,
    direction: str,
    *,
    received: datetime | None = None,
    attend_type: str = "001",
    image: str | None = None,
    serial: str = "bulk",
) -> dict[str, Any]:
    """One ``attendance`` row as ``WorkerAttendance.Add`` stores it."""
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    body: dict[str, Any] = {
        "idCardType": "01",
        "idCardNumber": id_number,
        "date": text,
        "direction": direction,
        "attendType": attend_type,
        "projectCode": project_code,
        "teamSysNo": team_sys_no,
        "teamName": team_name,
    }
    if image:
        body["image"] = image
    return {
        "project_code": project_code,
        "team_sys_no": team_sys_no,
        "id_number": id_number,
        "moment": text,
        "day": text[:10],
        "direction": direction,
        "serial": serial,
        "at_s": int(moment.timestamp()),
        "received_s": int((received or moment + timedelta(seconds=30)).timestamp()),
        "attend_type": attend_type,
        "image_hash": hashlib.sha1(image.encode()).hexdigest() if image else None,
        "body": body,
    }


def insert_attendance(conn: Connection, rows: Iterable[dict[str, Any]], chunk: int = 5_000) -> int:
    done = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            conn.execute(insert(attendance), batch)
            done += len(batch)
            batch = []
    if batch:
        conn.execute(insert(attendance), batch)
        done += len(batch)
    return done


def insert_organisations(conn: Connection, ds: Dataset, loaded: Loaded | None = None) -> list[Project]:
    """Corps (once each), projects and their participating corps; returns the projects that
    were new (a project already stored is left as it is)."""
    loaded = loaded or Loaded()
    fresh = []
    for corp in ds.corps:
        if conn.execute(select(corps.c.corp_code).where(corps.c.corp_code == corp["corpCode"])).first() is None:
            conn.execute(insert(corps).values(corp_code=corp["corpCode"], body=corp))
            loaded.corps += 1
    for project in ds.projects:
        if conn.execute(select(projects.c.project_code).where(projects.c.project_code == project.code)).first():
            continue
        conn.execute(
            insert(projects).values(
                project_code=project.code,
                contractor_corp_code=project.contractor["corpCode"],
                area_code=project.payload["areaCode"],
                body={**project.payload, "projectCode": project.code},
            )
        )
        loaded.projects += 1
        fresh.append(project)
        for sub in project.subcontractors:
            conn.execute(insert(subcontractors).values(project_code=project.code, corp_code=sub["corpCode"], body=sub))
    return fresh


def load(
    store: Store,
    ds: Dataset,
    *,
    attendance_days: int = 0,
    until: date | None = None,
    now: datetime | None = None,
    seed: int = 0,
) -> Loaded:
    """Corps, projects, participating corps, teams, workers (entered on the first day), and for
    ``attendance_days`` days up to ``until`` (default: the dataset's today) one clock-in around 07:00
    and one clock-out around 17:30 per worker, uploaded within a minute and a half (nothing after
    ``now``, the simulator's clock)."""
    rng = random.Random(seed)
    loaded = Loaded()
    last = until or ds.today
    first = last - timedelta(days=max(attendance_days, 1) - 1)
    with store.tx() as conn:
        fresh = insert_organisations(conn, ds, loaded)
        for project in fresh:
            for team in project.teams:
                conn.execute(
                    insert(teams).values(
                        team_sys_no=team.team_sys_no,
                        project_code=project.code,
                        corp_code=team.payload["corpCode"],
                        team_name=team.name,
                        body={**team.payload, "teamSysNo": team.team_sys_no},
                    )
                )
                for w in team.workers:
                    item = w.item()
                    item.pop("headImage", None)  # kept small: the console never shows it
                    common = {
                        "projectCode": project.code,
                        "corpCode": w.corp_code,
                        "corpName": w.corp_name,
                        "teamSysNo": team.team_sys_no,
                        "teamName": team.name,
                    }
                    loaded.workers += 1
                    conn.execute(
                        insert(workers).values(
                            project_code=project.code,
                            id_number=w.id_number,
                            team_sys_no=team.team_sys_no,
                            seq=Store.next_value(conn, "worker"),
                            body={**item, **common},
                        )
                    )
                    conn.execute(
                        insert(entry_exits).values(
                            project_code=project.code,
                            id_number=w.id_number,
                            team_sys_no=team.team_sys_no,
                            day=first.isoformat(),
                            type=1,
                            body={
                                "idCardType": "01",
                                "idCardNumber": w.id_number,
                                "date": first.isoformat(),
                                "type": 1,
                                **common,
                            },
                        )
                    )
        if attendance_days > 0:
            loaded.attendance = insert_attendance(conn, _clock_ins(ds, first, attendance_days, rng, now))
    return loaded


def _clock_ins(
    ds: Dataset, first: date, days: int, rng: random.Random, now: datetime | None
) -> Iterable[dict[str, Any]]:
    for offset in range(days):
        day = first + timedelta(days=offset)
        for project in ds.projects:
            for team in project.teams:
                for w in team.workers:
                    arrive = datetime.combine(day, time(6, 30), BEIJING) + timedelta(seconds=rng.randrange(3600))
                    leave = datetime.combine(day, time(17, 0), BEIJING) + timedelta(seconds=rng.randrange(3600))
                    for moment, direction in ((arrive, "01"), (leave, "02")):
                        received = moment + timedelta(seconds=rng.randrange(5, 90))
                        if now is not None and received > now:
                            continue
                        yield attendance_row(
                            project.code,
                            team.team_sys_no,
                            team.name,
                            w.id_number,
                            moment,
                            direction,
                            received=received,
                        )
