"""The device-local HTTP API of a callback terminal (Uniubi WO style): the template's routes served by
starlette on uvicorn, each mapping request fields onto one of a fixed set of actions (add person, add
face, set the callback URL …), answered in the template's envelope."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Iterator
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
        action = route.action
        employee_no = str(fields.get("employee_no") or "")
        if action == "device_key":
            return True, self.device.device_sn, ""
        if action == "ok":
            return True, None, ""
        if action == "store":
            self.device.config.update({k: v for k, v in fields.items() if v is not None})
            return True, None, ""
        if action == "set_var":
            values = {k: str(v) for k, v in fields.items() if v is not None}
            if not values:
                return False, None, "missing parameter"
            self.device.set_vars(**values)
            return True, None, ""
        if action == "set_password":
            api = self.device.template.local_api
            assert api is not None
            if str(fields.get("old") or "") != self.device.vars.get(api.password_var, "") or not fields.get("new"):
                return False, None, "old password wrong"
            self.device.vars[api.password_var] = str(fields["new"])
            return True, None, ""
        if action == "set_time":
            try:
                ms = float(str(fields.get("timestamp_ms")))
            except ValueError:
                return False, None, "bad timestamp"
            self.device.clock.set(datetime.fromtimestamp(ms / 1000, BEIJING))
            self.device.log("clock_set", at=self.device.clock.now().isoformat())
            return True, None, ""
        if action in ("add_person", "update_person"):
            error = await self.device.upsert(fields, create=action == "add_person")
            return error is None, None, error or ""
        if action == "delete_person":
            if route.all_value is not None and employee_no == route.all_value:
                self.device.enrolled.clear()
                return True, None, ""
            if self.device.enrolled.pop(employee_no, None) is None:
                return False, None, "person not found"
            return True, None, ""
        if action == "find_person":
            people = list(self.device.enrolled.values())
            if not (route.all_value is not None and employee_no == route.all_value):
                people = [p for p in people if p.employee_no == employee_no]
            rows = [{key: getattr(p, attr, None) for key, attr in route.output.items()} for p in people]
            return True, rows, ""
        if action == "add_face":
            person = self.device.enrolled.get(employee_no)
            if person is None:
                return False, None, "person not found"
            error = await self.device.set_face(person, fields)
            return error is None, None, error or ""
        if action == "delete_face":
            person = self.device.enrolled.get(employee_no)
            if person is None:
                return False, None, "person not found"
            person.face = None
            return True, None, ""
        if action == "reset":
            self.device.enrolled.clear()
            return True, None, ""
        return False, None, f"unsupported action {action}"

    def _reply(self, route: LocalRoute, ok: bool, *, data: Any = None, msg: str = "") -> Response:
        api = self.device.template.local_api
        assert api is not None
        context = {**self.device.device_context(), "data": data, "msg": msg}
        body = render(api.ok if ok else api.error, context)
        self.device.log("local_reply", path=route.path, ok=ok, msg=msg)
        return JSONResponse(body)
