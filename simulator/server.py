"""Run the simulator in a background thread (tests, the demo, benchmarks): real sockets on
127.0.0.1, a free port, clean shutdown. Granian (RSGI, what ``jzgr sim serve`` runs) by default;
uvicorn (ASGI) on request, so both servers are tested."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.asgi import SimulatorApp
from simulator.platform import Platform

ServerKind = Literal["granian", "uvicorn"]
SERVER_KINDS: tuple[ServerKind, ...] = ("granian", "uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    app: SimulatorApp
    thread: threading.Thread
    port: int
    kind: ServerKind
    _stop: Any = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/open.api"

    def stop(self) -> None:
        self._stop()
        self.thread.join(timeout=10)


def start(platform: Platform, port: int | None = None, kind: ServerKind = "granian") -> RunningServer:
    port = port or free_port()
    app = SimulatorApp(platform)
    running = _start_granian(app, port) if kind == "granian" else _start_uvicorn(app, port)
    deadline = time.monotonic() + 10
    while not _listening(port):
        if time.monotonic() > deadline or not running.thread.is_alive():
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    return running


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start_uvicorn(app: SimulatorApp, port: int) -> RunningServer:
    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"jzgr-sim-{port}", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True

    return RunningServer(app, thread, port, "uvicorn", stop)


def _start_granian(app: SimulatorApp, port: int) -> RunningServer:
    from simulator.rsgi import RsgiApp, embedded_server

    server = embedded_server(RsgiApp(app), "127.0.0.1", port)
    started = threading.Event()
    loop_box: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loop_box.append(asyncio.get_running_loop())
        started.set()
        await server.serve()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name=f"jzgr-sim-{port}", daemon=True)
    thread.start()
    started.wait(10)

    def stop() -> None:
        if loop_box and not loop_box[0].is_closed():
            loop_box[0].call_soon_threadsafe(server.stop)

    return RunningServer(app, thread, port, "granian", stop)
