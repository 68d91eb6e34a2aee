"""The fleet's control API: physical actions on virtual devices over HTTP, on 127.0.0.1.

Someone presents a face, swipes a card, pulls the plug, the 4G router drops; a scenario runs the
morning rush. Every answer is JSON; mistakes (unknown device, bad body) are 4xx with a message that
says what to change, never a 500; an action the device's kind cannot take (a face at an ID-card
reader) is a 422 naming the kind and the action. The journal is served as JSON Lines at ``/journal.jsonl``.

The API runs in the fleet's own event loop (:class:`ControlServer`), so an action reaches the device
at once and in order. :func:`run_in_thread` runs a fleet and its API in a background thread, for
tests and for embedding in a synchronous program.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine, Generator
from datetime import datetime
from typing import Any, TypeVar

import uvicorn
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hardware_sim import scenarios
from hardware_sim.device import BEIJING, ActionUnsupported, Event
from hardware_sim.fleet import Fleet, UnknownDevice, UnknownWorker

DEFAULT_PORT = 8780
T = TypeVar("T")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


# -- bodies --------------------------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PresentFace(_Body):
    employee_no: str | None = Field(None, description="as enrolled on the device")
    worker_index: int | None = Field(None, ge=0, description="position in the roster (GET /roster)")
    id_number: str | None = Field(None, description="the worker's ID card number")
    stranger: bool = Field(False, description="someone the site does not know")
    spoof: bool = Field(False, description="a photo or a mask held up: fails liveness")

    @model_validator(mode="after")
    def _who(self) -> PresentFace:
        given = [n for n in ("employee_no", "worker_index", "id_number") if getattr(self, n) is not None]
        if self.stranger and given:
            raise ValueError(f"a stranger has no {given[0]}: give stranger=true alone")
        if not self.stranger and len(given) != 1:
            raise ValueError("give exactly one of employee_no, worker_index, id_number — or stranger=true")
        return self


class SwipeCard(_Body):
    card_no: str | None = None
    worker_index: int | None = Field(None, ge=0)
    id_number: str | None = None

    @model_validator(mode="after")
    def _one(self) -> SwipeCard:
        if sum(v is not None for v in (self.card_no, self.worker_index, self.id_number)) != 1:
            raise ValueError("give exactly one of card_no, worker_index, id_number")
        return self


class ReadIdCard(_Body):
    worker_index: int | None = Field(None, ge=0, description="position in the roster (GET /roster)")
    id_number: str | None = Field(None, description="the worker's ID card number")

    @model_validator(mode="after")
    def _one(self) -> ReadIdCard:
        if (self.worker_index is None) == (self.id_number is None):
            raise ValueError("give exactly one of worker_index, id_number")
        return self


class PowerOn(_Body):
    rtc_reset: bool = Field(False, description="the RTC battery is flat: the clock restarts at 2000-01-01")


class NetworkDrop(_Body):
    minutes: float | None = Field(None, gt=0, le=7 * 24 * 60)
    seconds: float | None = Field(None, gt=0, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _one(self) -> NetworkDrop:
        if (self.minutes is None) == (self.seconds is None):
            raise ValueError("give exactly one of minutes or seconds")
        return self

    @property
    def duration(self) -> float:
        return self.seconds if self.seconds is not None else (self.minutes or 0) * 60


class Clock(_Body):
    drift_ppm: float | None = Field(None, ge=-100_000, le=100_000)
    step_seconds: float | None = None
    set: datetime | None = Field(None, description="ISO 8601; without an offset it is Beijing time")

    @model_validator(mode="after")
    def _some(self) -> Clock:
        if self.drift_ppm is None and self.step_seconds is None and self.set is None:
            raise ValueError("give drift_ppm, step_seconds or set")
        return self


class Preload(_Body):
    only_empty: bool = Field(True, description="skip devices the vendor has already issued people to")


class Empty(_Body):
    pass


B = TypeVar("B", bound=BaseModel)


async def _body(request: Request, model: type[B]) -> B:
    raw = await request.body()
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or None,
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in exc.errors(include_url=False)
        ]
        first = problems[0]
        message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        raise BadRequest(message, 422, problems=problems) from None


def _event(event: Event | None) -> dict[str, Any] | None:
    return event.summary() if event is not None else None


Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as exc:
            return JSONResponse({"error": str(exc), **exc.extra}, exc.status)
        except UnknownDevice as exc:
            return JSONResponse({"error": exc.message}, 404)
        except ActionUnsupported as exc:  # the kind cannot take this action at all: no state would help
            return JSONResponse({"error": exc.message, "kind": exc.kind, "action": exc.action}, 422)
        except UnknownWorker as exc:
            return JSONResponse({"error": str(exc)}, 404)
        except scenarios.ScenarioError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except Exception as exc:  # a bug: still JSON, and in the journal
            request.app.state.fleet.journal.record("control", "error", path=request.url.path, error=repr(exc))
            return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)

    return wrapped


def create_app(fleet: Fleet) -> Starlette:
    """The control API of ``fleet`` (an ASGI app)."""

    def powered(device_id: str) -> None:
        device = fleet.device(device_id)
        if not device.powered:
            raise BadRequest(f"device {device_id} is powered off: POST /devices/{device_id}/power-on first", 409)

    def answer(device_id: str, **extra: Any) -> JSONResponse:
        return JSONResponse({**extra, "device": fleet.describe(device_id)})

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                **fleet.summary(),
                "endpoints": [
                    "GET /devices",
                    "GET /devices/{id}",
                    "POST /devices/{id}/present-face {worker_index|id_number|employee_no|stranger, spoof}",
                    "POST /devices/{id}/swipe-card {card_no|worker_index|id_number}",
                    "POST /devices/{id}/read-id-card {worker_index|id_number}",
                    "POST /devices/{id}/power-off",
                    "POST /devices/{id}/power-on {rtc_reset}",
                    "POST /devices/{id}/network-drop {minutes|seconds}",
                    "POST /devices/{id}/network-restore",
                    "POST /devices/{id}/clock {drift_ppm|step_seconds|set}",
                    "POST /devices/{id}/duplicate",
                    "POST /devices/{id}/preload-roster",
                    "GET /roster",
                    "GET /scenarios",
                    "POST /scenarios/{name} {time_scale, seed, ...}",
                    "GET /scenarios/{run}",
                    "POST /scenarios/{run}/cancel",
                    "GET /journal.jsonl?device=&kind=&since=&limit=",
                ],
            }
        )

    async def devices(request: Request) -> Response:
        direction = request.query_params.get("direction")
        kind = request.query_params.get("kind")
        rows = [
            row
            for row in fleet.status()
            if (direction is None or row["direction"] == direction) and (kind is None or row["kind"] == kind)
        ]
        return JSONResponse({"summary": fleet.summary(), "devices": rows})

    async def device(request: Request) -> Response:
        return JSONResponse(fleet.describe(request.path_params["id"]))

    async def present_face(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id).check_action("present_face")
        body = await _body(request, PresentFace)
        if body.stranger:
            event = fleet.present_stranger(device_id, spoof=body.spoof)
        elif body.employee_no is not None:
            event = fleet.present_employee_no(device_id, body.employee_no, spoof=body.spoof)
        else:
            index, worker = fleet.worker(index=body.worker_index, id_number=body.id_number)
            event = fleet.present_worker(device_id, index, worker, spoof=body.spoof)
        powered(device_id)  # a dark gate ignores the face (journaled as action_ignored by the device)
        return answer(device_id, event=_event(event))

    async def swipe_card(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id).check_action("swipe_card")
        body = await _body(request, SwipeCard)
        powered(device_id)
        card = body.card_no
        if card is None:
            from hardware_sim.fleet import card_number

            _, worker = fleet.worker(index=body.worker_index, id_number=body.id_number)
            device = fleet.device(device_id)
            number = fleet.employee_no(device, worker)
            person = device.enrolled.get(number) if number else None
            card = person.card_no if person is not None and person.card_no else card_number(worker.id_number)
        return answer(device_id, event=_event(fleet.swipe_card(device_id, card)))

    async def read_id_card(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id).check_action("read_id_card")
        body = await _body(request, ReadIdCard)
        powered(device_id)
        index, worker = fleet.worker(index=body.worker_index, id_number=body.id_number)
        return answer(device_id, event=_event(fleet.read_id_card(device_id, index, worker)))

    async def power_off(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id)
        await _body(request, Empty)
        fleet.power_off(device_id)
        return answer(device_id)

    async def power_on(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id)
        body = await _body(request, PowerOn)
        fleet.power_on(device_id, rtc_reset=body.rtc_reset)
        return answer(device_id)

    async def network_drop(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id)
        body = await _body(request, NetworkDrop)
        fleet.network_drop(device_id, body.duration)
        return answer(device_id, seconds=body.duration)

    async def network_restore(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id)
        await _body(request, Empty)
        fleet.network_restore(device_id)
        return answer(device_id)

    async def clock(request: Request) -> Response:
        device_id = request.path_params["id"]
        device = fleet.device(device_id)
        body = await _body(request, Clock)
        fleet.action(device_id, "clock", "control", **body.model_dump(mode="json", exclude_none=True))
        if body.drift_ppm is not None:
            device.clock.set(device.clock.now())  # the old drift stays in the past
            device.clock.drift_ppm = body.drift_ppm
        if body.set is not None:
            when = body.set if body.set.tzinfo is not None else body.set.replace(tzinfo=BEIJING)
            device.clock.set(when)
        if body.step_seconds is not None:
            device.clock.step(body.step_seconds)
        return answer(device_id)

    async def duplicate(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id).check_action("duplicate")
        await _body(request, Empty)
        powered(device_id)
        event = fleet.duplicate(device_id)
        if event is None:
            raise BadRequest(f"device {device_id} has no event to upload again yet", 409)
        return answer(device_id, event=_event(event))

    async def preload(request: Request) -> Response:
        device_id = request.path_params["id"]
        fleet.device(device_id)
        body = await _body(request, Preload)
        done = fleet.preload_roster([device_id], only_empty=body.only_empty)
        return answer(device_id, preloaded=done.get(device_id, 0))

    async def roster(request: Request) -> Response:
        offset = _int(request, "offset", 0)
        limit = _int(request, "limit", 100)
        workers = fleet.roster
        rows = [
            {
                "worker_index": i,
                "name": w.person.name,
                "id_number": w.id_number,
                "male": w.person.male,
                "team": w.team_name,
                "project_code": w.project_code,
            }
            for i, w in enumerate(workers[offset : offset + limit], start=offset)
        ]
        return JSONResponse({"total": len(workers), "offset": offset, "workers": rows})

    async def scenario_list(request: Request) -> Response:
        return JSONResponse({"available": scenarios.catalogue(), "runs": [run.view() for run in fleet.runs]})

    async def scenario_start(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in scenarios.SCENARIOS:
            raise BadRequest(f"unknown scenario {name!r}; known: {', '.join(scenarios.SCENARIOS)}", 404)
        params = await _body(request, scenarios.Params)
        run = scenarios.start(fleet, name, params)
        return JSONResponse(run.view(), 202)

    def find_run(run_id: str) -> scenarios.ScenarioRun:
        for run in fleet.runs:
            if run.id == run_id:
                return run
        known = ", ".join(r.id for r in fleet.runs) or "none yet"
        raise BadRequest(f"no scenario run {run_id!r}; runs: {known}", 404)

    async def scenario_get(request: Request) -> Response:
        return JSONResponse(find_run(request.path_params["run"]).view())

    async def scenario_cancel(request: Request) -> Response:
        run = find_run(request.path_params["run"])
        await run.cancel()
        return JSONResponse(run.view())

    async def journal(request: Request) -> Response:
        device_id = request.query_params.get("device") or None
        kind = request.query_params.get("kind") or None
        since = _int(request, "since", 0)
        limit = _int(request, "limit", 100_000)
        entries = [e for e in fleet.journal.entries(device=device_id, kind=kind) if e["seq"] > since][:limit]
        body = "".join(json.dumps(e, ensure_ascii=False, default=str) + "\n" for e in entries)
        return Response(body, media_type="application/x-ndjson; charset=utf-8")

    async def not_found(request: Request) -> Response:
        raise BadRequest(f"no such endpoint: {request.method} {request.url.path} (GET / lists them)", 404)

    plain: list[tuple[str, Handler, list[str]]] = [
        ("/", index, ["GET"]),
        ("/devices", devices, ["GET"]),
        ("/devices/{id}", device, ["GET"]),
        ("/devices/{id}/present-face", present_face, ["POST"]),
        ("/devices/{id}/swipe-card", swipe_card, ["POST"]),
        ("/devices/{id}/read-id-card", read_id_card, ["POST"]),
        ("/devices/{id}/power-off", power_off, ["POST"]),
        ("/devices/{id}/power-on", power_on, ["POST"]),
        ("/devices/{id}/network-drop", network_drop, ["POST"]),
        ("/devices/{id}/network-restore", network_restore, ["POST"]),
        ("/devices/{id}/clock", clock, ["POST"]),
        ("/devices/{id}/duplicate", duplicate, ["POST"]),
        ("/devices/{id}/preload-roster", preload, ["POST"]),
        ("/roster", roster, ["GET"]),
        ("/scenarios", scenario_list, ["GET"]),
        ("/scenarios/{name}", scenario_start, ["POST"]),
        ("/scenarios/{run}", scenario_get, ["GET"]),
        ("/scenarios/{run}/cancel", scenario_cancel, ["POST"]),
        ("/journal.jsonl", journal, ["GET"]),
    ]
    routes = [Route(path, _guard(h), methods=methods) for path, h, methods in plain]
    routes.append(Route("/{rest:path}", _guard(not_found), methods=["GET", "POST", "PUT", "DELETE", "PATCH"]))
    app = Starlette(routes=routes)
    app.state.fleet = fleet
    return app


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise BadRequest(f"{name} must not be negative")
    return value


# -- serving -------------------------------------------------------------------------------------
class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the fleet's owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class BadAddress(OSError):
    """The control API's host is no address of this machine."""


