"""The admin API under ``/admin/api``: tenants, demo seeding, reset, faults, clock and traffic
export, protected by a bearer token (``JZGR_ADMIN_TOKEN``; constant-time compare). Every error is
a JSON body with a 4xx status, never a 500. Each request body and query is a pydantic model, and
the OpenAPI document (``/admin/api/openapi.json``) is generated from the route table and those
models, so the document and what is accepted cannot disagree."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, StringConstraints, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from simulator.faults import FaultError, FaultSpec, problems
from simulator.platform import Platform
from simulator.store import metadata
from simulator.tenants import Tenant, new_secret
from standard.envelope import BEIJING

Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


Printable = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]+$", min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=200)]


class TenantIn(BaseModel):
    """``POST /tenants``: what a tenant may be created with (printable ASCII ids, no control chars)."""

    model_config = ConfigDict(extra="forbid")
    appid: Printable
    appsecret: (
        Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{16}$|^[\x21-\x7e]{24}$|^[\x21-\x7e]{32}$")] | None
    ) = None
    corpCode: Text = ""
    corpName: Text = ""
    corpKey: Printable | None = None
    require_corpsign: bool = False
    projects: (
        Annotated[list[Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,32}$")]], Field(max_length=100)]
        | None
    ) = None
    ip_allow: Annotated[list[IPvAnyNetwork], Field(max_length=100)] = []
    rate_limit: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    diagnostics: bool = True


class SeedDatasetIn(BaseModel):
    """``POST /seed-dataset``: a ``jzgr fixtures generate`` folder on the simulator's machine."""

    model_config = ConfigDict(extra="forbid")
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[^\x00]+$")] = Field(
        description="the folder written by `jzgr fixtures generate`"
    )
    attendance_days: Annotated[int, Field(ge=0, le=366, strict=True)] = Field(
        0, description="days of clock-ins to load, ending yesterday"
    )
    people: bool = Field(
        True,
        description="false: only the companies, projects and participating companies, for a vendor system "
        "that enrols the teams and workers itself (jzgr load peak)",
    )


class ClockIn(BaseModel):
    """``POST /clock``: applied in this order — reset, now, advance, speed."""

    model_config = ConfigDict(extra="forbid")
    reset: bool = False
    now: datetime | None = Field(None, description="the moment to set (Beijing time when no offset is given)")
    advance: Annotated[float, Field(ge=-1e7, le=1e7)] | None = Field(None, description="seconds to move by")
    speed: Annotated[float, Field(ge=0, le=10_000)] | None = Field(None, description="0 freezes the clock")


class TrafficQuery(BaseModel):
    """The query of ``GET /traffic`` and ``GET /traffic.jsonl``."""

    model_config = ConfigDict(extra="ignore")
    appid: Annotated[str, StringConstraints(max_length=64)] | None = None
    method: Annotated[str, StringConstraints(max_length=64)] | None = None
    since_id: Annotated[int, Field(ge=0)] | None = Field(None, description="only entries after this id")
    limit: Annotated[int, Field(ge=1, le=10_000)] = 200


class AttendanceQuery(BaseModel):
    """The query of ``GET /attendance``: one project's stored clock-ins of one day."""

    model_config = ConfigDict(extra="forbid")
    project: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,32}$")]
    day: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


M = TypeVar("M", bound=BaseModel)


