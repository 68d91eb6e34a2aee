"""Tenant isolation and the rate-limit answer (interface.md §2.4, §5.2)."""

from __future__ import annotations

from conformance.catalogue import CheckSkipped, check, expect
from conformance.checks.oracles import code_of
from conformance.target import Target, async_status


def _other(target: Target) -> str:
    if target.other is None or not target.other.projectCode:
        raise CheckSkipped("needs a second tenant with a project (--credentials FILE with two tenants)")
    return target.other.projectCode


@check(
    "TEN-01",
    "An appid cannot read another tenant's project (refused with -3, or no rows).",
    requirement="REQ-TEN-01",
    area="tenancy",
    smoke=True,
)
def ten_01(target: Target) -> None:
    other = _other(target)
    # Read what certainly exists on the other side: the project itself and its participating companies.
    for method in ("Project.Query", "ProjectSubContractor.Query", "ProjectWorker.Query"):
        exchange = target.call(method, {"pageIndex": 0, "pageSize": 50, "projectCode": other})
        env = exchange.envelope
        expect(env is not None, f"{method}: no envelope: {exchange.body[:200]}")
        assert env is not None
        if env.code == 0:
            rows = env.data.get("rows", []) if isinstance(env.data, dict) else []
            expect(not rows, f"{method} leaked {len(rows)} row(s) of another tenant's project {other}")
        else:
            expect(
                env.code == -3, f"{method}: expected -3 for another tenant's project, got {env.code} ({env.message})"
            )


@check("TEN-02", "An appid cannot write into another tenant's project.", requirement="REQ-TEN-01", area="tenancy")
def ten_02(target: Target) -> None:
    other = _other(target)
    team = {
        "projectCode": other,
        "corpCode": target.tenant.corpCode,
        "corpName": target.tenant.corpName,
        "teamName": "越权班组",
    }
    first, final = target.write("Team.Add", team)
    code = code_of(first)
    status, _ = async_status(final)
    expect(
        code not in (0, None) or status == 10,
        f"a write into project {other} was accepted (code {code}, status {status})",
    )


@check(
    "RATE-01",
    "Over the configured rate limit the platform answers -5.",
    requirement="REQ-RATE-01",
    area="tenancy",
)
def rate_01(target: Target) -> None:
    burst = int(target.cache.get("rate_burst", 0))
    if burst <= 0:
        raise CheckSkipped("the target's rate limit is not known (--rate-burst N sends a bounded burst of N requests)")
    codes = []
    for _ in range(burst):
        codes.append(
            code_of(
                target.call("Team.Query", {"pageIndex": 0, "pageSize": 1, "projectCode": target.tenant.projectCode})
            )
        )
        if codes[-1] == -5:
            break
    expect(-5 in codes, f"no -5 in a burst of {len(codes)} requests")
