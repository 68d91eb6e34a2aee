"""The device-local HTTP API of a callback terminal (Uniubi WO style): the template's routes served by
starlette on uvicorn, each mapping request fields onto one of a fixed set of actions (add person, add
face, set the callback URL …), answered in the template's envelope."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hardware_sim.callback.engine import dig, render, summarise
from hardware_sim.callback.template import LocalRoute
from hardware_sim.device import BEIJING

if TYPE_CHECKING:
    from hardware_sim.callback.device import CallbackDevice


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handling: a fleet runs many of these inside one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LocalApi:
    """The local API of one device; :meth:`start` binds ``listen_host:local_port`` (0 = any free port)."""

    def __init__(self, device: CallbackDevice) -> None:
        self.device = device
        self._server: _QuietServer | None = None
        self._server_task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        if self._server is not None and self._server_task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server_task, 5)
            self._server = self._server_task = None

    async def start(self) -> None:
        api = self.device.template.local_api
        assert api is not None
        routes = [Route(r.path, self._route_handler(r), methods=[m.upper() for m in r.methods]) for r in api.routes]
        app = Starlette(routes=routes)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.device.listen_host, self.device.local_port))
        self.device.local_port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = _QuietServer(config)
        self._server_task = asyncio.create_task(self._server.serve(sockets=[sock]), name=f"api-{self.device.device_id}")
        deadline = time.monotonic() + 5
        while not self._server.started and not self._server_task.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def _route_handler(self, route: LocalRoute) -> Any:
        async def handler(request: Request) -> Response:
            return await self._handle(route, request)

        return handler

    async def _handle(self, route: LocalRoute, request: Request) -> Response:
        api = self.device.template.local_api
        assert api is not None
        params: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        try:
            if raw and (api.encoding == "json" or raw.lstrip().startswith(b"{")):
                loaded = json.loads(raw)
                if isinstance(loaded, dict):
                    params.update(loaded)
            elif raw:  # urlencoded, parsed here (starlette's form parser needs python-multipart)
                params.update(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
        except (ValueError, UnicodeDecodeError) as exc:
            return self._reply(route, False, msg=f"bad request body: {exc}")
        self.device.log("local_request", path=route.path, action=route.action, params=summarise(params))
        if not self.device.powered:
            return Response(status_code=503)
        if api.password_field is not None and route.auth:
            expected = self.device.vars.get(api.password_var, "")
            if str(params.get(api.password_field, "")) != expected:
                return self._reply(route, False, msg="password error")
        fields = {key: dig(params, path) for key, path in route.fields.items()}
        try:
            ok, data, msg = await self._act(route, fields)
        except Exception as exc:  # a request that breaks an action is that request's error
            ok, data, msg = False, None, f"{type(exc).__name__}: {exc}"
        return self._reply(route, ok, data=data, msg=msg)

    async def _act(self, route: LocalRoute, fields: dict[str, Any]) -> tuple[bool, Any, str]:
        handler = ACTIONS.get(route.action)
        if handler is None:
            return False, None, f"unsupported action {route.action}"
        return await handler(self.device, route, fields)

    def _reply(self, route: LocalRoute, ok: bool, *, data: Any = None, msg: str = "") -> Response:
        api = self.device.template.local_api
        assert api is not None
        context = {**self.device.device_context(), "data": data, "msg": msg}
        body = render(api.ok if ok else api.error, context)
        self.device.log("local_reply", path=route.path, ok=ok, msg=msg)
        return JSONResponse(body)


# -- actions: what a route of the local API does (``action:`` in the template) --------------------
Outcome = tuple[bool, Any, str]  # ok, data for the reply, message
Action = Callable[["CallbackDevice", LocalRoute, dict[str, Any]], Awaitable[Outcome]]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    def register(handler: Action) -> Action:
        ACTIONS[name] = handler
        return handler

    return register


def _employee_no(fields: dict[str, Any]) -> str:
    return str(fields.get("employee_no") or "")


def _means_all(route: LocalRoute, fields: dict[str, Any]) -> bool:
    return route.all_value is not None and _employee_no(fields) == route.all_value


@action("device_key")
async def device_key(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    return True, device.device_sn, ""


@action("ok")
async def ok(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    return True, None, ""


@action("store")
async def store(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    device.config.update({k: v for k, v in fields.items() if v is not None})
    return True, None, ""


@action("set_var")
async def set_var(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    values = {k: str(v) for k, v in fields.items() if v is not None}
    if not values:
        return False, None, "missing parameter"
    device.set_vars(**values)
    return True, None, ""


@action("set_password")
async def set_password(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    api = device.template.local_api
    assert api is not None
    if str(fields.get("old") or "") != device.vars.get(api.password_var, "") or not fields.get("new"):
        return False, None, "old password wrong"
    device.vars[api.password_var] = str(fields["new"])
    return True, None, ""


@action("set_time")
async def set_time(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    try:
        ms = float(str(fields.get("timestamp_ms")))
    except ValueError:
        return False, None, "bad timestamp"
    device.clock.set(datetime.fromtimestamp(ms / 1000, BEIJING))
    device.log("clock_set", at=device.clock.now().isoformat())
    return True, None, ""


@action("add_person")
async def add_person(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    error = await device.upsert(fields, create=True)
    return error is None, None, error or ""


@action("update_person")
async def update_person(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    error = await device.upsert(fields, create=False)
    return error is None, None, error or ""


@action("delete_person")
async def delete_person(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    if _means_all(route, fields):
        device.enrolled.clear()
        return True, None, ""
    if device.enrolled.pop(_employee_no(fields), None) is None:
        return False, None, "person not found"
    return True, None, ""


@action("find_person")
async def find_person(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    people = list(device.enrolled.values())
    if not _means_all(route, fields):
        people = [p for p in people if p.employee_no == _employee_no(fields)]
    rows = [{key: getattr(p, attr, None) for key, attr in route.output.items()} for p in people]
    return True, rows, ""


@action("add_face")
async def add_face(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    person = device.enrolled.get(_employee_no(fields))
    if person is None:
        return False, None, "person not found"
    error = await device.set_face(person, fields)
    return error is None, None, error or ""


@action("delete_face")
async def delete_face(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    person = device.enrolled.get(_employee_no(fields))
    if person is None:
        return False, None, "person not found"
    person.face = None
    return True, None, ""


@action("reset")
async def reset(device: CallbackDevice, route: LocalRoute, fields: dict[str, Any]) -> Outcome:
    device.enrolled.clear()
    return True, None, ""
