"""Before a plan: one signed query as the tenant under test, so an unreachable platform or refused
credentials are said once, plainly, instead of as a column of failed checks and signed evidence of
a meaningless run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from conformance.target import Exchange, Target, Tenant

Problem = Literal["unreachable", "credentials", "address"]


@dataclass(frozen=True)
class Preflight:
    problem: Problem | None  # None: the platform answered the tenant; the plan can run
    detail: str
    exchange: Exchange


def preflight(target: Target, tenant: Tenant | None = None) -> Preflight:
    """Send ``Team.Query`` (pageSize 1) signed as ``tenant`` (default: the one under test) and
    classify the answer."""
    who = tenant or target.tenant
    data = {"pageIndex": 0, "pageSize": 1, "projectCode": who.projectCode}
    exchange = target.post(target.params("Team.Query", data, tenant=who), note="preflight")
    target.exchanges.remove(exchange)  # not evidence of any check
    env = exchange.envelope
    if exchange.status == 0:
        return Preflight("unreachable", exchange.body.strip("<>").removeprefix("transport error: "), exchange)
    if env is None:
        start = " ".join(exchange.body[:80].split())
        return Preflight(
            "unreachable",
            f"it answers HTTP {exchange.status} with no open.api envelope ({start!r}); check the URL",
            exchange,
        )
    said = f"{env.code} {env.message}".strip()
    said = said if len(said) <= 160 else said[:159] + "…"
    if env.code == -2 or env.code == -3 or (env.code == -1 and "appid" in env.message):
        return Preflight("credentials", said, exchange)
    if env.code == -4:
        return Preflight("address", said, exchange)
    return Preflight(None, said, exchange)
