"""Business rules of the write methods. Each handler runs inside the request's transaction,
applies its effects and returns the final async outcome: status 20 with the result, or 10 with
the platform's message. Nothing is changed when the outcome is 10."""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from simulator.config import Settings
from simulator.store import (
    Store,
    contracts,
    corps,
    dumps,
    entry_exits,
    insert_attendance,
    payrolls,
    projects,
    subcontractors,
    teams,
    tenant_projects,
    trainings,
    workers,
)
from simulator.tenants import Tenant
from standard.envelope import BEIJING
from standard.models.base import WireModel

SUCCEEDED, FAILED = 20, 10
UNKNOWN_TEAM = "[teamSysNo]值超出范围或无效"


@dataclass(frozen=True)
class Outcome:
    status: int
    result: Any = None

    @classmethod
    def ok(cls, result: Any = None) -> Outcome:
        return cls(SUCCEEDED, result)

    @classmethod
    def fail(cls, message: str) -> Outcome:
        return cls(FAILED, message)


class Failed(Exception):
    """Raised inside a handler to end it with status 10 (the transaction's savepoint is rolled back)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class WriteContext:
    conn: Connection
    tenant: Tenant
    settings: Settings
    now: datetime
    serial: str


Handler = Callable[[WriteContext, dict[str, Any]], Outcome]
HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = fn
        return fn

    return register


def apply(ctx: WriteContext, method: str, model: WireModel) -> Outcome:
    data = model.wire()
    try:
        with ctx.conn.begin_nested():
            return HANDLERS[method](ctx, data)
    except Failed as exc:
        return Outcome.fail(exc.message)


# ---- lookups ------------------------------------------------------------------------------


def _team(ctx: WriteContext, project_code: str, team_sys_no: int) -> dict[str, Any]:
    row = ctx.conn.execute(
        select(teams.c.body).where(teams.c.team_sys_no == team_sys_no, teams.c.project_code == project_code)
    ).first()
    if row is None:
        raise Failed(UNKNOWN_TEAM)
    body: dict[str, Any] = row[0]
    return body


def _project_workers(ctx: WriteContext, project_code: str, ids: list[str]) -> set[str]:
    rows = ctx.conn.execute(
        select(workers.c.id_number).where(workers.c.project_code == project_code, workers.c.id_number.in_(ids))
    )
    return {r[0] for r in rows}


def _require_workers(ctx: WriteContext, project_code: str, ids: list[str], message: Callable[[int, str], str]) -> None:
    known = _project_workers(ctx, project_code, ids)
    missing = [message(i, n) for i, n in enumerate(ids) if n not in known]
    if missing:
        raise Failed("\r\n".join(missing))


def _is_participant(ctx: WriteContext, project_code: str, corp_code: str) -> bool:
    row = ctx.conn.execute(
        select(subcontractors.c.corp_code).where(
            subcontractors.c.project_code == project_code, subcontractors.c.corp_code == corp_code
        )
    ).first()
    return row is not None


# ---- corp and project ---------------------------------------------------------------------


@handles("Corp.Upload")
def corp_upload(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    updated = ctx.conn.execute(update(corps).where(corps.c.corp_code == data["corpCode"]).values(body=data))
    if updated.rowcount == 0:
        ctx.conn.execute(insert(corps).values(corp_code=data["corpCode"], body=data))
    return Outcome.ok()


@handles("Project.Add")
def project_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    sequence = Store.next_value(ctx.conn, "project")
    code = f"{data['areaCode']}{ctx.now:%Y%m%d}{sequence % 10000:04d}"
    ctx.conn.execute(
        insert(projects).values(
            project_code=code,
            contractor_corp_code=data["contractorCorpCode"],
            area_code=data["areaCode"],
            body={**data, "projectCode": code},
        )
    )
    ctx.conn.execute(insert(tenant_projects).values(appid=ctx.tenant.appid, project_code=code))
    return Outcome.ok({"projectCode": code})


def _project_body(ctx: WriteContext, code: str) -> dict[str, Any]:
    row = ctx.conn.execute(select(projects.c.body).where(projects.c.project_code == code)).first()
    if row is None:
        raise Failed("[projectCode]值超出范围或无效")
    body: dict[str, Any] = row[0]
    return body


@handles("Project.Update", "Project.PartUpdate")
def project_update(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    body = _project_body(ctx, data["projectCode"])
    ctx.conn.execute(
        update(projects).where(projects.c.project_code == data["projectCode"]).values(body={**body, **data})
    )
    return Outcome.ok()


# ---- participating companies and teams ----------------------------------------------------


@handles("ProjectSubContractor.Add")
def subcontractor_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    if _is_participant(ctx, data["projectCode"], data["corpCode"]):
        raise Failed("参建单位已存在")
    ctx.conn.execute(
        insert(subcontractors).values(project_code=data["projectCode"], corp_code=data["corpCode"], body=data)
    )
    return Outcome.ok()


@handles("ProjectSubContractor.Update")
def subcontractor_update(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    done = ctx.conn.execute(
        update(subcontractors)
        .where(subcontractors.c.project_code == data["projectCode"], subcontractors.c.corp_code == data["corpCode"])
        .values(body=data)
    )
    if done.rowcount == 0:
        raise Failed("[corpCode]值超出范围或无效,该企业不是项目的参建单位")
    return Outcome.ok()


@handles("Team.Add")
def team_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    project_code, name = data["projectCode"], data["teamName"]
    if not _is_participant(ctx, project_code, data["corpCode"]):
        raise Failed("[corpCode]值超出范围或无效,该企业不是项目的参建单位")
    existing = ctx.conn.execute(
        select(teams.c.team_sys_no).where(teams.c.project_code == project_code, teams.c.team_name == name)
    ).first()
    if existing is not None and not ctx.settings.defect("duplicate-team-succeeds"):
        raise Failed(f"班组已存在,已存在班组编号为:{existing[0]}")
    sys_no = Store.next_value(ctx.conn, "team_sys_no")
    name = name if existing is None else f"{name}#{sys_no}"
    ctx.conn.execute(
        insert(teams).values(
            team_sys_no=sys_no,
            project_code=project_code,
            corp_code=data["corpCode"],
            team_name=name,
            body={**data, "teamSysNo": sys_no},
        )
    )
    if ctx.settings.defect("result-without-team-sys-no"):
        return Outcome.ok({})
    return Outcome.ok({"teamSysNo": sys_no})


@handles("Team.Update")
def team_update(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    row = ctx.conn.execute(
        select(teams.c.project_code, teams.c.body).where(teams.c.team_sys_no == data["teamSysNo"])
    ).first()
    if row is None or row[0] not in ctx.tenant.projects:
        raise Failed(UNKNOWN_TEAM)
    ctx.conn.execute(
        update(teams)
        .where(teams.c.team_sys_no == data["teamSysNo"])
        .values(team_name=data["teamName"], body={**row[1], **data})
    )
    return Outcome.ok()


# ---- workers ------------------------------------------------------------------------------


@handles("ProjectWorker.Add")
def worker_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    project_code = data["projectCode"]
    team = _team(ctx, project_code, int(data["teamSysNo"]))
    ids = [w["idCardNumber"] for w in data["workerList"]]
    known = _project_workers(ctx, project_code, ids)
    seen: set[str] = set()
    duplicates = []
    for number in ids:
        if number in known or number in seen:
            duplicates.append(f"项目中已存在身份证为：{number}的工人!")
        seen.add(number)
    if duplicates:
        if ctx.settings.defect("duplicate-worker-succeeds"):
            return Outcome.ok()
        raise Failed("\r\n".join(duplicates))
    for w in data["workerList"]:
        body = {
            **w,
            "projectCode": project_code,
            "corpCode": data["corpCode"],
            "corpName": data["corpName"],
            "teamSysNo": int(data["teamSysNo"]),
            "teamName": team.get("teamName", data["teamName"]),
        }
        ctx.conn.execute(
            insert(workers).values(
                project_code=project_code,
                id_number=w["idCardNumber"],
                team_sys_no=int(data["teamSysNo"]),
                seq=Store.next_value(ctx.conn, "worker"),
                body=body,
            )
        )
    return Outcome.ok()


@handles("ProjectWorker.Update")
def worker_update(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    project_code = data["projectCode"]
    _team(ctx, project_code, int(data["teamSysNo"]))
    for i, w in enumerate(data["workerList"]):
        row = ctx.conn.execute(
            select(workers.c.body).where(
                workers.c.project_code == project_code, workers.c.id_number == w["idCardNumber"]
            )
        ).first()
        if row is None:
            raise Failed(f"[workerList][{i}][idCardNumber]项目中不存在该工人!")
        ctx.conn.execute(
            update(workers)
            .where(workers.c.project_code == project_code, workers.c.id_number == w["idCardNumber"])
            .values(body={**row[0], **w})
        )
    return Outcome.ok()


def _not_in_project(field: str) -> Callable[[int, str], str]:
    return lambda i, number: f"[{field}][{i}][idCardNumber]项目中不存在身份证为：{number}的工人!"


@handles("WorkerEntryExit.Add")
def entry_exit_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    project_code = data["projectCode"]
    team = _team(ctx, project_code, int(data["teamSysNo"]))
    items = data["workerList"]
    _require_workers(ctx, project_code, [w["idCardNumber"] for w in items], _not_in_project("workerList"))
    for i, item in enumerate(items):
        last = ctx.conn.execute(
            select(func.max(entry_exits.c.day)).where(
                entry_exits.c.project_code == project_code, entry_exits.c.id_number == item["idCardNumber"]
            )
        ).scalar()
        if last is not None and item["date"] < last:
            raise Failed(f"[workerList][{i}][date]不能小于历史进退场时间!")
        body = {
            **item,
            "projectCode": project_code,
            "corpCode": data["corpCode"],
            "corpName": data["corpName"],
            "teamSysNo": int(data["teamSysNo"]),
            "teamName": team.get("teamName"),
        }
        ctx.conn.execute(
            insert(entry_exits).values(
                project_code=project_code,
                id_number=item["idCardNumber"],
                team_sys_no=int(data["teamSysNo"]),
                day=item["date"],
                type=int(item["type"]),
                body=body,
            )
        )
    return Outcome.ok()


@handles("WorkerContract.Add")
def contract_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    project_code = data["projectCode"]
    items = data["contractList"]
    _require_workers(ctx, project_code, [c["idCardNumber"] for c in items], _not_in_project("contractList"))
    for item in items:
        ctx.conn.execute(
            insert(contracts).values(
                project_code=project_code,
                id_number=item["idCardNumber"],
                corp_code=item["corpCode"],
                body={**item, "projectCode": project_code},
            )
        )
    return Outcome.ok()


BEIJING_OFFSET_S = 8 * 3600


def _epoch(moment: str) -> int:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time → epoch seconds."""
    m = moment  # validated upstream as yyyy-MM-dd HH:mm:ss; slices and timegm beat strptime
    fields = (int(m[:4]), int(m[5:7]), int(m[8:10]), int(m[11:13]), int(m[14:16]), int(m[17:19]))
    return calendar.timegm(fields) - BEIJING_OFFSET_S


