"""Timestamp window and nonce replay (spec README defaults; interface.md §2.3, §16.1)."""

from __future__ import annotations

from datetime import timedelta

from conformance.catalogue import check, expect
from conformance.checks.oracles import code_of, expect_refused
from conformance.target import Target
from standard import envelope


def _data(target: Target) -> dict[str, object]:
    return {"pageIndex": 0, "pageSize": 1, "projectCode": target.tenant.projectCode}


@check(
    "TS-01",
    "A timestamp outside the ±10 minute window is refused.",
    requirement="REQ-TS-01",
    area="replay",
    profiles=("strict",),
)
def ts_01(target: Target) -> None:
    old = envelope.format_timestamp(target.clock() - timedelta(minutes=20))
    exchange = target.post(target.params("Team.Query", _data(target), timestamp=old))
    expect(code_of(exchange) not in (0, None), f"a 20-minute-old timestamp was accepted: {exchange.body[:200]}")


@check("TS-02", "A timestamp that is not yyyyMMddHHmmss is refused with -1.", requirement="REQ-TS-02", area="replay")
def ts_02(target: Target) -> None:
    moment = target.now().strftime("%Y-%m-%d %H:%M:%S")
    expect_refused(target.post(target.params("Team.Query", _data(target), timestamp=moment)), (-1,))


@check(
    "NONCE-01",
    "The same signed request sent twice is refused the second time.",
    requirement="REQ-NONCE-01",
    area="replay",
    profiles=("strict",),
)
def nonce_01(target: Target) -> None:
    form = target.params("Team.Query", _data(target))
    first = target.post(form, note="first")
    expect(code_of(first) == 0, f"the first request was not accepted: {first.body[:200]}")
    second = target.post(form, note="replay")
    expect(code_of(second) not in (0, None), f"the replayed request was accepted: {second.body[:200]}")
