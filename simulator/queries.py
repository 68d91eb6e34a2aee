"""The query methods: every filter the spec lists for the method, 0-based paging (pageSize ≤ 50),
rows built from the stored plaintext with their AES fields encrypted again for the tenant, scoped
to the tenant's projects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, and_, exists, func, select, true

from simulator.config import Settings
from simulator.store import (
    attendance,
    contracts,
    corps,
    entry_exits,
    payrolls,
    projects,
    subcontractors,
    teams,
    trainings,
    workers,
)
from simulator.tenants import Tenant
from standard import methods, payload

ONE_BASED_IN_LENIENT = {"ProjectSubContractor.Query", "WorkerEntryExit.Query"}  # HZ-PY, GD use 1 (§7)
BIG_FIELDS = ("headImage", "issueCardPic", "positiveIDCardImage", "negativeIDCardImage", "voucher", "image")


@dataclass
class QueryContext:
    conn: Connection
    tenant: Tenant
    settings: Settings


Builder = Callable[[QueryContext, dict[str, Any]], tuple[Select[Any], Callable[[Any], dict[str, Any]]]]
BUILDERS: dict[str, Builder] = {}


def builds(*names: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for name in names:
            BUILDERS[name] = fn
        return fn

    return register


def _scope(ctx: QueryContext, column: Any) -> ColumnElement[bool]:
    if ctx.settings.defect("leak-other-tenant"):
        return true()
    scoped: ColumnElement[bool] = column.in_(ctx.tenant.projects or ["-"])
    return scoped


def _given(data: dict[str, Any], key: str) -> bool:
    return data.get(key) not in (None, "")


def _eq(table: Table, data: dict[str, Any], *pairs: tuple[str, str]) -> list[ColumnElement[bool]]:
    return [table.c[col] == data[key] for key, col in pairs if _given(data, key)]


def _body_eq(table: Table, data: dict[str, Any], *keys: str) -> list[ColumnElement[bool]]:
    """Filters on fields kept only in the stored body (``corpName``, ``idCardType``, …): the
    same wire name in the body as in the query."""
    return [table.c.body[key].as_string() == str(data[key]) for key in keys if _given(data, key)]


def _detail_has(ctx: QueryContext, data: dict[str, Any], *keys: str) -> list[ColumnElement[bool]]:
    """Payrolls with a ``detailList`` item matching each given key (the worker's ID type/number)."""
    wanted = [(key, str(data[key])) for key in keys if _given(data, key)]
    if not wanted:
        return []
    if ctx.conn.dialect.name == "postgresql":
        item = func.json_array_elements(payrolls.c.body["detailList"]).table_valued("value").alias("item")
        matches = [item.c.value.op("->>")(key) == value for key, value in wanted]
    else:
        item = func.json_each(payrolls.c.body, "$.detailList").table_valued("value").alias("item")
        matches = [func.json_extract(item.c.value, f'$."{key}"') == value for key, value in wanted]
    return [exists(select(item.c.value).where(*matches))]


def _body(row: Any) -> dict[str, Any]:
    body = dict(row.body)
    for name in BIG_FIELDS:
        if body.pop(name, None) is not None:
            body[f"{name}Url"] = f"/files/{name}"  # queries return resource URLs, not Base64
    return body


@builds("Project.Query")
def project_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, projects.c.project_code),
        *_eq(projects, data, ("projectCode", "project_code"), ("contractorCorpCode", "contractor_corp_code")),
        *_body_eq(projects, data, "contractorCorpName"),
    ]
    return select(projects).where(and_(*where)).order_by(projects.c.project_code), _body


@builds("Corp.Query")
def corp_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [*_eq(corps, data, ("corpCode", "corp_code")), *_body_eq(corps, data, "corpName")]
    return select(corps).where(and_(true(), *where)).order_by(corps.c.corp_code), _body


@builds("ProjectSubContractor.Query")
def sub_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, subcontractors.c.project_code),
        *_eq(subcontractors, data, ("projectCode", "project_code"), ("corpCode", "corp_code")),
        *_body_eq(subcontractors, data, "corpName"),
    ]
    return select(subcontractors).where(and_(*where)).order_by(subcontractors.c.corp_code), _body


@builds("Team.Query")
def team_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, teams.c.project_code),
        *_eq(
            teams,
            data,
            ("projectCode", "project_code"),
            ("teamSysNo", "team_sys_no"),
            ("teamName", "team_name"),
            ("corpCode", "corp_code"),
        ),
        *_body_eq(teams, data, "corpName"),
    ]
    return select(teams).where(and_(*where)).order_by(teams.c.team_sys_no), _body


