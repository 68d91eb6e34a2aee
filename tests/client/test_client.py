"""The reference client's behaviour against a mocked platform (respx): retries, no retries,
async polling, deadlines, batching, encryption and decryption — sync and async."""

from __future__ import annotations

import json
import random
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from platform_client import (
    AsyncFailed,
    AsyncPlatformClient,
    BadSignature,
    DeadlineExceeded,
    PlatformClient,
    PollPolicy,
    ProtocolError,
    RetryPolicy,
    ValidationFailed,
)
from standard import crypto, idcard, payload, signature
from standard.models.worker import ProjectWorkerRow

URL = "http://platform.test/open.api"
APPID = "37140220190101001"
SECRET = "0123456789abcdef0123456789abcdef"
ID = idcard.make("371402", date(1985, 6, 12), 3, True)


class FakeClock:
    """Sleeping advances the clock: tests never really sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "message": "成功", "data": data})


def code(c: int, message: str) -> httpx.Response:
    return httpx.Response(200, json={"code": c, "message": message, "data": None})


def status(s: int, result: Any = None) -> httpx.Response:
    return ok({"requestSerialCode": "team-add-2025030208-1-0001", "status": s, "result": result})


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def client(clock: FakeClock, **kw: Any) -> PlatformClient:
    retry = RetryPolicy(deadline=30, initial=0.5, rng=random.Random(1))
    poll = PollPolicy(first_delay=0.5, deadline=60)
    return PlatformClient(URL, APPID, SECRET, retry=retry, poll=poll, sleep=clock.sleep, clock=clock, **kw)


QUERY = {"pageIndex": 0, "pageSize": 10, "projectCode": APPID}


@respx.mock
def test_5xx_then_success_is_retried() -> None:
    clock = FakeClock()
    route = respx.post(URL).mock(side_effect=[httpx.Response(502, text="<html>bad gateway</html>"), ok({"rows": []})])
    assert client(clock).call("Team.Query", QUERY).ok
    assert route.call_count == 2 and len(clock.sleeps) == 1


@respx.mock
def test_minus_5_then_success_is_retried_with_a_fresh_signature() -> None:
    clock = FakeClock()
    route = respx.post(URL).mock(side_effect=[code(-5, "访问超过限制"), ok({"rows": []})])
    client(clock).call("Team.Query", QUERY)
    first, second = (form(c.request) for c in route.calls)
    assert first["nonce"] != second["nonce"]
    assert signature.verify(first, SECRET) and signature.verify(second, SECRET)


@respx.mock
def test_transport_errors_are_retried() -> None:
    clock = FakeClock()
    route = respx.post(URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok({})])
    client(clock).call("Team.Query", QUERY)
    assert route.call_count == 3


@pytest.mark.parametrize(("c", "exc"), [(-2, BadSignature)])
@respx.mock
def test_minus_2_is_not_retried(c: int, exc: type[Exception]) -> None:
    clock = FakeClock()
    route = respx.post(URL).mock(return_value=code(c, "签名校验错误"))
    with pytest.raises(exc) as info:
        client(clock).call("Team.Query", QUERY)
    assert route.call_count == 1 and clock.sleeps == []
    assert info.value.code == -2 and info.value.message == "签名校验错误"  # type: ignore[attr-defined]


@pytest.mark.parametrize("c", [-1, -3, -4])
@respx.mock
def test_other_refusals_are_not_retried(c: int) -> None:
    route = respx.post(URL).mock(return_value=code(c, "refused"))
    with pytest.raises(Exception) as info:
        client(FakeClock()).call("Team.Query", QUERY)
    assert route.call_count == 1 and getattr(info.value, "code", None) == c


def _team() -> dict[str, Any]:
    return {"projectCode": APPID, "corpCode": "91110105MA01AB2C3F", "corpName": "德州建工", "teamName": "钢筋一班"}


@respx.mock
def test_async_0_0_20_returns_the_result() -> None:
    clock = FakeClock()
    respx.post(URL).mock(
        side_effect=[
            ok({"requestSerialCode": "team-add-2025030208-1-0001"}),
            status(0),
            status(0),
            status(20, json.dumps({"teamSysNo": 100156750})),
        ]
    )
    result = client(clock).write("Team.Add", _team())
    assert result.serial == "team-add-2025030208-1-0001" and result.status == 20
    assert result.result == {"teamSysNo": 100156750}
    assert len(clock.sleeps) == 3 and clock.sleeps[1] < clock.sleeps[2]  # backoff grows


@respx.mock
def test_async_result_as_object_is_accepted_too() -> None:
    respx.post(URL).mock(
        side_effect=[ok({"requestSerialCode": "team-add-2025030208-1-0002"}), status(20, {"teamSysNo": 7})]
    )
    assert client(FakeClock()).write("Team.Add", _team()).result == {"teamSysNo": 7}


@respx.mock
def test_async_10_surfaces_the_platform_message() -> None:
    text = "班组已存在,已存在班组编号为:1500151464"
    respx.post(URL).mock(side_effect=[ok({"requestSerialCode": "team-add-2025030208-1-0003"}), status(10, text)])
    with pytest.raises(AsyncFailed) as info:
        client(FakeClock()).write("Team.Add", _team())
    assert info.value.message == text and info.value.serial == "team-add-2025030208-1-0003"


@respx.mock
def test_deadline_exceeded_is_a_typed_timeout() -> None:
    clock = FakeClock()
    respx.post(URL).mock(return_value=httpx.Response(503))
    with pytest.raises(DeadlineExceeded) as info:
        client(clock).call("Team.Query", QUERY)
    assert isinstance(info.value, TimeoutError) and clock.now <= 30


@respx.mock
def test_async_pending_forever_hits_the_poll_deadline() -> None:
    clock = FakeClock()
    respx.post(URL).mock(side_effect=[ok({"requestSerialCode": "team-add-2025030208-1-0004"})] + [status(0)] * 500)
    with pytest.raises(DeadlineExceeded):
        client(clock).write("Team.Add", _team())
    assert clock.now <= 60


@respx.mock
def test_html_answer_is_a_protocol_error() -> None:
    respx.post(URL).mock(return_value=httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(ProtocolError):
        client(FakeClock()).call("Team.Query", QUERY)


PNG = "data:image/png;base64," + (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _worker(i: int) -> dict[str, Any]:
    return {
        "workerName": f"工人{i}",
        "isTeamLeader": 0,
        "idCardType": "01",
        "idCardNumber": idcard.make("371402", date(1980, 1, 1 + i), i, True),
        "workType": "020",
        "workRole": 20,
        "nation": "汉",
        "address": "山东省德州市德城区",
        "headImage": PNG,
        "politicsType": "13",
        "cellPhone": "13912345678",
        "cultureLevelType": "02",
        "grantOrg": "德州市公安局",
        "payRollBankCardNumber": "6217000010012345677",
    }


@respx.mock
def test_upload_splits_12_workers_into_5_5_2_and_encrypts_marked_fields() -> None:
    route = respx.post(URL).mock(
        side_effect=[ok({"requestSerialCode": f"projectworker-add-2025030208-1-000{i}"}) for i in range(3)]
    )
    workers = [_worker(i) for i in range(12)]
    data = {
        "projectCode": APPID,
        "corpCode": "91110105MA01AB2C3F",
        "corpName": "德州建工",
        "teamSysNo": 100000001,
        "teamName": "钢筋一班",
        "workerList": workers,
    }
    results = client(FakeClock()).upload("ProjectWorker.Add", data, wait=False)
    assert [r.status for r in results] == [None, None, None]
    sent = [form(c.request) for c in route.calls]
    assert [len(json.loads(f["data"])["workerList"]) for f in sent] == [5, 5, 2]
    first = json.loads(sent[0]["data"])["workerList"][0]
    assert crypto.decrypt(first["idCardNumber"], SECRET) == workers[0]["idCardNumber"]
    assert crypto.decrypt(first["payRollBankCardNumber"], SECRET) == "6217000010012345677"
    assert first["workerName"] == "工人0"
    assert all(signature.verify(f, SECRET) for f in sent)


def test_invalid_payload_is_not_sent() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL)
        with pytest.raises(ValidationFailed) as info:
            client(FakeClock()).write("Team.Add", {**_team(), "teamName": ""})
        assert route.call_count == 0
    assert info.value.errors[0].render() == "[teamName]不能为空!"


@respx.mock
def test_query_rows_come_back_decrypted_and_paged() -> None:
    ids = [idcard.make("371402", date(1990, 1, 1 + i), i, True) for i in range(3)]
    rows = [payload.encrypt(ProjectWorkerRow, {"idCardNumber": i, "workerName": "x"}, SECRET) for i in ids]
    respx.post(URL).mock(
        side_effect=[
            ok({"pageIndex": 0, "pageSize": 2, "totalCount": 3, "rows": rows[:2]}),
            ok({"pageIndex": 1, "pageSize": 2, "totalCount": 3, "rows": rows[2:]}),
        ]
    )
    got = list(client(FakeClock()).query_all("ProjectWorker.Query", {"projectCode": APPID}, page_size=2))
    assert [r["idCardNumber"] for r in got] == ids


@respx.mock
def test_corp_key_sends_a_signed_corpsign() -> None:
    route = respx.post(URL).mock(return_value=ok({"rows": []}))
    client(FakeClock(), corp_key="fedcba9876543210fedcba9876543210").call("Corp.Query", {"pageIndex": 0, "pageSize": 1})
    sent = form(route.calls[0].request)
    assert crypto.decrypt(sent["corpsign"], SECRET) == "fedcba9876543210fedcba9876543210" + sent["timestamp"]
    assert signature.verify(sent, SECRET)


@respx.mock
async def test_async_client_same_behaviour() -> None:
    clock = FakeClock()
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(500),
            code(-5, "访问超过限制"),
            ok({"requestSerialCode": "team-add-2025030208-1-0009"}),
            status(0),
            status(20, '{"teamSysNo": 100000009}'),
        ]
    )
    api = AsyncPlatformClient(
        URL, APPID, SECRET, retry=RetryPolicy(rng=random.Random(2)), sleep=clock.asleep, clock=clock
    )
    async with api:
        result = await api.write("Team.Add", _team())
    assert result.result == {"teamSysNo": 100000009} and len(clock.sleeps) == 4


@respx.mock
async def test_async_client_minus_2_not_retried() -> None:
    route = respx.post(URL).mock(return_value=code(-2, "签名校验错误"))
    api = AsyncPlatformClient(URL, APPID, SECRET, sleep=FakeClock().asleep)
    with pytest.raises(BadSignature):
        await api.call("Team.Query", QUERY)
    assert route.call_count == 1
    await api.aclose()
