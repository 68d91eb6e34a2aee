"""The admin API under ``/admin/api``: tenants, demo seeding, reset, faults, clock and traffic
export, protected by a bearer token (``JZGR_ADMIN_TOKEN``; constant-time compare). Every error is
a JSON body with a 4xx status, never a 500."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, StringConstraints, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from simulator.faults import FaultError
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
        try:
            spec = TenantIn.model_validate(await _json(request))
        except ValidationError as exc:
            raise BadRequest("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
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

        body = await _json(request)
        folder, days = body.get("path"), body.get("attendance_days", 0)
        if not isinstance(folder, str) or not folder or "\x00" in folder:
            raise BadRequest("path: the folder written by `jzgr fixtures generate` is required")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
            raise BadRequest("attendance_days is an integer 0–366")
        try:
            ds = fake_dataset.load(Path(folder))
        except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
            raise BadRequest(f"cannot load a dataset from {folder}: {exc}") from None
        loaded = bulk.load(platform.store, ds, attendance_days=days, now=platform.clock.now())
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
        return JSONResponse(platform.faults.add(await _json(request)).to_json(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        raw = request.path_params.get("fault_id")
        platform.faults.remove(int(raw) if raw is not None else None)
        return JSONResponse({"removed": raw or "all"})

    async def get_clock(request: Request) -> Response:
        return JSONResponse({"now": platform.clock.now().isoformat(), "speed": platform.clock.speed})

    async def set_clock(request: Request) -> Response:
        body = await _json(request)
        clock = platform.clock
        if body.get("reset"):
            clock.reset()
        if "now" in body:
            moment = datetime.fromisoformat(str(body["now"]))
            clock.set(moment if moment.tzinfo else moment.replace(tzinfo=BEIJING))
        if "advance" in body:
            clock.advance(float(body["advance"]))
        if "speed" in body:
            speed = float(body["speed"])
            if not 0 <= speed <= 10_000:
                raise BadRequest("speed is 0 (frozen) to 10000")
            clock.set_speed(speed)
        return await get_clock(request)

    def _filters(request: Request) -> dict[str, Any]:
        q = request.query_params
        out: dict[str, Any] = {"appid": q.get("appid") or None, "method": q.get("method") or None}
        if q.get("since_id"):
            out["since_id"] = int(q["since_id"])
        return out

    async def traffic(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "200"))
        if not 1 <= limit <= 10_000:
            raise BadRequest("limit is 1–10000")
        return JSONResponse([e.to_json() for e in platform.traffic.query(limit=limit, **_filters(request))])

    async def traffic_jsonl(request: Request) -> Response:
        return PlainTextResponse(platform.traffic.jsonl(**_filters(request)), media_type="application/x-ndjson")

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    routes = [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/tenants", guarded(list_tenants), methods=["GET"]),
        Route("/tenants", guarded(add_tenant), methods=["POST"]),
        Route("/tenants/{appid}/rotate", guarded(rotate), methods=["POST"]),
        Route("/tenants/{appid}/disable", guarded(disable), methods=["POST"]),
        Route("/seed-demo", guarded(seed), methods=["POST"]),
        Route("/seed-dataset", guarded(seed_dataset), methods=["POST"]),
        Route("/reset", guarded(reset), methods=["POST"]),
        Route("/faults", guarded(list_faults), methods=["GET"]),
        Route("/faults", guarded(add_fault), methods=["POST"]),
        Route("/faults", guarded(clear_faults), methods=["DELETE"]),
        Route("/faults/{fault_id:int}", guarded(clear_faults), methods=["DELETE"]),
        Route("/clock", guarded(get_clock), methods=["GET"]),
        Route("/clock", guarded(set_clock), methods=["POST"]),
        Route("/traffic", guarded(traffic), methods=["GET"]),
        Route("/traffic.jsonl", guarded(traffic_jsonl), methods=["GET"]),
    ]
    return Starlette(routes=routes)


_AUTH: list[dict[str, list[str]]] = [{"token": []}]
_OBJ = {"type": "object"}


def _op(
    summary: str, body: dict[str, Any] | None = None, ok: str = "200", params: list[Any] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": _AUTH,
        "responses": {
            ok: {"description": "done", "content": {"application/json": {"schema": {}}}},
            "400": {"description": "bad request"},
            "401": {"description": "no token"},
            "404": {"description": "not found"},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


_APPID = [{"name": "appid", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}]
_FAULT = {
    "type": "object",
    "required": ["kind"],
    "additionalProperties": False,
    "properties": {
        "kind": {
            "enum": [
                "latency",
                "http_error",
                "rate_limit",
                "reset",
                "timeout",
                "async_stuck",
                "async_fail",
                "maintenance",
            ]
        },
        "appid": {"type": ["string", "null"]},
        "method": {"type": ["string", "null"]},
        "start": {"type": ["number", "null"]},
        "end": {"type": ["number", "null"]},
        "count": {"type": ["integer", "null"], "minimum": 0},
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "latency_ms": {"type": "number", "minimum": 0, "maximum": 10000},
        "jitter_ms": {"type": "number", "minimum": 0, "maximum": 10000},
        "status": {"type": "integer", "minimum": 500, "maximum": 599},
        "message": {"type": "string"},
        "timeout_s": {"type": "number", "minimum": 0, "maximum": 300},
    },
}
_SEED = {
    "type": "object",
    "required": ["path"],
    "additionalProperties": False,
    "properties": {"path": {"type": "string"}, "attendance_days": {"type": "integer", "minimum": 0, "maximum": 366}},
}
_TENANT = {
    "type": "object",
    "required": ["appid"],
    "additionalProperties": False,
    "properties": {
        "appid": {"type": "string", "minLength": 1, "maxLength": 64},
        "appsecret": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "corpCode": {"type": "string"},
        "corpName": {"type": "string"},
        "corpKey": {"type": ["string", "null"]},
        "require_corpsign": {"type": "boolean"},
        "projects": {"type": "array", "items": {"type": "string"}},
        "ip_allow": {"type": "array", "items": {"type": "string"}},
        "rate_limit": {"type": ["integer", "null"], "minimum": 1},
        "diagnostics": {"type": "boolean"},
    },
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "jzgr simulator admin API", "version": "1.0"},
    "servers": [{"url": "/admin/api"}],
    "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/tenants": {"get": _op("list tenants"), "post": _op("add or replace a tenant", _TENANT, "201")},
        "/tenants/{appid}/rotate": {"post": _op("rotate a tenant's secret", params=_APPID)},
        "/tenants/{appid}/disable": {"post": _op("disable a tenant", params=_APPID)},
        "/seed-demo": {"post": _op("create the demo tenants and Dezhou projects")},
        "/seed-dataset": {"post": _op("load a `jzgr fixtures generate` folder (and N days of clock-ins)", _SEED)},
        "/reset": {"post": _op("delete all data, faults and traffic; reset the clock")},
        "/faults": {
            "get": _op("list fault rules"),
            "post": _op("add a fault rule", _FAULT, "201"),
            "delete": _op("remove every fault rule"),
        },
        "/faults/{fault_id}": {
            "delete": _op(
                "remove one fault rule",
                params=[{"name": "fault_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            )
        },
        "/clock": {
            "get": _op("the simulator clock"),
            "post": _op(
                "set, advance, speed up or freeze the clock",
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "now": {"type": "string", "format": "date-time"},
                        "advance": {"type": "number", "minimum": -1e7, "maximum": 1e7},
                        "speed": {"type": "number", "minimum": 0, "maximum": 10000},
                        "reset": {"type": "boolean"},
                    },
                },
            ),
        },
        "/traffic": {
            "get": _op(
                "inspection log, newest first",
                params=[
                    {"name": "appid", "in": "query", "schema": {"type": "string"}},
                    {"name": "method", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000}},
                ],
            )
        },
        "/traffic.jsonl": {"get": _op("inspection log as JSON Lines")},
    },
}
