"""The virtual ID-card reader: the local service a browser-based real-name system talks to
(devices.md §7.2 b), with a card that a test or a fleet places on it and takes away.

Services, each on its own port of ``host`` (0 = a free port; the bound ports are on the instance
after :meth:`VirtualReader.start`):

* HTTP (``http_port``, real services use 8000): ``POST /cgi-bin/readCard`` →
  ``{"info": {...}, "result": {"resultFlag", "errorMsg"}}``; the control API
  ``POST /control/place``, ``POST /control/remove``, ``GET /control/status``.
* WebSocket (``ws_port``, real service ``ws://localhost:1919``): the client sends ``{"type":4}``,
  the reader answers ``{"fun":"OnAfterGWQ_ReadID","ErrorCode":…,"JsonData":{…}}`` — a reconstruction
  of the ``OnAfterGWQ_ReadID(ErrorCode, JsonData)`` callback as one JSON message.
* 华视-style HTTP (``hx_port``, real service 19196; off unless a port is given) [L]:
  ``/OpenDevice``, ``/readCard``, ``/CloseDevice`` with ``partyName`` / ``certNumber`` keys.

As on a real reader, once a card has been read it must leave the field before the next read
succeeds (``require_removal``). Every read, good or bad, is journaled as ``id_card_read``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Self, Unpack

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket, WebSocketDisconnect

from fixtures.fake.people import Person
from hardware_sim.device import Device, DeviceOptions, DeviceSettings, Event, SiteEntry
from hardware_sim.idreader import card as cards

# resultFlag / ErrorCode values (this simulator's; real services differ and document little)
OK = 0
NO_CARD = -1
NOT_REMOVED = -2
BAD_REQUEST = -3
NO_DEVICE = -4
CANCELLED = -9  # the 1919 service's "取消" (not produced by the simulator, listed for clients)

MESSAGES = {
    OK: "",
    NO_CARD: "未放卡或读卡失败",
    NOT_REMOVED: "请移走证件后重新放卡",
    BAD_REQUEST: "请求格式错误",
    NO_DEVICE: "读卡器未连接",
}


class ReadError(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "读卡失败"))
        self.code = code
        self.message = message or MESSAGES.get(code, "读卡失败")


@dataclass
class _Running:
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: the reader runs inside someone else's event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class _Utf8JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class VirtualReader(Device):
    kind = "idreader"
    refuses = MappingProxyType(
        {
            "present_face": "an ID-card reader has no camera (read_id_card lays a worker's card on it)",
            "swipe_card": "an ID-card reader reads resident ID cards, not IC cards (use read_id_card)",
            "duplicate": "an ID-card reader answers requests and uploads no events",
        }
    )

    def __init__(
        self,
        device_id: str,
        *,
        host: str = "127.0.0.1",
        http_port: int = 0,
        port: int | None = None,
        ws_port: int | None = 0,
        hx_port: int | None = None,
        require_removal: bool = True,
        photo_format: str = "jpeg",
        raw_frame: bool = False,
        read_delay: float = 0.0,
        wait_for_card: float = 0.0,
        people_seed: int = 6,
        json_data_as_string: bool = False,
        cert_types: dict[str, str] | None = None,
        settings: DeviceSettings | None = None,
        **base: Unpack[DeviceOptions],
    ) -> None:
        super().__init__(device_id, settings, **base)
        if photo_format not in ("jpeg", "bmp"):
            raise ValueError("photo_format is 'jpeg' or 'bmp'")
        self.host = host
        self.http_port = http_port if port is None else port  # ``port``: the fleet's name for the HTTP port
        self.ws_port = ws_port
        self.hx_port = hx_port
        self.require_removal = require_removal
        self.photo_format = photo_format
        self.raw_frame = raw_frame
        self.read_delay = read_delay
        self.wait_for_card = wait_for_card
        self.people_seed = people_seed
        self.json_data_as_string = json_data_as_string
        self.cert_types = dict(cards.CERT_TYPES, **(cert_types or {}))
        self.reads = 0
        self.failed_reads = 0
        self._card: cards.Card | None = None
        self._read_done = False  # the card in the field has been read (and must leave before the next read)
        self._changed = asyncio.Event()
        self._read_lock = asyncio.Lock()
        self._running: dict[str, _Running] = {}

    @classmethod
    def from_site(cls, entry: SiteEntry) -> Self:
        """A reader serving at the entry's ``host``; ``port`` is its HTTP service's."""
        options = entry.options()
        if not {"host"} & set(options):
            options["host"] = entry.config.host
        if entry.config.port is not None and not {"port", "http_port"} & set(options):
            options["port"] = entry.config.port
        return cls.create(entry, options)

    # -- physical actions ----------------------------------------------------------------------
    def read_id_card(
        self, id_card: Mapping[str, Any], *, employee_no: str | None = None, photo: bytes | None = None
    ) -> Event | None:
        """Lay the ID card described by ``id_card`` (the fixtures' ``Person.card_json()``) on the reader;
        the vendor's software reads it through the reader's services. No event: a reader pushes none."""
        self.check_action("read_id_card")
        self.place(cards.card_from_person_json(id_card, photo=photo))
        return None

    @property
    def card(self) -> cards.Card | None:
        return self._card

    def place(self, card: cards.Card | Person | int) -> cards.Card:
        """Lay a card on the reader (a card, a fake Person, or the index of a fixture person)."""
        if isinstance(card, int):
            card = cards.fixture_person(card, self.people_seed)
        if isinstance(card, Person):
            card = cards.resident_from_person(card)
        self._card = card
        self._read_done = False
        self.log("card_placed", card_type=card.kind, flag=card.flag, number=card.number, name=card.display_name)
        self._changed.set()
        return card

    def remove(self) -> None:
        """Take the card out of the field."""
        had = self._card
        self._card = None
        self._read_done = False
        self.log("card_removed", number=had.number if had else None)
        self._changed.set()

    async def read(self, *, service: str = "api", wait: float | None = None) -> cards.Card:
        """Find, select and read the card in the field (``SDT_StartFindIDCard`` … ``SDT_ReadBaseMsg``).
        Raises :class:`ReadError`; journals the outcome either way."""
        try:
            card = await self._read(wait if wait is not None else self.wait_for_card)
        except ReadError as exc:
            self.failed_reads += 1
            self.log("id_card_read", service=service, ok=False, code=exc.code, error=exc.message)
            raise
        self.reads += 1
        self.log(
            "id_card_read",
            service=service,
            ok=True,
            code=OK,
            card_type=card.kind,
            flag=card.flag,
            number=card.number,
            name=card.display_name,
        )
        return card

    def _readable(self) -> bool:
        return self._card is not None and not (self._read_done and self.require_removal)

    async def _read(self, wait: float) -> cards.Card:
        if not self.powered:
            raise ReadError(NO_DEVICE)
        async with self._read_lock:
            deadline = time.monotonic() + wait
            while not self._readable() and (remaining := deadline - time.monotonic()) > 0:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
            if self._card is None:
                raise ReadError(NO_CARD)
            if not self._readable():
                raise ReadError(NOT_REMOVED)
            card = self._card
            if self.read_delay > 0:
                await asyncio.sleep(self.read_delay)
                if self._card is not card:
                    raise ReadError(NO_CARD, "读卡过程中证件被移走")
            self._read_done = True
            return card

    def info(self, card: cards.Card, *, raw: bool = False) -> dict[str, Any]:
        data = cards.info(card, photo_format=self.photo_format, cert_types=self.cert_types)
        if raw or self.raw_frame:
            data["raw"] = base64.b64encode(cards.sam_frame(card)).decode()
        return data

    # -- Device --------------------------------------------------------------------------------
    async def deliver(self, events: list[Event]) -> int:
        raise NotImplementedError("an ID-card reader answers requests; it pushes no events")

    def status(self) -> dict[str, Any]:
        card = self._card
        return {
            **super().status(),
            "card": None if card is None else cards.card_to_json(card),
            "card_read": self._read_done,
            "require_removal": self.require_removal,
            "reads": self.reads,
            "failed_reads": self.failed_reads,
            "urls": self.urls,
        }

    @property
    def port(self) -> int:
        """The HTTP service's port (the bound one after :meth:`start`); what the fleet calls the device's port."""
        return self.http_port

    @property
    def urls(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if "http" in self._running:
            out["http"] = f"http://{self.host}:{self.http_port}"
            out["readCard"] = f"http://{self.host}:{self.http_port}/cgi-bin/readCard"
        if "ws" in self._running:
            out["ws"] = f"ws://{self.host}:{self.ws_port}"
        if "hx" in self._running:
            out["hx"] = f"http://{self.host}:{self.hx_port}"
        return out

    async def start(self) -> None:
        if self._running:
            return
        try:
            self.http_port = await self._serve("http", self._http_app(), self.http_port)
            if self.ws_port is not None:
                self.ws_port = await self._serve("ws", self._ws_app(), self.ws_port)
            if self.hx_port is not None:
                self.hx_port = await self._serve("hx", self._hx_app(), self.hx_port)
        except BaseException:
            await self.stop()
            raise
        self.log("started", **self.urls)

    async def stop(self) -> None:
        running, self._running = self._running, {}
        for item in running.values():
            item.server.should_exit = True
        for item in running.values():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(item.task, 5)
        if running:
            self.log("stopped")

    async def _serve(self, name: str, app: ASGIApp, port: int) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, port))
        except OSError:
            sock.close()
            raise
        bound = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            timeout_graceful_shutdown=1,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{self.device_id}-{name}")
        while not server.started:
            if task.done():
                sock.close()
                raise RuntimeError(f"{self.device_id}: the {name} service did not start: {task.exception()!r}")
            await asyncio.sleep(0.005)
        self._running[name] = _Running(server, task, bound)
        return bound

    # -- the HTTP service ----------------------------------------------------------------------
    def _http_app(self) -> ASGIApp:
        routes = [
            Route("/cgi-bin/readCard", self._read_card, methods=["POST"]),
            Route("/control/place", self._control_place, methods=["POST"]),
            Route("/control/remove", self._control_remove, methods=["POST"]),
            Route("/control/status", self._control_status, methods=["GET"]),
        ]
        return self._wrap(Starlette(routes=routes, exception_handlers=self._handlers(self._read_card_error)))

    @staticmethod
    def _wrap(app: ASGIApp) -> ASGIApp:
        """CORS for pages served from elsewhere, including Chrome's private-network preflight
        (``Access-Control-Allow-Private-Network``) that a public page needs to call 127.0.0.1."""
        return CORSMiddleware(
            app, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], allow_private_network=True
        )

    @staticmethod
    def _handlers(
        shape: Callable[[int, str], dict[str, Any]],
    ) -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            detail = exc.detail if isinstance(exc, HTTPException) else f"{type(exc).__name__}: {exc}"
            return _Utf8JSON(shape(BAD_REQUEST, f"{MESSAGES[BAD_REQUEST]}: {detail}"), status_code=status)

        return {HTTPException: http_error, Exception: http_error}

    @staticmethod
    def _read_card_error(code: int, message: str) -> dict[str, Any]:
        return {"info": {}, "result": {"resultFlag": code, "errorMsg": message}}

    async def _body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object ({} for an empty body or a non-JSON content type)."""
        raw = await request.body()
        if not raw.strip() or "json" not in request.headers.get("content-type", "json"):
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReadError(BAD_REQUEST, f"{MESSAGES[BAD_REQUEST]}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ReadError(BAD_REQUEST, f"{MESSAGES[BAD_REQUEST]}: expected a JSON object")
        return data

    async def _read_card(self, request: Request) -> Response:
        try:
            body = await self._body(request)
        except ReadError as exc:
            self.log("bad_request", service="http", path="/cgi-bin/readCard", error=exc.message)
            return _Utf8JSON(self._read_card_error(exc.code, exc.message), status_code=400)
        raw = bool(body.get("raw")) or request.query_params.get("raw") in ("1", "true")
        try:
            card = await self.read(service="http")
        except ReadError as exc:
            return _Utf8JSON(self._read_card_error(exc.code, exc.message))
        return _Utf8JSON({"info": self.info(card, raw=raw), "result": {"resultFlag": OK, "errorMsg": ""}})

    @staticmethod
    def _control_error(message: str, status: int = 400) -> Response:
        return _Utf8JSON({"ok": False, "error": message}, status_code=status)

    async def _control_place(self, request: Request) -> Response:
        try:
            body = await self._body(request)
        except ReadError as exc:
            return self._control_error(exc.message)
        try:
            card = self._card_from_request(body)
        except (cards.CardDataError, IndexError, ValueError, TypeError) as exc:
            return self._control_error(str(exc) or type(exc).__name__)
        self.place(card)
        return _Utf8JSON({"ok": True, "card": cards.card_to_json(card)})

    def _card_from_request(self, body: dict[str, Any]) -> cards.Card:
        given = [key for key in ("person", "card", "generate") if key in body]
        if len(given) != 1:
            raise cards.CardDataError('give exactly one of "person" (index), "card" (object) or "generate"')
        if "person" in body:
            index = body["person"]
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1000:
                raise cards.CardDataError('"person" is a fixture index 0–999')
            return cards.resident_from_person(cards.fixture_person(index, self.people_seed))
        if "card" in body:
            return cards.card_from_json(body["card"])
        seed = body.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise cards.CardDataError('"seed" is an integer')
        kind = body["generate"]
        if kind == "foreign":
            version = body.get("version", "2023")
            if version not in ("2017", "2023"):
                raise cards.CardDataError('"version" is "2017" or "2023"')
            return cards.foreign_card(seed, version=version)
        if kind == "hmt":
            region = body.get("region")
            if region is not None and not isinstance(region, str):
                raise cards.CardDataError('"region" is HK, MO or TW')
            return cards.hmt_card(seed, region=region)
        if kind == "resident":
            return cards.resident_from_person(cards.fixture_person(seed % 1000, self.people_seed))
        raise cards.CardDataError('"generate" is resident, foreign or hmt')

    async def _control_remove(self, request: Request) -> Response:
        self.remove()
        return _Utf8JSON({"ok": True})

    async def _control_status(self, request: Request) -> Response:
        return _Utf8JSON({"ok": True, **self.status()})

    # -- the WebSocket service (ws://localhost:1919 shape) ------------------------------------
    def _ws_app(self) -> ASGIApp:
        return Starlette(routes=[WebSocketRoute("/{path:path}", self._ws)])

    async def _ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                reply = await self._ws_reply(message.get("text"))
                await websocket.send_text(json.dumps(reply, ensure_ascii=False))
        except WebSocketDisconnect:
            return

    async def _ws_reply(self, text: str | None) -> dict[str, Any]:
        def error(message: str) -> dict[str, Any]:
            self.log("bad_request", service="ws", error=message)
            return {"fun": "OnError", "ErrorCode": BAD_REQUEST, "errorMsg": f"{MESSAGES[BAD_REQUEST]}: {message}"}

        if text is None:
            return error("send JSON text frames")
        try:
            data = json.loads(text)
        except ValueError:
            return error("not JSON")
        if not isinstance(data, dict) or "type" not in data:
            return error('expected {"type": 4}')
        if data["type"] not in (4, "4"):
            return error(f"unsupported type {data['type']!r} (4 reads the card)")
        try:
            card = await self.read(service="ws")
        except ReadError as exc:
            payload: Any = {}
            code = exc.code
            extra = {"errorMsg": exc.message}
        else:
            payload = self.info(card, raw=bool(data.get("raw")))
            code = OK
            extra = {}
        if self.json_data_as_string:
            payload = json.dumps(payload, ensure_ascii=False)
        return {"fun": "OnAfterGWQ_ReadID", "ErrorCode": code, "JsonData": payload, **extra}

    # -- the 华视-style service (port 19196) [L] ------------------------------------------------
    def _hx_app(self) -> ASGIApp:
        routes = [
            Route("/OpenDevice", self._hx_ok, methods=["GET", "POST"]),
            Route("/CloseDevice", self._hx_ok, methods=["GET", "POST"]),
            Route("/readCard", self._hx_read, methods=["GET", "POST"]),
        ]
        return self._wrap(Starlette(routes=routes, exception_handlers=self._handlers(self._hx_error)))

    @staticmethod
    def _hx_error(code: int, message: str) -> dict[str, Any]:
        return {"resultFlag": code, "errorMsg": message, "resultContent": {}}

    async def _hx_ok(self, request: Request) -> Response:
        if not self.powered:
            return _Utf8JSON(self._hx_error(NO_DEVICE, MESSAGES[NO_DEVICE]))
        return _Utf8JSON({"resultFlag": OK, "errorMsg": ""})

    async def _hx_read(self, request: Request) -> Response:
        try:
            card = await self.read(service="hx")
        except ReadError as exc:
            return _Utf8JSON(self._hx_error(exc.code, exc.message))
        return _Utf8JSON({"resultFlag": OK, "errorMsg": "", "resultContent": cards.hx_content(card)})