@builds("ProjectWorker.Query")
def worker_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, workers.c.project_code),
        *_eq(
            workers, data, ("projectCode", "project_code"), ("teamSysNo", "team_sys_no"), ("idCardNumber", "id_number")
        ),
        *_body_eq(workers, data, "corpCode", "corpName", "teamName", "idCardType"),
    ]
    has_contract = (
        select(func.count())
        .where(contracts.c.project_code == workers.c.project_code, contracts.c.id_number == workers.c.id_number)
        .scalar_subquery()
    )

    def row(r: Any) -> dict[str, Any]:
        return {**_body(r), "hasContract": 1 if r.has_contract else 0}

    query = select(workers, has_contract.label("has_contract")).where(and_(*where)).order_by(workers.c.seq)
    return query, row


@builds("Worker.Query")
def one_worker(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, workers.c.project_code),
        workers.c.id_number == data["idCardNumber"],
        *_body_eq(workers, data, "idCardType"),
    ]
    return select(workers).where(and_(*where)).order_by(workers.c.seq), _body


@builds("WorkerEntryExit.Query")
def entry_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, entry_exits.c.project_code),
        *_eq(
            entry_exits,
            data,
            ("projectCode", "project_code"),
            ("teamSysNo", "team_sys_no"),
            ("idCardNumber", "id_number"),
        ),
        *_body_eq(entry_exits, data, "corpCode", "corpName", "idCardType"),
    ]
    return select(entry_exits).where(and_(*where)).order_by(entry_exits.c.id), _body


@builds("WorkerContract.Query")
def contract_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, contracts.c.project_code),
        *_eq(
            contracts, data, ("projectCode", "project_code"), ("corpCode", "corp_code"), ("idCardNumber", "id_number")
        ),
        *_body_eq(contracts, data, "corpName", "idCardType"),
    ]
    return select(contracts).where(and_(*where)).order_by(contracts.c.id), _body


@builds("WorkerAttendance.Query")
def attendance_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, attendance.c.project_code),
        *_eq(
            attendance,
            data,
            ("projectCode", "project_code"),
            ("date", "day"),
            ("teamSysNo", "team_sys_no"),
            ("idCardNumber", "id_number"),
        ),
        *_body_eq(attendance, data, "idCardType"),
    ]
    return select(attendance).where(and_(*where)).order_by(attendance.c.moment, attendance.c.id), _body


@builds("Payroll.Query")
def payroll_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, payrolls.c.project_code),
        *_eq(
            payrolls,
            data,
            ("projectCode", "project_code"),
            ("teamSysNo", "team_sys_no"),
            ("payMonth", "pay_month"),
            ("payRollCode", "payroll_code"),
        ),
        *_body_eq(payrolls, data, "corpCode", "corpName"),
        *_detail_has(ctx, data, "idCardType", "idCardNumber"),
    ]
    return select(payrolls).where(and_(*where)).order_by(payrolls.c.payroll_code), _body


@builds("ProjectTraining.Query")
def training_query(ctx: QueryContext, data: dict[str, Any]) -> tuple[Select[Any], Callable[[Any], dict[str, Any]]]:
    where = [
        _scope(ctx, trainings.c.project_code),
        *_eq(trainings, data, ("projectCode", "project_code"), ("trainingDate", "training_date")),
    ]
    return select(trainings).where(and_(*where)).order_by(trainings.c.id), _body


def run(ctx: QueryContext, method: str, data: dict[str, Any], page_size: int) -> dict[str, Any]:
    """One page of ``method``. Record queries with no data source here answer an empty page."""
    index = int(data.get("pageIndex", 0))
    if ctx.settings.defect("page-index-one-based") or (
        ctx.settings.profile.page_index_one_based and method in ONE_BASED_IN_LENIENT
    ):
        offset = max(index - 1, 0) * page_size
    else:
        offset = index * page_size
    builder = BUILDERS.get(method)
    if builder is None:  # CorpCredential/BadRecord/GoodRecord/BlackList, WorkerCredential/…: no source data
        return {"pageIndex": index, "pageSize": page_size, "totalCount": 0, "rows": []}
    query, to_row = builder(ctx, data)
    total = ctx.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = [to_row(r) for r in ctx.conn.execute(query.offset(offset).limit(page_size))]
    spec = methods.METHODS[method]
    if spec.row is not None:
        secret = ctx.tenant.appsecret
        plaintext_ids = ctx.settings.defect("plaintext-id-in-rows")
        rows = [_seal(spec.row, r, secret, plaintext_ids) for r in rows]
    return {"pageIndex": index, "pageSize": page_size, "totalCount": int(total), "rows": rows}


def _seal(row_model: Any, row: dict[str, Any], secret: str, plaintext_ids: bool) -> dict[str, Any]:
    sealed: dict[str, Any] = payload.encrypt(row_model, row, secret)
    if plaintext_ids and "idCardNumber" in row:
        sealed["idCardNumber"] = row["idCardNumber"]
    return sealed
