"""Each request check answers its exact code and message (in-process: the same Platform object
the server uses), tenants are isolated, replays are refused, and the clock drives time rules."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest

from simulator.clock import Clock
from simulator.config import KeyMatch
from simulator.platform import Platform
from simulator.server import RunningServer
from simulator.tenants import Tenant
from standard import envelope, signature
from standard.profile import LENIENT, STRICT, Profile

QUERY = {"pageIndex": 0, "pageSize": 10}


def _form(t: Tenant, method: str = "Team.Query", data: Any = None, **kw: Any) -> dict[str, str]:
    body = data if data is not None else {**QUERY, "projectCode": t.projectCode}
    return envelope.build_request(
        method, body, appid=t.appid, secret=t.appsecret, corp_key=t.corpKey if t.require_corpsign else None, **kw
    )


def _send(platform: Platform, form: dict[str, str], ip: str = "127.0.0.1") -> tuple[int, str, Any]:
    answer = platform.handle(list(form.items()), ip)
    env = answer.envelope
    return env.code, env.message, env.data


def test_a_good_request_is_answered_0(platform: Platform, tenants: list[Tenant]) -> None:
    code, _, data = _send(platform, _form(tenants[0]))
    assert code == 0 and data["rows"] == [] and data["totalCount"] == 0


@pytest.mark.parametrize("missing", envelope.REQUIRED_PARAMS)
def test_missing_parameter_is_minus_1(platform: Platform, tenants: list[Tenant], missing: str) -> None:
    form = {k: v for k, v in _form(tenants[0]).items() if k != missing}
    code, message, _ = _send(platform, form)
    assert (code, message) == (-1, f"请求参数无效:{missing}不能为空!")


def test_unknown_appid(platform: Platform, tenants: list[Tenant]) -> None:
    form = _form(Tenant("99999920990101999", tenants[0].appsecret, projects=["1"]))
    assert _send(platform, form)[:2] == (-1, "请求参数无效:appid无效!")


def test_bad_signature_is_minus_2_with_the_explainers_sentence(platform: Platform, tenants: list[Tenant]) -> None:
    form = _form(tenants[0])
    form["sign"] = hashlib.sha256(signature.sign_string(form, tenants[0].appsecret).encode()).hexdigest()
    code, message, _ = _send(platform, form)
    assert code == -2 and message.startswith("签名校验错误: Signature mismatch: the sign string was not lowercased")
    assert tenants[0].appsecret not in message


def test_diagnostics_off_gives_the_bare_message(platform: Platform, tenants: list[Tenant]) -> None:
    platform.settings.diagnostics = False
    form = {**_form(tenants[0]), "sign": "0" * 64}
    assert _send(platform, form)[:2] == (-2, "签名校验错误")


def test_enterprise_tenant_needs_its_corpsign(platform: Platform, tenants: list[Tenant]) -> None:
    enterprise = tenants[2]
    assert enterprise.require_corpsign and enterprise.corpKey
    assert _send(platform, _form(enterprise))[0] == 0
    plain = envelope.build_request(
        "Team.Query",
        {**QUERY, "projectCode": enterprise.projectCode},
        appid=enterprise.appid,
        secret=enterprise.appsecret,
    )
    assert _send(platform, plain)[:2] == (-2, "签名校验错误: corpsign不能为空!")


def test_enterprise_method_with_a_project_key_is_minus_3(platform: Platform, tenants: list[Tenant]) -> None:
    code, message, _ = _send(platform, _form(tenants[0], "Project.Add", {"name": "x"}))
    assert (code, message) == (-3, "无API访问权限:Project.Add需要企业密钥!")


def test_another_tenants_project_is_minus_3_for_reads_and_writes(platform: Platform, tenants: list[Tenant]) -> None:
    a, b = tenants[0], tenants[1]
    code, message, _ = _send(platform, _form(a, data={**QUERY, "projectCode": b.projectCode}))
    assert (code, message) == (-3, f"无API访问权限:项目{b.projectCode}不属于appid {a.appid}!")
    team = {"projectCode": b.projectCode, "corpCode": b.corpCode, "corpName": b.corpName, "teamName": "越权班组"}
    assert _send(platform, _form(a, "Team.Add", team))[0] == -3


def test_ip_allow_list_is_minus_4(platform: Platform, tenants: list[Tenant]) -> None:
    t = tenants[0]
    t.ip_allow = ["10.1.2.3"]
    platform.tenants.put(t)
    assert _send(platform, _form(t), ip="127.0.0.1")[:2] == (-4, "IP校验错误:127.0.0.1不在白名单中!")
    assert _send(platform, _form(t), ip="10.1.2.3")[0] == 0


def test_rate_limit_is_minus_5_per_minute(platform: Platform, tenants: list[Tenant], clock: Clock) -> None:
    t = tenants[0]
    t.rate_limit = 3
    platform.tenants.put(t)
    clock.freeze()
    codes = [_send(platform, _form(t))[0] for _ in range(5)]
    assert codes == [0, 0, 0, -5, -5]
    clock.advance(61)
    assert _send(platform, _form(t, timestamp=envelope.format_timestamp(clock.now())))[0] == 0


def test_timestamp_window_follows_the_clock(platform: Platform, tenants: list[Tenant], clock: Clock) -> None:
    form = _form(tenants[0])
    clock.set(clock.now() + timedelta(minutes=11), speed=0.0)
    code, message, _ = _send(platform, form)
    assert code == -1 and message.startswith("请求参数无效:timestamp已过期,与服务器时间相差超过10分钟! (jzgr: ")
    assert "behind: the client's clock is off" in message and ": 11 min" in message
    platform.settings.diagnostics = False
    assert _send(platform, form)[1] == "请求参数无效:timestamp已过期,与服务器时间相差超过10分钟!"
    clock.set(clock.now() - timedelta(minutes=2))  # now only 9 minutes apart
    assert _send(platform, form)[0] == 0


def test_timestamp_window_can_be_switched_off(platform: Platform, tenants: list[Tenant], clock: Clock) -> None:
    platform.settings.timestamp_window = None
    form = _form(tenants[0])
    clock.set(clock.now() + timedelta(days=3))
    assert _send(platform, form)[0] == 0


def test_malformed_timestamp(platform: Platform, tenants: list[Tenant]) -> None:
    form = _form(tenants[0], timestamp="2025-03-02 08:00:00")
    assert _send(platform, form)[:2] == (-1, "请求参数无效:timestamp格式不正确,应为yyyyMMddHHmmss!")


def test_replayed_request_is_refused(platform: Platform, tenants: list[Tenant]) -> None:
    form = _form(tenants[0])
    assert _send(platform, form)[0] == 0
    assert _send(platform, form)[:2] == (-1, "请求参数无效:nonce重复,请求已被处理!")


def test_nonce_replay_can_be_switched_off(platform: Platform, tenants: list[Tenant]) -> None:
    platform.settings.nonce_window = None
    form = _form(tenants[0])
    assert [_send(platform, form)[0] for _ in range(2)] == [0, 0]


def test_page_size_over_50_is_minus_1(platform: Platform, tenants: list[Tenant]) -> None:
    form = _form(tenants[0], data={"pageIndex": 0, "pageSize": 51, "projectCode": tenants[0].projectCode})
    assert _send(platform, form)[:2] == (-1, "[pageSize]值超出范围或无效")


def _serial(platform: Platform, t: Tenant, method: str, data: Any) -> str:
    code, message, body = _send(platform, _form(t, method, data))
    assert code == 0, message
    return str(body["requestSerialCode"])


def _result(platform: Platform, t: Tenant, serial: str) -> tuple[int, Any]:
    _, _, data = _send(platform, _form(t, "AsyncHandleResult.Query", {"requestSerialCode": serial}))
    return int(data["status"]), data["result"]


def test_async_status_stays_0_for_the_delay_then_is_final(
    platform: Platform, tenants: list[Tenant], clock: Clock
) -> None:
    platform.settings.async_delay = 30
    clock.freeze()
    t = tenants[0]
    team = {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamName": "钢筋一班"}
    serial = _serial(platform, t, "Team.Add", team)
    assert serial.startswith("team-add-") and envelope.SERIAL_RE.match(serial)
    assert _result(platform, t, serial) == (0, None)
    clock.advance(31)
    status, result = _result(platform, t, serial)
    assert status == 20 and isinstance(result, str) and '"teamSysNo":' in result  # strict: JSON-encoded string


def test_duplicate_team_fails_with_the_existing_team_sys_no(platform: Platform, tenants: list[Tenant]) -> None:
    t = tenants[0]
    team = {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamName": "木工一班"}
    first = _result(platform, t, _serial(platform, t, "Team.Add", team))
    sys_no = int(first[1].split(":")[1].rstrip("}"))
    assert _result(platform, t, _serial(platform, t, "Team.Add", team)) == (10, f"班组已存在,已存在班组编号为:{sys_no}")


def test_unknown_team_and_unknown_serial(platform: Platform, tenants: list[Tenant]) -> None:
    t = tenants[0]
    att = {
        "projectCode": t.projectCode,
        "teamSysNo": 987654321,
        "dataList": [
            {"idCardType": "01", "idCardNumber": "110105198506120034", "date": "2025-03-02 07:00:00", "direction": "01"}
        ],
    }
    from standard import payload
    from standard.models.attendance import WorkerAttendanceAdd

    sealed = payload.encrypt(WorkerAttendanceAdd, att, t.appsecret)
    assert _result(platform, t, _serial(platform, t, "WorkerAttendance.Add", sealed)) == (
        10,
        "[teamSysNo]值超出范围或无效",
    )
    code, message, _ = _send(
        platform, _form(t, "AsyncHandleResult.Query", {"requestSerialCode": "team-add-2025030208-1-9999"})
    )
    assert (code, message) == (-1, "[requestSerialCode]值超出范围或无效")


def test_region_slugs_are_served(tenants: list[Tenant], served: Any) -> None:
    import httpx

    base = served.url.removesuffix("/open.api")
    ok = httpx.post(f"{base}/sddzsdzs/open.api", data=_form(tenants[0]))
    assert ok.status_code == 200 and ok.json()["code"] == 0
    missing = httpx.post(f"{base}/nowhere/open.api", data=_form(tenants[0]))
    assert missing.status_code == 404 and missing.json()["code"] == -1
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"


def _team_forms(t: Tenant, n: int) -> list[dict[str, str]]:
    return [
        envelope.build_request(
            "Team.Add",
            {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamName": f"瓦工{i}班"},
            appid=t.appid,
            secret=t.appsecret,
        )
        for i in range(n)
    ]


def test_writes_that_arrive_together_share_one_commit(platform: Platform, tenants: list[Tenant]) -> None:
    """Group commit: every write accepted in one turn of the event loop joins one transaction,
    and each is answered with its own serial."""
    import asyncio

    async def together() -> list[Any]:
        forms = _team_forms(tenants[0], 40)
        return await asyncio.gather(*(platform.handle_async(list(f.items())) for f in forms))

    answers = asyncio.run(together())
    assert [a.envelope.code for a in answers] == [0] * 40
    assert len({a.serial for a in answers}) == 40
    assert platform.writer.stats() == {"commits": 1, "writes": 40}


def test_concurrent_writes_over_http_are_all_answered(served: RunningServer, tenants: list[Tenant]) -> None:
    """Over sockets: 60 concurrent writes, each answered with its own serial; /healthz counts them
    (how many share a commit depends on how they arrive, so only the bound is asserted)."""
    import asyncio

    forms = _team_forms(tenants[0], 60)
    base = served.url.removesuffix("/open.api")
    before = httpx.get(base + "/healthz").json()

    async def send() -> list[Any]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=60)) as client:
            return await asyncio.gather(*(client.post(served.url, data=f) for f in forms))

    answers = [r.json() for r in asyncio.run(send())]
    after = httpx.get(base + "/healthz").json()
    assert all(a["code"] == 0 for a in answers)
    assert len({a["data"]["requestSerialCode"] for a in answers}) == 60
    writes, commits = after["writes"] - before["writes"], after["commits"] - before["commits"]
    assert writes == 60 and 1 <= commits <= writes


@pytest.mark.parametrize(
    ("profile", "key_match", "read"),
    [
        (STRICT, None, False),
        (LENIENT, None, True),
        (STRICT, KeyMatch.CASE_INSENSITIVE, True),
        (LENIENT, KeyMatch.EXACT, False),
    ],
)
def test_key_match_setting_overrides_the_profile(
    platform: Platform, tenants: list[Tenant], profile: Profile, key_match: KeyMatch | None, read: bool
) -> None:
    platform.settings.profile, platform.settings.key_match = profile, key_match
    t = tenants[0]
    team = {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamname": "木工班"}
    answer = platform.handle(list(_form(t, "Team.Add", team).items()))
    if read:
        assert answer.envelope.code == 0 and answer.data["teamName"] == "木工班"
        assert [n.kind for n in answer.key_notes] == ["case-matched"]
    else:
        assert (answer.envelope.code, answer.envelope.message) == (
            -1,
            "[teamName]不能为空! (jzgr: [teamname] ignored: did you mean teamName?)",
        )
        platform.settings.diagnostics = False
        assert _send(platform, _form(t, "Team.Add", team))[1] == "[teamName]不能为空!"
