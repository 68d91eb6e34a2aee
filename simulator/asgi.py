"""The mock platform over HTTP: a raw ASGI app (no framework on the hot path). ``POST /open.api``
and ``/{slug}/open.api`` for every region of the registry, ``GET /healthz``. Bodies over the limit
are refused before they are read whole; every answer is a platform envelope. Served by uvicorn
as is, or by granian through ``simulator.rsgi``."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from simulator.config import KeyMatch, Settings, new_admin_token
from simulator.faults import Fault
from simulator.form import decode_form
from simulator.platform import Answer, Platform
from simulator.store import Store
from simulator.upkeep import Upkeep
from standard.data_files import load_json
from standard.envelope import Code, Envelope
from standard.profile import get_profile

ADMIN_PREFIX = "/admin/api"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
COMMIT_HANDOFF_S = 0.001
GC_THRESHOLDS = (7000, 20, 20)  # Python's defaults are (700, 10, 10)
JSON_HEADERS = [(b"content-type", b"application/json;charset=UTF-8")]


@dataclass(frozen=True)
class Withheld:
    """What a server sends instead of the answer when a transport fault strikes (the request was
    not processed): after ``hold_s`` seconds, this status, headers and body. ``reset`` promises
    more body than it sends, so the client sees a broken connection."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    hold_s: float = 0.0

    @classmethod
    def acting_out(cls, fault: Fault) -> Withheld:
        if fault.kind == "timeout":  # no answer: the connection is held (bounded), then closed
            return cls(504, [("content-length", "0")], b"", fault.timeout_s)
        if fault.kind == "reset":
            return cls(200, [("content-length", "4096")], b"{")
        status = 503 if fault.kind == "maintenance" else fault.status
        page = "系统维护中,请稍后再试" if fault.kind == "maintenance" else f"{status} Bad Gateway"
        body = f"<html><body><h1>{page}</h1></body></html>".encode()
        return cls(status, [("content-type", "text/html;charset=UTF-8"), ("content-length", str(len(body)))], body)

    @property
    def short(self) -> bool:
        """Whether the body falls short of its Content-Length."""
        return any(k == "content-length" and int(v) > len(self.body) for k, v in self.headers)


def region_slugs() -> set[str]:
    return {r["slug"] for r in load_json("regions.json")["regions"] if r.get("slug")}