class ControlServer:
    """The control API served in the running event loop."""

    def __init__(self, fleet: Fleet, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.fleet = fleet
        self.host = host
        self.port = port
        config = uvicorn.Config(
            create_app(fleet), host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen and serve; an OSError naming the address when it cannot listen (uvicorn itself
        would log the error and raise SystemExit from its task)."""
        listener = self._listen()
        self._task = asyncio.create_task(self.server.serve(sockets=[listener]), name="jzgr-devices-control")
        while not self.server.started:
            if self._task.done():
                error = self._task.exception()
                raise OSError(f"the control API could not listen on {self.host}:{self.port}: {error or 'exited'}")
            await asyncio.sleep(0.01)
        sockets = [s for server in self.server.servers for s in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    def _listen(self) -> socket.socket:
        try:
            socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise BadAddress(f"the control API cannot listen on {self.host!r}: {exc.strerror}") from None
        try:
            return socket.create_server((self.host, self.port))  # SO_REUSEADDR, never SO_REUSEPORT
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise BadAddress(
                    f"the control API cannot listen on {self.host}: not an address of this machine"
                ) from None
            if exc.errno == errno.EADDRINUSE:
                raise OSError(
                    f"the control API's port {self.port} on {self.host} is already in use (another "
                    "`jzgr devices up`?); stop it or pass --control-port (0: any free port)"
                ) from None
            raise OSError(f"the control API cannot listen on {self.host}:{self.port}: {exc.strerror}") from None

    async def stop(self) -> None:
        if self._task is not None:
            self.server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                await self._task
            self._task = None


class Background:
    """A fleet and its control API running in a thread with its own event loop."""

    def __init__(self, fleet: Fleet, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fleet = fleet
        self.control = ControlServer(fleet, host, port)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="jzgr-devices", daemon=True)

    @property
    def url(self) -> str:
        return self.control.url

    def start(self, timeout: float = 60) -> Background:
        self._thread.start()
        try:
            self.call(self._up(), timeout)
        except BaseException:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            raise
        return self

    async def _up(self) -> None:
        await self.fleet.start()
        try:
            await self.control.start()
        except BaseException:
            await self.fleet.stop()
            raise

    async def _down(self) -> None:
        await self.control.stop()
        await self.fleet.stop()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        """Run a coroutine in the fleet's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 30) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.call(self._down(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.loop.close()

    def __enter__(self) -> Background:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def run_in_thread(fleet: Fleet, host: str = "127.0.0.1", port: int = 0) -> Background:
    """Start ``fleet`` and its control API in a background thread; ``.stop()`` ends both."""
    return Background(fleet, host, port).start()
