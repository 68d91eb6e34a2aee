"""Garbage in: random forms, non-JSON data, wrong types, invalid UTF-8, deep nesting and huge
bodies never produce HTTP 500 or a traceback; oversize bodies are refused before being read."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.asgi import SimulatorApp
from simulator.platform import Platform
from simulator.server import RunningServer
from simulator.tenants import Tenant
from standard import envelope, methods


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500
    body = response.json()  # always the platform's envelope
    assert (set(body) == {"code", "message", "data"} and body["code"] != 0) or body["code"] == 0
    assert "Traceback" not in response.text


TEXT = st.text(max_size=40)
FORMS = st.dictionaries(st.sampled_from([*envelope.PUBLIC_PARAMS, "corpsign", "x"]) | TEXT, TEXT, max_size=10)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(form=FORMS)
def test_random_forms(platform: Platform, form: dict[str, str]) -> None:
    with _client(platform) as client:
        _check(client.post("/open.api", content=urlencode(form)))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=15,
)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(sorted(methods.METHODS)), data=JSONISH | st.text(max_size=50))
def test_signed_garbage_data(platform: Platform, tenants: list[Tenant], method: str, data: Any) -> None:
    t = tenants[0]
    text = data if isinstance(data, str) else json.dumps(data)
    form = envelope.build_request(method, text, appid=t.appid, secret=t.appsecret)
    with _client(platform) as client:
        response = client.post("/open.api", content=urlencode(form))
    _check(response)
    assert response.json()["code"] in (0, -1, -3)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "body",
    [b"appid=%ff%fe&data=%7B", bytes([0xC3, 0x28]) * 10, b"%" * 100, b"\x00\x01\x02", b"data=" + b"%5B" * 20000],
    ids=["bad-percent-utf8", "raw-invalid-utf8", "lone-percents", "binary", "deeply-nested"],
)
def test_malformed_bodies(platform: Platform, body: bytes) -> None:
    with _client(platform) as client:
        response = client.post("/open.api", content=body)
    _check(response)
    assert response.json()["code"] == -1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_deeply_nested_signed_data(platform: Platform, tenants: list[Tenant]) -> None:
    t = tenants[0]
    form = envelope.build_request("Team.Add", "[" * 50000 + "]" * 50000, appid=t.appid, secret=t.appsecret)
    with _client(platform) as client:
        response = client.post("/open.api", content=urlencode(form))
    _check(response)
    assert response.json()["message"] == "[data]格式不正确!"


def test_ten_megabyte_body_is_refused_before_it_is_read(served_by_each: RunningServer) -> None:
    # Announce 10 MB, send 1 KB, and expect the answer without the server waiting for the rest.
    port = served_by_each.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        head = (
            "POST /open.api HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10485760\r\n\r\n"
        )
        sock.sendall(head.encode() + b"a" * 1024)
        started = time.monotonic()
        reply = b""
        while b'"code"' not in reply and time.monotonic() - started < 5:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert time.monotonic() - started < 2
    text = reply.decode("utf-8", "replace")
    assert text.startswith("HTTP/1.1 413") and '"code":-1' in text


def test_chunked_oversize_body_is_cut_off(served_by_each: RunningServer) -> None:
    def chunks() -> Any:
        for _ in range(12):
            yield b"a" * (1024 * 1024)

    response = httpx.post(served_by_each.url, content=chunks(), timeout=30)
    assert response.status_code == 413 and response.json()["code"] == -1


class _client:
    """An in-process HTTP client on the ASGI app (httpx's ASGI transport needs async)."""

    def __init__(self, platform: Platform) -> None:
        self.app = SimulatorApp(platform)

    def __enter__(self) -> _client:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def post(self, path: str, content: bytes | str) -> httpx.Response:
        import asyncio

        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://sim") as c:
                return await c.post(
                    path, content=content, headers={"Content-Type": "application/x-www-form-urlencoded"}
                )

        return asyncio.run(go())
