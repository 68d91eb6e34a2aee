"""Simulator operations: the admin API (token, tenants, clock, faults, traffic), each injected
fault as the reference client observes it, and the inspection log pairing fault and reaction."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from platform_client import (
    AsyncFailed,
    DeadlineExceeded,
    PlatformClient,
    PollPolicy,
    RateLimited,
    RetryPolicy,
    TransportFailed,
)
from simulator.platform import Platform
from simulator.server import RunningServer
from simulator.tenants import Tenant
from standard import envelope, idcard, methods, payload

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _admin(served: RunningServer, token: str | None = None) -> httpx.Client:
    base = served.url.removesuffix("/open.api") + "/admin/api"
    app = served.app
    token = app.admin_token if token is None else token
    # An empty token means "no Authorization header at all" (httpx refuses a bare "Bearer ").
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base, headers=headers, timeout=10)


def _client(served: RunningServer, t: Tenant, **kw: Any) -> PlatformClient:
    kw.setdefault("retry", RetryPolicy(deadline=5, initial=0.05, max_delay=0.2))
    kw.setdefault("poll", PollPolicy(first_delay=0.02, max_interval=0.05, deadline=5))
    return PlatformClient(served.url, t.appid, t.appsecret, **kw)


QUERY = {"pageIndex": 0, "pageSize": 10}


def test_admin_api_refuses_missing_and_wrong_tokens(served: RunningServer) -> None:
    for token in ("", "wrong-token"):
        with _admin(served, token) as admin:
            assert admin.get("/tenants").status_code == 401
            assert admin.post("/faults", json={"kind": "latency"}).status_code == 401
    with _admin(served) as admin:
        assert admin.get("/tenants").status_code == 200
        assert (
            httpx.get(str(admin.base_url).rstrip("/") + "/openapi.json").json()["info"]["title"]
            == "jzgr simulator admin API"
        )


def test_tenant_lifecycle_through_the_admin_api(served: RunningServer) -> None:
    with _admin(served) as admin:
        made = admin.post("/tenants", json={"appid": "37140220260101777"}).json()
        assert len(made["appsecret"]) == 32
        q = {**QUERY, "projectCode": made["appid"]}
        with PlatformClient(served.url, made["appid"], made["appsecret"]) as api:
            assert api.call("Team.Query", q).ok
        rotated = admin.post(f"/tenants/{made['appid']}/rotate").json()
        assert rotated["appsecret"] != made["appsecret"]
        form = envelope.build_request("Team.Query", q, appid=made["appid"], secret=made["appsecret"])
        answer = httpx.post(served.url, data=form).json()
        assert answer["code"] == -2 and "previous secret" in answer["message"]  # the explainer knows the old one
        admin.post(f"/tenants/{made['appid']}/disable")
        form = envelope.build_request("Team.Query", q, appid=made["appid"], secret=rotated["appsecret"])
        assert httpx.post(served.url, data=form).json()["message"] == "请求参数无效:appid无效!"
        assert admin.post("/tenants", json={"appid": "x", "appsecret": "short"}).status_code == 400
        assert admin.post("/tenants/nobody/rotate").status_code == 404


def test_clock_drives_the_timestamp_window_and_future_dates(
    served: RunningServer, tenants: list[Tenant], platform: Platform
) -> None:
    t = tenants[0]
    tomorrow = (envelope.today_beijing() + timedelta(days=1)).isoformat()
    with _admin(served) as admin:
        admin.post("/clock", json={"advance": 2 * 86400, "speed": 0})
        now = platform.clock.now()
        # A client on real time is now outside the ±10 minute window …
        stale = envelope.build_request(
            "Team.Query", {**QUERY, "projectCode": t.projectCode}, appid=t.appid, secret=t.appsecret
        )
        assert httpx.post(served.url, data=stale).json()["code"] == -1
        # … and a date that is "tomorrow" in real time is in the past for the platform.
        att = {
            "projectCode": t.projectCode,
            "teamSysNo": 100000001,
            "dataList": [
                {
                    "idCardType": "01",
                    "idCardNumber": idcard.make("371402", date(1990, 1, 1), 1, True),
                    "date": f"{tomorrow} 07:00:00",
                    "direction": "01",
                }
            ],
        }
        # Sealed without the client's own validation: on the client's clock the date is in the future.
        text = json.dumps(
            payload.encrypt(methods.METHODS["WorkerAttendance.Add"].request, att, t.appsecret), ensure_ascii=False
        )
        form = envelope.build_request(
            "WorkerAttendance.Add", text, appid=t.appid, secret=t.appsecret, timestamp=envelope.format_timestamp(now)
        )
        answer = httpx.post(served.url, data=form).json()
        assert answer["code"] == 0, answer  # accepted synchronously: the date is not in the platform's future
        assert admin.get("/clock").json()["speed"] == 0
        admin.post("/clock", json={"reset": True})


def _fault(served: RunningServer, **rule: Any) -> dict[str, Any]:
    with _admin(served) as admin:
        response = admin.post("/faults", json=rule)
        assert response.status_code == 201, response.text
        return dict(response.json())


def _log(served: RunningServer, appid: str) -> list[dict[str, Any]]:
    with _admin(served) as admin:
        lines = admin.get("/traffic.jsonl", params={"appid": appid}).text.splitlines()
    return [json.loads(line) for line in lines]


def _reaction(entries: list[dict[str, Any]], kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The faulted exchange and the client's next request after it."""
    i = next(i for i, e in enumerate(entries) if e["fault"] and e["fault"]["kind"] == kind)
    return entries[i], entries[i + 1]