def first_entries(conn: Connection, project_code: str, ids: list[str]) -> dict[str, str]:
    """The first entry day of each worker that has one."""
    return {
        number: day
        for number, day in conn.execute(
            select(entry_exits.c.id_number, func.min(entry_exits.c.day))
            .where(
                entry_exits.c.project_code == project_code, entry_exits.c.id_number.in_(ids), entry_exits.c.type == 1
            )
            .group_by(entry_exits.c.id_number)
        )
    }


class AttendanceFacts(Protocol):
    """What the attendance rule reads: the write path answers from its caches (``writer``), the
    handler below from the tables."""

    def team(self, project_code: str, sys_no: int) -> dict[str, Any] | None: ...

    def known_workers(self, project_code: str, ids: list[str]) -> set[str]:
        """Of ``ids``, (at least) those in the project; any superset of known numbers will do."""
        ...

    def first_entries(self, project_code: str, ids: list[str]) -> dict[str, str]: ...


@dataclass
class TableFacts:
    conn: Connection

    def team(self, project_code: str, sys_no: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(teams.c.body).where(teams.c.team_sys_no == sys_no, teams.c.project_code == project_code)
        ).first()
        return None if row is None else dict(row[0])

    def known_workers(self, project_code: str, ids: list[str]) -> set[str]:
        rows = self.conn.execute(
            select(workers.c.id_number).where(workers.c.project_code == project_code, workers.c.id_number.in_(ids))
        )
        return {r[0] for r in rows}

    def first_entries(self, project_code: str, ids: list[str]) -> dict[str, str]:
        return first_entries(self.conn, project_code, ids)


