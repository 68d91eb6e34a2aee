"""``jzgr client call`` as a vendor engineer uses it: files in, JSON out, one-line errors."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from jzgr.cli import app

URL = "http://platform.test/open.api"
SECRET = "0123456789abcdef0123456789abcdef"
TEAM = {
    "projectCode": "37140220190101001",
    "corpCode": "91110105MA01AB2C3F",
    "corpName": "德州建工",
    "teamName": "钢筋一班",
}


def _write(tmp_path: Path, name: str, obj: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


@respx.mock
def test_call_a_write_and_wait_for_its_result(tmp_path: Path) -> None:
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(
                200, json={"code": 0, "message": "成功", "data": {"requestSerialCode": "team-add-2025030208-1-0001"}}
            ),
            httpx.Response(
                200,
                json={
                    "code": 0,
                    "message": "成功",
                    "data": {
                        "requestSerialCode": "team-add-2025030208-1-0001",
                        "status": 20,
                        "result": '{"teamSysNo": 100000001}',
                    },
                },
            ),
        ]
    )
    creds = _write(
        tmp_path, "creds.json", {"url": URL, "tenants": [{"appid": "37140220190101001", "appsecret": SECRET}]}
    )
    result = CliRunner().invoke(
        app,
        ["client", "call", "Team.Add", "--data", str(_write(tmp_path, "t.json", TEAM)), "--credentials", str(creds)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"requestSerialCode": "team-add-2025030208-1-0001", "status": 20, "result": {"teamSysNo": 100000001}}
    ]


def _team_add(data: Path, appid: str) -> list[str]:
    """``jzgr client call Team.Add`` with ``data``, to URL as ``appid``."""
    return ["client", "call", "Team.Add", "--data", str(data), "--url", URL, "--appid", appid, "--secret", SECRET]


@respx.mock
def test_refusal_is_one_line_and_exit_1(tmp_path: Path) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, json={"code": -2, "message": "签名校验错误", "data": None}))
    result = CliRunner().invoke(
        app,
        _team_add(_write(tmp_path, "t.json", TEAM), "37140220190101001"),
    )
    assert result.exit_code == 1
    assert result.output.strip() == "error: code -2: 签名校验错误"


def test_invalid_data_is_explained_and_not_sent(tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL)
        result = CliRunner().invoke(
            app,
            _team_add(_write(tmp_path, "t.json", {**TEAM, "corpCode": "123"}), "1"),
        )
    assert result.exit_code == 1 and route.call_count == 0
    assert "[corpCode]格式不正确!" in result.output and "Traceback" not in result.output


# -- through jzgr's entry point (main): usage and environment problems in one line ----------------
def _refused_port() -> int:
    """A port nothing listens on (reserved by a bound socket that never listens)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    _HOLDERS.append(holder)
    return int(holder.getsockname()[1])


_HOLDERS: list[socket.socket] = []


def test_an_unreachable_platform_says_it_retries_then_exits_3(jzgr: Any, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_refused_port()}/open.api"
    data = _write(tmp_path, "q.json", {"projectCode": "1", "pageIndex": 0, "pageSize": 10})
    started = time.monotonic()
    ran = jzgr("client", "call", "Team.Query", "--data", str(data), "--url", url, "--appid", "1", "--secret", SECRET,
               "--timeout", "2")  # fmt: skip
    assert ran.code == 3 and time.monotonic() - started < 10
    *waits, last = ran.err.splitlines()
    assert "Traceback" not in ran.err
    assert waits and all(
        line.startswith(f"no answer from {url} (ConnectError:") and "; retrying in " in line and "--timeout" in line
        for line in waits
    )
    assert last.startswith(f"error: {url} did not answer within 2 s: Team.Query: ConnectError") and "--url" in last


@pytest.mark.parametrize(
    ("setup", "args", "says"),
    [
        (None, ["--credentials", "{tmp}/missing.json"], "--credentials {tmp}/missing.json: cannot read it"),
        ("not json", ["--credentials", "{tmp}/creds.json"], "not a credentials file"),
        ({"tenants": []}, ["--credentials", "{tmp}/creds.json", "--tenant", "9"], "--tenant 9: no such appid"),
        ({"url": URL, "tenants": [{"appid": "1", "appsecret": SECRET}]}, ["--data", "{tmp}/nope.json"], "--data"),
        (None, ["--url", URL, "--appid", "1"], "give --url, --appid and --secret, or --credentials FILE"),
        (None, ["--url", "platform.test", "--appid", "1", "--secret", SECRET], "--url 'platform.test'"),
    ],
)
def test_usage_problems_are_one_line_and_exit_2(
    jzgr: Any, tmp_path: Path, setup: object, args: list[str], says: str
) -> None:
    creds = tmp_path / "creds.json"
    if setup is not None:
        creds.write_text(setup if isinstance(setup, str) else json.dumps(setup), encoding="utf-8")
    if "--data" not in args:
        args = [*args, "--data", str(_write(tmp_path, "t.json", TEAM))]
    if "--credentials" not in args and "--url" not in args:
        args = [*args, "--credentials", str(creds)]
    ran = jzgr("client", "call", "Team.Add", *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert ran.code == 2
    assert says.replace("{tmp}", str(tmp_path)) in ran.error_line()


@respx.mock
@pytest.mark.parametrize("old_name", ["--tenant-file", "--creds"])
def test_old_names_of_credentials_still_work(jzgr: Any, tmp_path: Path, old_name: str) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, json={"code": 0, "message": "成功", "data": {"rows": []}}))
    creds = _write(
        tmp_path, "creds.json", {"url": URL, "tenants": [{"appid": "37140220190101001", "appsecret": SECRET}]}
    )
    data = _write(tmp_path, "q.json", {"projectCode": "37140220190101001", "pageIndex": 0, "pageSize": 10})
    ran = jzgr("client", "call", "Team.Query", "--data", str(data), old_name, str(creds))
    assert ran.code == 0, ran.err
    assert json.loads(ran.out) == {"rows": []}
