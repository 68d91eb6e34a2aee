"""Upkeep forgets only what no check can need any more: nonces past the replay window and rate
windows that are over; a replay inside the window is still refused after it ran."""

from __future__ import annotations

import httpx
from sqlalchemy import func, insert, select

from simulator.platform import Platform
from simulator.server import RunningServer
from simulator.store import nonces, rate_hits
from simulator.tenants import Tenant
from simulator.upkeep import Upkeep
from standard import envelope


def test_upkeep_forgets_expired_nonces_and_rate_windows(platform: Platform) -> None:
    now = platform.clock.timestamp()
    with platform.store.tx() as conn:
        conn.execute(
            insert(nonces),
            [{"appid": "a", "nonce": "old", "seen_at": now - 3600}, {"appid": "a", "nonce": "new", "seen_at": now - 5}],
        )
        conn.execute(
            insert(rate_hits),
            [
                {"appid": "a", "window": int(now // 60) - 10, "hits": 3},
                {"appid": "a", "window": int(now // 60), "hits": 1},
            ],
        )
    Upkeep(platform.store, platform.settings, platform.clock).run_once()
    with platform.store.read() as conn:
        assert [r[0] for r in conn.execute(select(nonces.c.nonce))] == ["new"]
        assert conn.execute(select(func.count()).select_from(rate_hits)).scalar_one() == 1


def test_replay_still_refused_after_upkeep(served: RunningServer, tenants: list[Tenant], platform: Platform) -> None:
    t = tenants[0]
    form = envelope.build_request(
        "Team.Add",
        {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName, "teamName": "木工一班"},
        appid=t.appid,
        secret=t.appsecret,
    )
    assert httpx.post(served.url, data=form).json()["code"] == 0
    Upkeep(platform.store, platform.settings, platform.clock).run_once()
    again = httpx.post(served.url, data=form).json()
    assert again["code"] == -1 and "nonce" in again["message"]