def attendance(
    facts: AttendanceFacts, settings: Settings, data: dict[str, Any], serial: str, now: datetime
) -> str | list[tuple[Any, ...]]:
    """The attendance rule, the one place it is written: the refusal of a ``WorkerAttendance.Add``
    (its status-10 message), or the rows to store (``store.insert_attendance``)."""
    project_code = data["projectCode"]
    sys_no = int(data["teamSysNo"])
    team = facts.team(project_code, sys_no)
    if team is None:
        return UNKNOWN_TEAM
    items = data["dataList"]
    ids = [r["idCardNumber"] for r in items]
    known = facts.known_workers(project_code, ids)
    if any(n not in known for n in ids):
        not_in_project = _not_in_project("dataList")
        return "\r\n".join(not_in_project(i, n) for i, n in enumerate(ids) if n not in known)
    if not settings.profile.attendance_before_entry:
        refusal = before_entry(items, facts.first_entries(project_code, ids))
        if refusal:
            return refusal
    return attendance_rows(project_code, sys_no, team.get("teamName"), items, serial, now)


def before_entry(items: list[dict[str, Any]], first_entry: dict[str, str]) -> str | None:
    """The refusal for a clock-in with no entry, or before the first one; None when all are fine."""
    for i, r in enumerate(items):
        entered = first_entry.get(r["idCardNumber"])
        if entered is None or r["date"][:10] < entered:
            return f"[dataList][{i}][idCardNumber]该工人没有进场记录,不能上传考勤!"
    return None


