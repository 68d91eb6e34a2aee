"""Run the simulator's ASGI app with uvicorn in a background thread (tests, the demo, benchmarks):
real sockets on 127.0.0.1, a free port, clean shutdown."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from simulator.asgi import SimulatorApp
from simulator.platform import Platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/open.api"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start(platform: Platform, port: int | None = None) -> RunningServer:
    port = port or free_port()
    config = uvicorn.Config(
        SimulatorApp(platform),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"jzgr-sim-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    return RunningServer(server, thread, port)