@pytest.mark.parametrize(("kind", "extra"), [("http_error", {"status": 502}), ("maintenance", {}), ("reset", {})])
def test_transport_faults_are_seen_and_retried(
    served_by_each: RunningServer, tenants: list[Tenant], kind: str, extra: dict[str, Any]
) -> None:
    t = tenants[0]
    _fault(served_by_each, kind=kind, appid=t.appid, method="Team.Query", count=2, **extra)
    with _client(served_by_each, t) as api:
        assert api.call("Team.Query", {**QUERY, "projectCode": t.projectCode}).ok  # after two faulted attempts
    entries = _log(served_by_each, t.appid)
    faulted, after = _reaction(entries, kind)
    assert faulted["http_status"] == {"http_error": 502, "maintenance": 503, "reset": 0}[kind]
    assert after["method"] == "Team.Query" and after["form"]["nonce"] != faulted["form"]["nonce"]  # re-signed retry
    assert sum(1 for e in entries if e["fault"]) == 2 and entries[-1]["code"] == 0


def test_transport_fault_without_retries_surfaces_as_transport_failed(
    served: RunningServer, tenants: list[Tenant]
) -> None:
    t = tenants[0]
    _fault(served, kind="http_error", appid=t.appid, status=500)
    with _client(served, t, retry=RetryPolicy(deadline=0)) as api, pytest.raises(DeadlineExceeded) as info:
        api.call("Team.Query", {**QUERY, "projectCode": t.projectCode})
    assert isinstance(info.value.last, TransportFailed) and "HTTP 500" in str(info.value.last)


def test_read_timeout_fault(served_by_each: RunningServer, tenants: list[Tenant]) -> None:
    t = tenants[0]
    _fault(served_by_each, kind="timeout", appid=t.appid, timeout_s=3, count=1)
    with _client(served_by_each, t, timeout=0.5) as api:
        assert api.call("Team.Query", {**QUERY, "projectCode": t.projectCode}).ok  # timed out once, then retried
    faulted, after = _reaction(_log(served_by_each, t.appid), "timeout")
    assert faulted["duration_ms"] >= 0 and after["code"] == 0


def test_latency_fault_is_logged_with_the_answer(served: RunningServer, tenants: list[Tenant]) -> None:
    t = tenants[0]
    _fault(served, kind="latency", appid=t.appid, latency_ms=150, count=1)
    with _client(served, t) as api:
        api.call("Team.Query", {**QUERY, "projectCode": t.projectCode})
    entry = next(e for e in _log(served, t.appid) if e["fault"])
    assert entry["fault"]["kind"] == "latency" and entry["code"] == 0


