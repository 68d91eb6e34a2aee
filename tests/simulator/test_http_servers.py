"""What every HTTP server of ``jzgr sim serve`` must do alike (granian through ``simulator.rsgi``,
uvicorn through the ASGI app): the peer's address reaches the IP allow-list, wrong paths and verbs
get envelopes, a request announcing a short body is not cut, a client vanishing mid-body leaves
no traceback, the admin API and the console work through granian's bridge, and an admin call sees
the same platform as open.api."""

from __future__ import annotations

import logging
import socket
import struct
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from simulator.platform import Platform
from simulator.rsgi import AsgiBridge, host_of
from simulator.server import RunningServer
from simulator.tenants import Tenant
from standard import envelope

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
QUERY = {"pageIndex": 0, "pageSize": 10}


def _form(t: Tenant) -> dict[str, str]:
    return envelope.build_request(
        "Team.Query", {**QUERY, "projectCode": t.projectCode}, appid=t.appid, secret=t.appsecret
    )


@SQLITE
def test_the_peer_address_reaches_the_ip_allow_list(
    served_by_each: RunningServer, platform: Platform, tenants: list[Tenant]
) -> None:
    t = tenants[0]
    assert httpx.post(served_by_each.url, data=_form(t)).json()["code"] == 0
    t.ip_allow = ["10.1.2.3"]
    platform.tenants.put(t)
    refused = httpx.post(served_by_each.url, data=_form(t)).json()
    assert (refused["code"], refused["message"]) == (-4, "IP校验错误:127.0.0.1不在白名单中!")
    t.ip_allow = ["127.0.0.1"]
    platform.tenants.put(t)
    assert httpx.post(served_by_each.url, data=_form(t)).json()["code"] == 0


@SQLITE
def test_wrong_path_and_verb_are_envelopes(served_by_each: RunningServer) -> None:
    base = served_by_each.url.removesuffix("/open.api")
    missing = httpx.post(base + "/nope.api", data={"appid": "x"})
    assert missing.status_code == 404 and missing.json()["message"] == "请求参数无效:接口地址/nope.api不存在!"
    wrong = httpx.put(served_by_each.url, content=b"appid=x")
    assert wrong.status_code == 405 and wrong.json()["code"] == -1
    region = httpx.post(base + "/sddzsdzs/open.api", data={"appid": "x"})
    assert region.status_code == 200 and region.json()["message"] == "请求参数无效:method不能为空!"


@SQLITE
def test_a_body_sent_in_pieces_is_read_whole(served_by_each: RunningServer, tenants: list[Tenant]) -> None:
    """Content-Length announced, the body trickling in over several segments."""
    body = urlencode(_form(tenants[0])).encode()
    head = (
        "POST /open.api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", served_by_each.port), timeout=5) as sock:
        sock.sendall(head.encode())
        for i in range(0, len(body), 97):
            sock.sendall(body[i : i + 97])
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and b'"code":0' in reply


@SQLITE
def test_healthz_admin_and_console_share_the_platform(served_by_each: RunningServer, tenants: list[Tenant]) -> None:
    base = served_by_each.url.removesuffix("/open.api")
    assert httpx.post(served_by_each.url, data=_form(tenants[0])).json()["code"] == 0
    assert httpx.get(base + "/healthz").json()["status"] == "ok"
    token = served_by_each.app.admin_token
    traffic = httpx.get(
        base + "/admin/api/traffic", params={"appid": tenants[0].appid}, headers={"Authorization": f"Bearer {token}"}
    )
    assert traffic.status_code == 200
    entries: list[dict[str, Any]] = traffic.json()
    assert [e["method"] for e in entries] == ["Team.Query"] and entries[0]["client_ip"] == "127.0.0.1"
    page = httpx.get(base + "/sddzsdzs/")
    assert page.status_code == 200 and "德州市" in page.text


@pytest.mark.parametrize(
    ("client", "host"),
    [("127.0.0.1:50312", "127.0.0.1"), ("[::1]:50312", "::1"), ("10.0.0.7", "10.0.0.7")],
)
def test_host_of_rsgi_client(client: str, host: str) -> None:
    assert host_of(client) == host


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


HEAD = b"POST /open.api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
CUT_OFF = {
    "content-length": HEAD + b"Content-Length: 1000\r\n\r\nappid=abc&method=Team.",
    "chunked": HEAD + b"Transfer-Encoding: chunked\r\n\r\n9\r\nappid=abc\r\n40\r\n&method=Te",
}


@SQLITE
@pytest.mark.parametrize("faults", ["none", "a rule"])  # a fault rule configured (matching nothing)
@pytest.mark.parametrize("ending", ["close", "reset"])
@pytest.mark.parametrize("body", sorted(CUT_OFF))
def test_a_client_vanishing_mid_body_leaves_no_traceback(
    served_by_each: RunningServer,
    platform: Platform,
    tenants: list[Tenant],
    caplog: pytest.LogCaptureFixture,
    faults: str,
    ending: str,
    body: str,
) -> None:
    """A cut-off Content-Length, a truncated chunked body; the client closing or resetting: at
    most one debug line, and the server goes on answering."""
    if faults == "a rule":
        platform.faults.add({"kind": "latency", "method": "Nothing.Matches"})
    granian = Collected()
    logging.getLogger("_granian").addHandler(granian)  # granian's own logger does not propagate
    caplog.set_level(logging.DEBUG, logger="jzgr.simulator")
    try:
        sock = socket.create_connection(("127.0.0.1", served_by_each.port), timeout=5)
        sock.sendall(CUT_OFF[body])
        time.sleep(0.2)  # the server is reading the body
        if ending == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        time.sleep(0.3)
        assert httpx.post(served_by_each.url, data=_form(tenants[0])).json()["code"] == 0
    finally:
        logging.getLogger("_granian").removeHandler(granian)
    records = [*granian.records, *caplog.records]
    assert not [r for r in records if r.exc_info or r.levelno > logging.DEBUG], [r.getMessage() for r in records]
    assert len([r for r in caplog.records if "went away" in r.getMessage()]) <= 1


@SQLITE
def test_open_api_stays_native_under_granian_whatever_the_fault_rules(
    served: RunningServer, platform: Platform, tenants: list[Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault rule that does not match a request leaves it on the fast path (answered natively,
    not through the ASGI bridge), and one that matches is acted out natively too."""
    bridged: list[str] = []
    run = AsgiBridge.run

    async def counting(self: AsgiBridge, app: Any) -> None:
        bridged.append(self.scope.path)
        await run(self, app)

    monkeypatch.setattr(AsgiBridge, "run", counting)
    t, other = tenants[0], tenants[1]
    for rule in (
        {"kind": "http_error", "status": 502, "appid": other.appid},
        {"kind": "timeout", "method": "Team.Add"},
        {"kind": "rate_limit", "appid": other.appid},
        {"kind": "async_fail", "appid": other.appid},
    ):
        platform.faults.add(rule)
    assert httpx.post(served.url, data=_form(t)).json()["code"] == 0
    failed = httpx.post(served.url, data=_form(other))
    assert failed.status_code == 502 and failed.text == "<html><body><h1>502 Bad Gateway</h1></body></html>"
    assert bridged == []
    assert httpx.get(served.url.replace("/open.api", "/healthz")).status_code == 200
    assert bridged == ["/healthz"]  # the bridge itself still serves everything else
    assert [f.fired for f in platform.faults.rules] == [1, 0, 0, 0]
