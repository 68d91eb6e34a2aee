"""``jzgr client call`` as a vendor engineer uses it: files in, JSON out, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
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


@respx.mock
def test_refusal_is_one_line_and_exit_1(tmp_path: Path) -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, json={"code": -2, "message": "签名校验错误", "data": None}))
    result = CliRunner().invoke(
        app,
        [
            "client",
            "call",
            "Team.Add",
            "--data",
            str(_write(tmp_path, "t.json", TEAM)),
            "--url",
            URL,
            "--appid",
            "37140220190101001",
            "--secret",
            SECRET,
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip() == "error: code -2: 签名校验错误"


def test_invalid_data_is_explained_and_not_sent(tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL)
        result = CliRunner().invoke(
            app,
            [
                "client",
                "call",
                "Team.Add",
                "--data",
                str(_write(tmp_path, "t.json", {**TEAM, "corpCode": "123"})),
                "--url",
                URL,
                "--appid",
                "1",
                "--secret",
                SECRET,
            ],
        )
    assert result.exit_code == 1 and route.call_count == 0
    assert "[corpCode]格式不正确!" in result.output and "Traceback" not in result.output