def attendance_rows(
    project_code: str, sys_no: int, team_name: Any, items: list[dict[str, Any]], serial: str, now: datetime
) -> list[tuple[Any, ...]]:
    """The stored rows of one ``WorkerAttendance.Add`` as ``store.insert_attendance`` takes them."""
    received = int(now.replace(tzinfo=BEIJING).timestamp()) if now.tzinfo is None else int(now.timestamp())
    return [
        (
            project_code,
            sys_no,
            r["idCardNumber"],
            r["date"],
            r["date"][:10],
            r["direction"],
            serial,
            _epoch(r["date"]),
            received,
            r.get("attendType"),
            hashlib.sha1(r["image"].encode()).hexdigest() if r.get("image") else None,
            dumps({**r, "projectCode": project_code, "teamSysNo": sys_no, "teamName": team_name}),
        )
        for r in items
    ]


@handles("WorkerAttendance.Add")
def attendance_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    """Off the write path's fast lane (``writer`` runs the same rule on its caches)."""
    rows = attendance(TableFacts(ctx.conn), ctx.settings, data, ctx.serial, ctx.now)
    if isinstance(rows, str):
        return Outcome.fail(rows)
    insert_attendance(ctx.conn, rows)
    return Outcome.ok()


@handles("Payroll.Add")
def payroll_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    project_code = data["projectCode"]
    sys_no = int(data["teamSysNo"])
    team = _team(ctx, project_code, sys_no)
    ids = [d["idCardNumber"] for d in data["detailList"]]
    _require_workers(
        ctx, project_code, ids, lambda i, n: f"项目中没有找到证件号码为{n}的工人信息,不允许上传该工人的工资发放信息!"
    )
    names = dict(
        ctx.conn.execute(
            select(workers.c.id_number, workers.c.body).where(
                workers.c.project_code == project_code, workers.c.id_number.in_(ids)
            )
        ).all()
    )
    # The draft standard's 18-character GZD code: GZD + 6 digits + yyyyMM + 3-digit sequence.
    sequence = Store.next_value(ctx.conn, "payroll") % 1000
    code = f"GZD{sys_no % 1_000_000:06d}{data['payMonth'].replace('-', '')}{sequence:03d}"
    details = [
        {**d, "workerName": names[d["idCardNumber"]].get("workerName"), "teamName": team.get("teamName")}
        for d in data["detailList"]
    ]
    body = {**data, "detailList": details, "payrollCode": code, "teamName": team.get("teamName")}
    ctx.conn.execute(
        insert(payrolls).values(
            payroll_code=code, project_code=project_code, team_sys_no=sys_no, pay_month=data["payMonth"], body=body
        )
    )
    return Outcome.ok([{"payrollCode": code}])


@handles("ProjectTraining.Add")
def training_add(ctx: WriteContext, data: dict[str, Any]) -> Outcome:
    project_code = data["projectCode"]
    trained = data.get("workers") or []
    _require_workers(
        ctx,
        project_code,
        [w["idCardNumber"] for w in trained],
        lambda i, n: f"没有找到证件类型为01,证件号码为{n}的对应信息,上传失败!",
    )
    ctx.conn.execute(insert(trainings).values(project_code=project_code, training_date=data["trainingDate"], body=data))
    return Outcome.ok()


__all__ = ["HANDLERS", "IntegrityError", "Outcome", "WriteContext", "apply"]