def _valid(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(problems(exc)) from None


@dataclass(frozen=True)
class Operation:
    """One route of the admin API, as served and as documented."""

    path: str
    method: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    ok: int = 200
    guarded: bool = True


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def build(platform: Platform, token: str) -> Starlette:
    expected = token.encode()

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip().encode()
            if not hmac.compare_digest(given, expected):
                return _error(401, "missing or wrong admin token (Authorization: Bearer <JZGR_ADMIN_TOKEN>)")
            try:
                return await handler(request)
            except BadRequest as exc:
                return _error(exc.status, str(exc))
            except (FaultError, ValueError, TypeError, KeyError, OverflowError, OSError) as exc:
                return _error(400, f"{type(exc).__name__}: {exc}")

        return run

    async def list_tenants(request: Request) -> Response:
        return JSONResponse(
            [t.credentials() | {"disabled": t.disabled, "projects": t.projects} for t in platform.tenants.all()]
        )

    async def add_tenant(request: Request) -> Response:
        spec = _valid(TenantIn, await _json(request))
        mode = "project" if spec.appid.isdigit() else "enterprise"
        projects = spec.projects if spec.projects is not None else ([spec.appid] if mode == "project" else [])
        tenant = Tenant(
            spec.appid,
            spec.appsecret or new_secret(),
            mode,
            spec.corpCode,
            spec.corpName,
            spec.corpKey,
            spec.require_corpsign,
            list(dict.fromkeys(projects)),  # a project listed twice is still one grant
            [str(n) for n in spec.ip_allow],
            spec.rate_limit,
            spec.diagnostics,
        )
        platform.tenants.put(tenant)
        return JSONResponse(tenant.credentials(), status_code=201)

    def _tenant(request: Request) -> Tenant:
        tenant = platform.tenants.get(request.path_params["appid"])
        if tenant is None:
            raise BadRequest("no such tenant", 404)
        return tenant

    async def rotate(request: Request) -> Response:
        tenant = _tenant(request)
        tenant.previous_secret, tenant.appsecret = tenant.appsecret, new_secret()
        platform.tenants.put(tenant)
        return JSONResponse(tenant.credentials())

    async def disable(request: Request) -> Response:
        tenant = _tenant(request)
        tenant.disabled = True
        platform.tenants.put(tenant)
        return JSONResponse({"appid": tenant.appid, "disabled": True})

    async def seed(request: Request) -> Response:
        from simulator.seed import credentials, seed_demo

        url = str(request.base_url).rstrip("/") + "/open.api"
        return JSONResponse(credentials(url, seed_demo(platform)))

    async def seed_dataset(request: Request) -> Response:
        """A ``jzgr fixtures generate`` output folder, loaded directly (plus N days of clock-ins),
        with one project-key tenant per project; answers the credentials."""
        from fixtures.fake import dataset as fake_dataset
        from simulator import bulk
        from simulator.seed import credentials

        spec = _valid(SeedDatasetIn, await _json(request))
        folder, days = spec.path, spec.attendance_days
        try:
            ds = fake_dataset.load(Path(folder))
        except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
            raise BadRequest(f"cannot load a dataset from {folder}: {exc}") from None
        if spec.people:
            loaded = bulk.load(platform.store, ds, attendance_days=days, now=platform.clock.now())
        else:
            if days:
                raise BadRequest("attendance_days needs the people: leave people true")
            loaded = bulk.Loaded()
            with platform.store.tx() as conn:
                bulk.insert_organisations(conn, ds, loaded)
        made = []
        for project in ds.projects:
            tenant = platform.tenants.get(project.code) or platform.tenants.put(
                Tenant(
                    project.code,
                    new_secret(),
                    "project",
                    project.contractor["corpCode"],
                    project.contractor["corpName"],
                    projects=[project.code],
                )
            )
            made.append(tenant)
        url = str(request.base_url).rstrip("/") + "/open.api"
        return JSONResponse({"loaded": loaded.to_json(), **credentials(url, made)})

    async def reset(request: Request) -> Response:
        with platform.store.tx() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name != "sequences":
                    conn.execute(table.delete())
            if platform.store.nonce_book is not None:
                platform.store.nonce_book.clear()
        platform.tenants._cache.clear()
        platform.writer.memo.clear()
        platform.faults.remove()
        platform.traffic.clear()
        platform.clock.reset()
        return JSONResponse({"reset": True})

    async def list_faults(request: Request) -> Response:
        return JSONResponse([f.to_json() for f in platform.faults.rules])

    async def add_fault(request: Request) -> Response:
        return JSONResponse(platform.faults.add(_valid(FaultSpec, await _json(request))).to_json(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        raw = request.path_params.get("fault_id")
        platform.faults.remove(int(raw) if raw is not None else None)
        return JSONResponse({"removed": raw or "all"})

    async def get_clock(request: Request) -> Response:
        return JSONResponse({"now": platform.clock.now().isoformat(), "speed": platform.clock.speed})

    async def set_clock(request: Request) -> Response:
        spec = _valid(ClockIn, await _json(request))
        clock = platform.clock
        if spec.reset:
            clock.reset()
        if spec.now is not None:
            clock.set(spec.now if spec.now.tzinfo else spec.now.replace(tzinfo=BEIJING))
        if spec.advance is not None:
            clock.advance(spec.advance)
        if spec.speed is not None:
            clock.set_speed(spec.speed)
        return await get_clock(request)

    def _filters(request: Request) -> tuple[TrafficQuery, dict[str, Any]]:
        q = _valid(TrafficQuery, dict(request.query_params))
        out: dict[str, Any] = {"appid": q.appid or None, "method": q.method or None}
        if q.since_id:
            out["since_id"] = q.since_id
        return q, out

    async def traffic(request: Request) -> Response:
        q, filters = _filters(request)
        return JSONResponse([e.to_json() for e in platform.traffic.query(limit=q.limit, **filters)])

    async def traffic_jsonl(request: Request) -> Response:
        _, filters = _filters(request)
        return PlainTextResponse(platform.traffic.jsonl(**filters), media_type="application/x-ndjson")

    async def stored_attendance(request: Request) -> Response:
        """What ``WorkerAttendance.Query`` would page, with when each row reached the platform
        (``received_s``, whole seconds of its clock): a load run's gate-to-platform latency."""
        from sqlalchemy import select

        from simulator.store import attendance

        q = _valid(AttendanceQuery, dict(request.query_params))
        a = attendance.c
        chosen = select(a.id_number, a.moment, a.direction, a.received_s).where(
            a.project_code == q.project, a.day == q.day
        )

        def read() -> list[dict[str, Any]]:
            with platform.store.engine.connect() as conn:
                return [
                    {
                        "idCardNumber": r.id_number,
                        "date": r.moment,
                        "direction": r.direction,
                        "received_s": r.received_s,
                    }
                    for r in conn.execute(chosen.order_by(a.id))
                ]

        return JSONResponse(await asyncio.to_thread(read))

    operations = [
        Operation("/tenants", "GET", list_tenants, "list tenants"),
        Operation("/tenants", "POST", add_tenant, "add or replace a tenant", body=TenantIn, ok=201),
        Operation("/tenants/{appid}/rotate", "POST", rotate, "rotate a tenant's secret"),
        Operation("/tenants/{appid}/disable", "POST", disable, "disable a tenant"),
        Operation("/seed-demo", "POST", seed, "create the demo tenants and Dezhou projects"),
        Operation(
            "/seed-dataset",
            "POST",
            seed_dataset,
            "load a `jzgr fixtures generate` folder (and N days of clock-ins)",
            body=SeedDatasetIn,
        ),
        Operation("/reset", "POST", reset, "delete all data, faults and traffic; reset the clock"),
        Operation("/faults", "GET", list_faults, "list fault rules"),
        Operation("/faults", "POST", add_fault, "add a fault rule", body=FaultSpec, ok=201),
        Operation("/faults", "DELETE", clear_faults, "remove every fault rule"),
        Operation("/faults/{fault_id:int}", "DELETE", clear_faults, "remove one fault rule"),
        Operation("/clock", "GET", get_clock, "the simulator clock"),
        Operation("/clock", "POST", set_clock, "set, advance, speed up or freeze the clock", body=ClockIn),
        Operation(
            "/attendance",
            "GET",
            stored_attendance,
            "one project's stored clock-ins of a day, with when each arrived",
            query=AttendanceQuery,
        ),
        Operation("/traffic", "GET", traffic, "inspection log, newest first", query=TrafficQuery),
        Operation("/traffic.jsonl", "GET", traffic_jsonl, "inspection log as JSON Lines", query=TrafficQuery),
    ]
    document = openapi_document(operations)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    routes = [Route("/openapi.json", openapi, methods=["GET"])] + [
        Route(op.path, guarded(op.handler) if op.guarded else op.handler, methods=[op.method]) for op in operations
    ]
    return Starlette(routes=routes)


_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: absent means none, so the ``null`` branch of an optional goes."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**options[0], **rest}


def openapi_document(operations: list[Operation]) -> dict[str, Any]:
    """The admin API's OpenAPI 3.1 document, from its route table and its pydantic models."""
    schemas: dict[str, Any] = {}

    def schema_of(model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        params: list[dict[str, Any]] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer"} if convertor == "int" else {"type": "string", "maxLength": 64},
            }
            for name, convertor in _PATH_PARAM.findall(op.path)
        ]
        if op.query is not None:
            for name, prop in op.query.model_json_schema()["properties"].items():
                params.append({"name": name, "in": "query", "schema": _not_null(prop)})
        entry: dict[str, Any] = {
            "summary": op.summary,
            "responses": {
                str(op.ok): {"description": "done", "content": {"application/json": {"schema": {}}}},
                "400": {"description": "bad request: a JSON body naming each wrong field"},
                "401": {"description": "no or a wrong token"},
                "404": {"description": "not found"},
            },
        }
        if op.guarded:
            entry["security"] = [{"token": []}]
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of(op.body)}}}
        paths.setdefault(_PATH_PARAM.sub(r"{\1}", op.path), {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "jzgr simulator admin API", "version": "1.0"},
        "servers": [{"url": "/admin/api"}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
        "paths": paths,
    }
