"""The mock platform under granian's RSGI interface (what ``jzgr sim serve`` runs by default).

A POST to open.api is answered natively: granian (Rust) parses the request and writes the answer
in one go, which is most of what an HTTP server costs per upload (benchmarks/README.md); so is a
transport fault that strikes it (``SimulatorApp.answer_open_api`` says what to send). Every other
request (the admin API, the console, ``/healthz``, 404/405) goes through a small ASGI bridge to
the same ``SimulatorApp``, so there is one app with one behaviour."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Any

from granian._granian import RSGIProtocolClosed as ProtocolClosed

from simulator.asgi import Message, SimulatorApp, Withheld, build_app, tune_interpreter_for_serving

if TYPE_CHECKING:
    from granian._granian import RSGIHTTPProtocol as HTTPProtocol
    from granian.rsgi import Scope

JSON_HEADERS = [("content-type", "application/json;charset=UTF-8")]
BACKLOG = 1024  # a morning peak opens hundreds of connections at once
log = logging.getLogger("jzgr.simulator")


class RsgiApp:
    """``SimulatorApp`` as an RSGI application (``__rsgi__``, with ``__rsgi_init__`` and
    ``__rsgi_del__`` as its lifespan)."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.app.start_upkeep()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.app.stop_upkeep()

    async def __rsgi__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        app = self.app
        if scope.method == "POST" and scope.path in app.paths:
            try:
                body = await read_body(scope, protocol, app.platform.settings.max_body)
            except ProtocolClosed:  # routine on a site's network: nothing to answer, nothing done
                log.debug("%s went away before its request to %s was read whole", scope.client, scope.path)
                return
            out = await app.answer_open_api(body, host_of(scope.client))
            if isinstance(out, Withheld):
                await act_out(protocol, out)
                return
            protocol.response_bytes(out[0], JSON_HEADERS, out[1])
            return
        await AsgiBridge(scope, protocol).run(app)


async def act_out(protocol: HTTPProtocol, withheld: Withheld) -> None:
    """A transport fault's reply, sent as the ASGI app sends it (a short body breaks the connection)."""
    await asyncio.sleep(withheld.hold_s)
    if withheld.short:
        stream = protocol.response_stream(withheld.status, withheld.headers)
        await stream.send_bytes(withheld.body)
        return
    protocol.response_bytes(withheld.status, withheld.headers, withheld.body)


async def read_body(scope: Scope, protocol: HTTPProtocol, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit``: refused from Content-Length when announced,
    otherwise as soon as the chunks read pass it (the rest is never read)."""
    announced = scope.headers.get("content-length")
    if announced is not None:
        try:
            if int(announced) > limit:
                return None
        except ValueError:
            return None
        return await protocol()  # bounded by the announced length
    chunks: list[bytes] = []
    size = 0
    async for chunk in protocol:
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def host_of(client: str) -> str:
    """The address part of RSGI's ``client`` ("127.0.0.1:50312", "[::1]:50312")."""
    host = client.rsplit(":", 1)[0] if ":" in client else client
    return host[1:-1] if host.startswith("[") else host


def _port_of(address: str) -> int:
    try:
        return int(address.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return 0


class AsgiBridge:
    """One RSGI request run through an ASGI application: the request body streamed to
    ``receive``, the answer sent whole (``response_bytes``) or streamed when the app streams it;
    a body shorter than its promised Content-Length breaks the connection, as it would under an
    ASGI server (the ``reset`` fault relies on that)."""

    def __init__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        self.scope = scope
        self.protocol = protocol
        self._chunks = protocol.__aiter__()
        self._body_done = False
        self._answered = asyncio.Event()
        self._status = 500
        self._headers: list[tuple[str, str]] = []
        self._stream: Any = None

    def asgi_scope(self) -> dict[str, Any]:
        scope = self.scope
        path = scope.path
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": scope.http_version,
            "method": scope.method,
            "scheme": scope.scheme,
            "path": path,
            "raw_path": path.encode("utf-8"),
            "query_string": scope.query_string.encode("latin-1"),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in scope.headers.items()],
            "client": (host_of(scope.client), _port_of(scope.client)),
            "server": (host_of(scope.server), _port_of(scope.server)),
        }

    async def run(self, app: SimulatorApp) -> None:
        await app(self.asgi_scope(), self.receive, self.send)
        if not self._answered.is_set():  # the app ended without answering
            self.protocol.response_empty(500, [])

    async def receive(self) -> Message:
        if not self._body_done:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": bytes(chunk), "more_body": True}
        # After the body: wait until the answer is out or the client goes away.
        answered = asyncio.ensure_future(self._answered.wait())
        gone = asyncio.ensure_future(self.protocol.client_disconnect())
        _, pending = await asyncio.wait({answered, gone}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._status = int(message["status"])
            self._headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
            return
        if kind != "http.response.body" or self._answered.is_set():
            return
        body = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        if self._stream is None and not more and not self._short(body):
            self.protocol.response_bytes(self._status, self._headers, body)
            self._answered.set()
            return
        if self._stream is None:
            self._stream = self.protocol.response_stream(self._status, self._headers)
        if body:
            await self._stream.send_bytes(body)
        if not more:
            self._answered.set()

    def _short(self, body: bytes) -> bool:
        """Whether the body falls short of the Content-Length the app announced."""
        for name, value in self._headers:
            if name.lower() == "content-length":
                return value.isdigit() and int(value) > len(body)
        return False


def create_app() -> RsgiApp:
    """The serving process's app, configured through the environment by ``jzgr sim serve`` (also
    the factory granian's worker processes import with ``--workers N``)."""
    app = RsgiApp(build_app())
    tune_interpreter_for_serving()
    return app


def embedded_server(app: RsgiApp, host: str, port: int) -> Any:
    """Granian serving ``app`` on the running event loop of this process (no worker process)."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    return Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        http=HTTPModes.http1,  # the platform speaks HTTP/1.1
        websockets=False,
        backlog=BACKLOG,
        log_level=LogLevels.error,  # granian warns that embedding is experimental
    )


def serve(host: str, port: int, workers: int) -> None:
    """Serve until SIGINT or SIGTERM: one worker in this process, on uvloop where installed (a
    SIGKILL then leaves no orphan behind); several as granian's worker processes."""
    if workers > 1:
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces, Loops
        from granian.log import LogLevels

        Granian(
            "simulator.rsgi:create_app",
            address=host,
            port=port,
            interface=Interfaces.RSGI,
            workers=workers,
            factory=True,
            loop=Loops.auto,
            http=HTTPModes.http1,
            websockets=False,
            backlog=BACKLOG,
            log_level=LogLevels.warning,
        ).serve()
        return
    app = create_app()

    async def main() -> None:
        server = embedded_server(app, host, port)
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, server.stop)
        await server.serve()

    try:
        import uvloop
    except ImportError:  # Windows
        asyncio.run(main())
    else:
        uvloop.run(main())
