"""What production clients showed about the real platform (issue 13): a Corp.Upload of three
fields is accepted, team numbers have 10 digits (also in a database made before they had), and a
NUL anywhere is the same clear -1 on both databases."""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import insert, select, update

from simulator.config import Settings
from simulator.platform import Platform
from simulator.seed import seed_demo
from simulator.server import RunningServer
from simulator.store import TEAM_SYS_NO_BASE, Store, sequences, teams
from simulator.tenants import Tenant
from standard import crypto, envelope
from standard.profile import LENIENT, STRICT


def _send(platform: Platform, t: Tenant, method: str, data: Any) -> dict[str, Any]:
    form = envelope.build_request(method, data, appid=t.appid, secret=t.appsecret)
    answer = platform.handle(list(form.items()))
    return {"code": answer.envelope.code, "message": answer.envelope.message, "data": answer.envelope.data}


def _outcome(platform: Platform, t: Tenant, method: str, data: Any) -> tuple[int, Any]:
    sent = _send(platform, t, method, data)
    assert sent["code"] == 0, sent
    result = _send(platform, t, "AsyncHandleResult.Query", {"requestSerialCode": sent["data"]["requestSerialCode"]})
    return result["data"]["status"], result["data"]["result"]


# ---- point 1: Corp.Upload as XN's test sends it -------------------------------------------


