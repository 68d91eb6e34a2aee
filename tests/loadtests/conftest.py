"""A mock platform served as ``jzgr sim serve`` in its own process on 127.0.0.1 (the load runs
are processes too: locust patches the standard library for gevent, which the test process must not)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

JZGR = str(Path(sys.executable).with_name("jzgr"))
TOKEN = "load-test-token"


@dataclass(frozen=True)
class Served:
    url: str
    token: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    db = tmp_path_factory.mktemp("sim") / "sim.db"
    proc = subprocess.Popen(
        [JZGR, "sim", "serve", "--port", str(port), "--db", f"sqlite:///{db}", "--async-delay", "0"],
        env={**os.environ, "JZGR_ADMIN_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert proc.poll() is None and time.monotonic() < deadline, "jzgr sim serve did not start"
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}/open.api", TOKEN)
    proc.terminate()
    proc.wait(timeout=20)