class SimulatorApp:
    def __init__(self, platform: Platform, admin_token: str | None = None) -> None:
        self.platform = platform
        self.paths = {"/open.api"} | {f"/{slug}/open.api" for slug in region_slugs()}
        self.admin_token = admin_token or os.environ.get("JZGR_ADMIN_TOKEN") or new_admin_token()
        # Built on first use: Starlette, jinja2 and the console's queries are not needed to serve
        # open.api, and importing them would count against the cold start.
        self._admin: Any = None
        self._console: Any = None
        self._upkeep: Upkeep | None = None

    @property
    def admin(self) -> Any:
        if self._admin is None:
            from simulator import admin

            self._admin = admin.build(self.platform, self.admin_token)
        return self._admin

    @property
    def console(self) -> Any:
        if self._console is None:
            from simulator import console

            self._console = console.build(self.platform)
        return self._console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, verb = scope["path"], scope["method"]
        if path.startswith(ADMIN_PREFIX + "/") or path == ADMIN_PREFIX:
            await self.admin({**scope, "path": path[len(ADMIN_PREFIX) :] or "/"}, receive, send)
            return
        if path == "/healthz" and verb == "GET":
            health = {"status": "ok", "pid": os.getpid(), **self.platform.writer.stats()}
            await _respond(send, 200, json.dumps(health).encode())
            return
        if path not in self.paths and verb in ("GET", "HEAD"):
            await self.console(scope, receive, send)
            return
        if path not in self.paths:
            await _respond(send, 404, _envelope(Code.BAD_PARAMETER, f"请求参数无效:接口地址{path}不存在!"))
            return
        if verb != "POST":
            await _respond(send, 405, _envelope(Code.BAD_PARAMETER, "请求参数无效:请使用POST提交表单!"))
            return
        body = await _read_body(scope, receive, self.platform.settings.max_body)
        client = (scope.get("client") or ("127.0.0.1", 0))[0]
        out = await self.answer_open_api(body, client)
        if isinstance(out, Withheld):
            await asyncio.sleep(out.hold_s)
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out.headers]
            await send({"type": "http.response.start", "status": out.status, "headers": headers})
            await send({"type": "http.response.body", "body": out.body})
            return
        await _respond(send, *out)

    async def answer_open_api(self, body: bytes | None, client: str) -> tuple[int, bytes] | Withheld:
        """Status and body answering a POST to open.api, or what to send instead when a transport
        fault strikes (shared by every server: ``body`` is None when it was over the limit)."""
        form = _form(body)
        if not isinstance(form, list):
            return form
        platform = self.platform
        # with no fault rule at all, nothing to choose: the platform's own entry, one call less
        answer = await (platform.serve(form, client) if platform.faults.rules else platform.handle_async(form, client))
        if not isinstance(answer, Answer):  # a transport fault (Answer: a pydantic model's isinstance costs more)
            return Withheld.acting_out(answer)
        return 200, answer.body()

    def start_upkeep(self) -> None:
        if self._upkeep is None:
            self._upkeep = Upkeep(self.platform.store, self.platform.settings, self.platform.clock)
            self._upkeep.start()

    def stop_upkeep(self) -> None:
        if self._upkeep is not None:
            self._upkeep.stop()
            self._upkeep = None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_upkeep()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stop_upkeep()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` (decided from Content-Length when given)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return None
            except ValueError:
                return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _form(body: bytes | None) -> list[tuple[str, str]] | tuple[int, bytes]:
    """The form's pairs, or the answer refusing the body (over the limit, not a UTF-8 form)."""
    if body is None:
        return 413, _envelope(Code.BAD_PARAMETER, "请求参数无效:请求体过大!")
    try:
        return decode_form(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return 200, _envelope(Code.BAD_PARAMETER, "请求参数无效:请求体不是UTF-8编码的表单!")


def _envelope(code: Code, message: str) -> bytes:
    return Envelope.error(code, message).to_bytes()


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def tune_interpreter_for_serving() -> None:
    """Process settings for a serving worker (measured: benchmarks/README.md).

    Group commit's thread needs the interpreter lock back after each fsync; at the default 5 ms
    hand-off a busy loop would hold every answer of the batch that long. And the cyclic garbage
    collector: at its defaults it walked the startup objects (models, tables, code tables) and
    the inspection log's ten thousand entries in every full collection, about a quarter of the
    CPU of an attendance upload. Startup objects are frozen out of its way (they live as long as
    the process) and collections come ten times less often; requests make little cyclic garbage.

    And the scheduler: under load the server's threads (the event loop, granian's I/O thread, the
    commit thread) take turns on one core. As batch threads (inherited by the threads started
    later) a woken thread waits for the running one to block instead of preempting it, so work
    changes hands in batches: 2.8 → 0.4 context switches per upload. Linux only; no privilege."""
    sys.setswitchinterval(COMMIT_HANDOFF_S)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if hasattr(os, "SCHED_BATCH"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError:  # a sandbox may refuse it; the server works the same, a little slower
            pass


def settings_from_env() -> Settings:
    """Settings for worker processes (uvicorn --workers imports the app by name). Parsed by hand,
    not through pydantic-settings: measured, importing it added 56 million instructions (2.5 %) to
    ``jzgr sim serve``'s cold start, and reading a field of a pydantic model costs about three
    times a dataclass's on the request path (benchmarks/README.md, issue 14)."""
    env = os.environ
    window = env.get("JZGR_SIM_TIMESTAMP_WINDOW", "600")
    nonce = env.get("JZGR_SIM_NONCE_WINDOW", "600")
    return Settings(
        profile=get_profile(env.get("JZGR_SIM_PROFILE", "strict")),
        async_delay=float(env.get("JZGR_SIM_ASYNC_DELAY", "1.0")),
        timestamp_window=None if window == "off" else float(window),
        nonce_window=None if nonce == "off" else float(nonce),
        diagnostics=env.get("JZGR_SIM_DIAGNOSTICS", "on") != "off",
        defects=frozenset(d for d in env.get("JZGR_SIM_DEFECTS", "").split(",") if d),
        key_match=KeyMatch(env["JZGR_SIM_KEY_MATCH"]) if env.get("JZGR_SIM_KEY_MATCH") else None,
    )


def build_app() -> SimulatorApp:
    """The app as configured by ``jzgr sim serve`` through the environment."""
    store = Store.open(os.environ.get("JZGR_SIM_DB", "sqlite:///jzgr-sim.db"))
    return SimulatorApp(Platform(store, settings_from_env()))


def create_app() -> SimulatorApp:
    """Factory for ``jzgr sim serve --server uvicorn`` (one per worker process)."""
    app = build_app()
    # Here, not in the lifespan: this process only serves (tests serving from a thread inside
    # pytest keep the interpreter's defaults).
    tune_interpreter_for_serving()
    return app