def test_minus_5_burst(served: RunningServer, tenants: list[Tenant]) -> None:
    t = tenants[0]
    _fault(served, kind="rate_limit", appid=t.appid, count=3)
    with _client(served, t) as api:
        assert api.call("Team.Query", {**QUERY, "projectCode": t.projectCode}).ok
    entries = _log(served, t.appid)
    assert [e["code"] for e in entries[-4:]] == [-5, -5, -5, 0]
    with _client(served, t, retry=RetryPolicy(deadline=0)) as api:
        _fault(served, kind="rate_limit", appid=t.appid, count=1)
        with pytest.raises(DeadlineExceeded) as info:
            api.call("Team.Query", {**QUERY, "projectCode": t.projectCode})
        assert isinstance(info.value.last, RateLimited)


def _team(t: Tenant, name: str) -> dict[str, Any]:
    return {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamName": name}


def test_async_failure_fault(served: RunningServer, tenants: list[Tenant]) -> None:
    t = tenants[0]
    _fault(served, kind="async_fail", appid=t.appid, method="Team.Add", message="系统繁忙,请稍后重试", count=1)
    with _client(served, t) as api:
        with pytest.raises(AsyncFailed) as info:
            api.write("Team.Add", _team(t, "木工二班"))
        assert info.value.message == "系统繁忙,请稍后重试"
        assert api.write("Team.Add", _team(t, "木工二班")).status == 20  # nothing was applied by the failure


def test_async_stuck_fault(served: RunningServer, tenants: list[Tenant]) -> None:
    t = tenants[0]
    _fault(served, kind="async_stuck", appid=t.appid, method="Team.Add", count=1)
    with _client(served, t, poll=PollPolicy(first_delay=0.02, max_interval=0.05, deadline=0.5)) as api:
        with pytest.raises(DeadlineExceeded):
            api.write("Team.Add", _team(t, "钢筋三班"))
    polls = [e for e in _log(served, t.appid) if e["method"] == "AsyncHandleResult.Query"]
    assert polls and all(json.loads(json.dumps(e))["code"] == 0 for e in polls)


def test_traffic_masks_secrets_and_numbers(served: RunningServer, tenants: list[Tenant]) -> None:
    t = tenants[0]
    number = idcard.make("371402", date(1990, 1, 1), 7, True)
    with _client(served, t) as api:
        api.call(
            "ProjectWorker.Query", {**QUERY, "projectCode": t.projectCode, "idCardType": "01", "idCardNumber": number}
        )
    with _admin(served) as admin:
        text = admin.get("/traffic.jsonl").text
        newest = admin.get("/traffic", params={"appid": t.appid, "limit": 1}).json()[0]
    assert number not in text and t.appsecret not in text
    assert newest["data"]["idCardNumber"] == number[:4] + "*" * 10 + number[-4:]
    assert {v["check"] for v in newest["verdicts"]} >= {"REQ-ENV-02", "REQ-SIG-01", "REQ-ENV-04"}


def test_fault_rules_are_validated_and_removable(served: RunningServer) -> None:
    with _admin(served) as admin:
        assert admin.post("/faults", json={"kind": "earthquake"}).status_code == 400
        assert admin.post("/faults", json={"kind": "latency", "probability": 2}).status_code == 400
        assert admin.post("/faults", json=[1, 2]).status_code == 400
        made = admin.post("/faults", json={"kind": "latency", "latency_ms": 1}).json()
        assert [f["id"] for f in admin.get("/faults").json()] == [made["id"]]
        admin.delete(f"/faults/{made['id']}")
        assert admin.get("/faults").json() == []


def test_seed_a_generated_dataset_through_the_admin_api(served: RunningServer, tmp_path: Any) -> None:
    from fixtures.fake import dataset

    ds = dataset.generate(7, 14, project_count=2)
    folder = dataset.write(ds, tmp_path / "site")
    with _admin(served) as admin:
        assert admin.post("/seed-dataset", json={"path": str(tmp_path / "nothing")}).status_code == 400
        answer = admin.post("/seed-dataset", json={"path": str(folder), "attendance_days": 2})
        assert answer.status_code == 200, answer.text
        body = answer.json()
    assert body["loaded"]["workers"] == 14 and body["loaded"]["projects"] == 2
    creds = {t["appid"]: t for t in body["tenants"]}
    first = ds.projects[0]
    t = creds[first.code]
    with PlatformClient(served.url, t["appid"], t["appsecret"]) as api:
        rows = list(api.query_all("ProjectWorker.Query", {"projectCode": first.code}))
    assert {r["idCardNumber"] for r in rows} == {w.id_number for team in first.teams for w in team.workers}


def test_seed_only_the_organisations_and_read_back_the_clock_ins_with_their_arrival(
    served: RunningServer, tmp_path: Any
) -> None:
    from fixtures.fake import dataset

    ds = dataset.generate(11, 6, project_count=1)
    folder = dataset.write(ds, tmp_path / "site")
    project = ds.projects[0]
    with _admin(served) as admin:
        refused = admin.post("/seed-dataset", json={"path": str(folder), "people": False, "attendance_days": 1})
        assert refused.status_code == 400 and "people" in refused.text
        body = admin.post("/seed-dataset", json={"path": str(folder), "people": False}).json()
        assert body["loaded"]["projects"] == 1 and body["loaded"]["workers"] == 0
        t = {x["appid"]: x for x in body["tenants"]}[project.code]
        with PlatformClient(served.url, t["appid"], t["appsecret"]) as api:
            assert list(api.query_all("ProjectWorker.Query", {"projectCode": project.code})) == []
        assert admin.get("/attendance", params={"project": project.code}).status_code == 400  # no day
        assert admin.get("/attendance", params={"project": "x;y", "day": "2026-12-01"}).status_code == 400
        # a project seeded with its people and a day of clock-ins: each row says when it arrived
        from standard.envelope import today_beijing

        yesterday = today_beijing() - timedelta(days=1)  # its 07:00 and 17:30 are past at any hour
        other = dataset.generate(12, 4, today=yesterday, project_count=1)
        dataset.write(other, tmp_path / "other")
        admin.post("/seed-dataset", json={"path": str(tmp_path / "other"), "attendance_days": 1})
        day = other.today.isoformat()
        rows = admin.get("/attendance", params={"project": other.projects[0].code, "day": day}).json()
    assert len(rows) == 2 * 4  # in and out, each worker
    assert {r["idCardNumber"] for r in rows} == {w.id_number for w in other.workers}
    assert all(r["date"].startswith(day) and isinstance(r["received_s"], int) for r in rows)


def test_inspection_log_clips_large_payloads_and_masks_on_read(platform: Platform) -> None:
    from simulator.platform import KEEP_CHARS, Answer
    from standard.envelope import Envelope

    photo = "data:image/jpeg;base64," + "A" * 60_000
    number = idcard.make("371402", date(1990, 1, 1), 7, True)
    data = {"projectCode": "1", "workerList": [{"idCardNumber": number, "headImage": photo}]}
    form = [("appid", "1"), ("method", "ProjectWorker.Add"), ("data", json.dumps(data)), ("appsecret", "s3cret")]
    platform.record(dict(form), "127.0.0.1", Answer(Envelope.success(), "RULE-20", data=data), 0.01)
    entry = platform.traffic.query(limit=1)[0]
    assert len(entry.form["data"]) == KEEP_CHARS  # kept cut, not whole
    shown = entry.to_json()
    item = shown["data"]["workerList"][0]
    assert (
        item["headImage"].endswith(f"({len(photo)} chars)")
        and item["idCardNumber"] == number[:4] + "*" * 10 + number[-4:]
    )
    assert shown["form"]["appsecret"] == "***"