@pytest.mark.parametrize("profile", [STRICT, LENIENT], ids=["strict", "lenient"])
def test_corp_upload_of_code_name_and_area_is_accepted(
    served: RunningServer, platform: Platform, tenants: list[Tenant], profile: Any
) -> None:
    """XN's ``Corp.java`` sends exactly these three fields and records an async serial."""
    platform.settings.profile = profile
    t = tenants[0]
    corp = {"corpCode": t.corpCode, "corpName": t.corpName, "areaCode": "371428"}
    form = envelope.build_request("Corp.Upload", corp, appid=t.appid, secret=t.appsecret)
    answer = httpx.post(served.url, data=form).json()
    assert answer["code"] == 0, answer
    serial = answer["data"]["requestSerialCode"]
    assert serial.startswith("corp-upload-")
    poll = envelope.build_request(
        "AsyncHandleResult.Query", {"requestSerialCode": serial}, appid=t.appid, secret=t.appsecret
    )
    assert httpx.post(served.url, data=poll).json()["data"]["status"] == 20
    found = envelope.build_request(
        "Corp.Query", {"pageIndex": 0, "pageSize": 10, "corpCode": t.corpCode}, appid=t.appid, secret=t.appsecret
    )
    rows = httpx.post(served.url, data=found).json()["data"]["rows"]
    assert [(r["corpName"], r["areaCode"], r.get("registerDate")) for r in rows] == [(t.corpName, "371428", None)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_corp_upload_still_requires_code_name_and_area(platform: Platform, tenants: list[Tenant]) -> None:
    t = tenants[0]
    corp = {"corpCode": t.corpCode, "corpName": t.corpName, "areaCode": "371428"}
    for missing in corp:
        sent = _send(platform, t, "Corp.Upload", {k: v for k, v in corp.items() if k != missing})
        assert (sent["code"], sent["message"]) == (-1, f"[{missing}]不能为空!")
    dated = _send(platform, t, "Corp.Upload", {**corp, "registerDate": "2019-13-01"})
    assert (dated["code"], dated["message"]) == (-1, "[registerDate]格式不正确!")  # checked when sent


# ---- point 5: 10-digit team numbers -------------------------------------------------------

DUPLICATE = re.compile(r"班组已存在,已存在班组编号为:(\d+)")


def _team(t: Tenant, name: str) -> dict[str, Any]:
    return {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamName": name}


def _team_sys_no(platform: Platform, t: Tenant, name: str) -> int:
    status, result = _outcome(platform, t, "Team.Add", _team(t, name))
    assert status == 20, result
    number: int = json.loads(result)["teamSysNo"]
    return number


def test_team_numbers_have_10_digits_and_the_duplicate_message_quotes_10(
    platform: Platform, tenants: list[Tenant]
) -> None:
    t = tenants[0]
    first = _team_sys_no(platform, t, "钢筋一班")
    assert len(str(first)) == 10 and first > TEAM_SYS_NO_BASE
    status, message = _outcome(platform, t, "Team.Add", _team(t, "钢筋一班"))
    assert status == 10
    # the production client cuts exactly 10 characters after the colon
    assert message.split("已存在班组编号为:", 1)[1][:10] == str(first)
    match = DUPLICATE.fullmatch(message)
    assert match is not None and len(match.group(1)) == 10


def test_a_database_from_before_10_digits_goes_on_with_unique_10_digit_numbers(db_url: str) -> None:
    """A stored database whose sequence is still in the 9-digit range, with a 9-digit team and a
    bulk-loaded team above the base: new numbers are 10 digits and above both."""
    store = Store.open(db_url)
    platform = Platform(store, Settings(async_delay=0.0))
    t = seed_demo(platform)[0]
    loaded = TEAM_SYS_NO_BASE + 41
    with store.tx() as conn:
        conn.execute(update(sequences).where(sequences.c.name == "team_sys_no").values(value=100_000_123))
        for number, name in ((100_000_123, "旧班组"), (loaded, "导入班组")):
            conn.execute(
                insert(teams).values(
                    team_sys_no=number,
                    project_code=t.projectCode,
                    corp_code=t.corpCode,
                    team_name=name,
                    body={**_team(t, name), "teamSysNo": number},
                )
            )
    store.close()

    store = Store.open(db_url)
    try:
        platform = Platform(store, Settings(async_delay=0.0))
        numbers = [_team_sys_no(platform, t, name) for name in ("新班组一", "新班组二")]
        assert all(len(str(n)) == 10 and n > loaded for n in numbers)
        with store.read() as conn:
            stored = [r[0] for r in conn.execute(select(teams.c.team_sys_no))]
        assert len(stored) == len(set(stored)) == 4
        _, message = _outcome(platform, t, "Team.Add", _team(t, "新班组一"))
        assert message == f"班组已存在,已存在班组编号为:{numbers[0]}"
    finally:
        store.close()


# ---- point 10: a NUL is the same clear -1 on both databases -------------------------------


def _nul_form(t: Tenant, shape: str) -> dict[str, str]:
    nul_id = crypto.encrypt("\x00" * 18, t.appsecret)
    query = {"pageIndex": 0, "pageSize": 10, "projectCode": t.projectCode}
    data: dict[str, Any] = {
        "appid": {**query},
        "teamName": _team(t, "a\x00b"),
        "filter": {**query, "corpName": "a\x00b"},
        "id-number": {**query, "idCardType": "01", "idCardNumber": nul_id},
    }[shape]
    method = {"teamName": "Team.Add", "id-number": "ProjectWorker.Query"}.get(shape, "ProjectWorker.Query")
    form = envelope.build_request(method, data, appid=t.appid, secret=t.appsecret)
    if shape == "appid":
        form["appid"] = "\x00"
    return form


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("appid", "请求参数无效:appid无效!"),
        ("teamName", "[teamName]不能包含NUL字符!"),
        ("filter", "[corpName]不能包含NUL字符!"),
        ("id-number", "[idCardNumber]不能包含NUL字符!"),
    ],
)
def test_a_nul_is_the_same_minus_1_on_both_databases(
    served: RunningServer,
    platform: Platform,
    tenants: list[Tenant],
    shape: str,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = urlencode(_nul_form(tenants[0], shape))
    assert ("appid=%00" in body) == (shape == "appid")
    response = httpx.post(served.url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert response.json() == {"code": -1, "message": message, "data": None}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    with platform.store.read() as conn:
        assert conn.execute(select(teams.c.team_sys_no)).first() is None  # nothing stored
