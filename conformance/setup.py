"""State the checks share, created once per run through the platform itself: a participating
company, a team (with its teamSysNo) and enrolled workers with an entry record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conformance.catalogue import CheckFailed
from conformance.payloads import PayloadFactory
from conformance.target import Target, async_status


def factory(target: Target) -> PayloadFactory:
    made = target.cache.get("factory")
    if made is None:
        made = PayloadFactory(target.tenant, seed=int(target.cache.get("seed", 0)), now=target.now())
        target.cache["factory"] = made
    assert isinstance(made, PayloadFactory)
    return made


def write_ok(target: Target, method: str, data: Any) -> Any:
    """Send a write that must succeed; return its async result."""
    first, final = target.write(method, data)
    env = first.envelope
    if env is None or env.code != 0:
        raise CheckFailed(f"setup: {method} was refused: {first.body[:300]}")
    status, result = async_status(final)
    if status != 20:
        raise CheckFailed(f"setup: {method} ended with async status {status}: {result}")
    return result


def subcontractor(target: Target) -> dict[str, Any]:
    if "subcontractor" not in target.cache:
        sub = factory(target).subcontractor()
        write_ok(target, "ProjectSubContractor.Add", sub)
        target.cache["subcontractor"] = sub
    sub = target.cache["subcontractor"]
    assert isinstance(sub, dict)
    return sub


def team(target: Target) -> tuple[dict[str, Any], int]:
    """A team of the run and its platform-assigned teamSysNo."""
    if "team" not in target.cache:
        sub = subcontractor(target)
        body = factory(target).team(sub["corpCode"], sub["corpName"])
        result = write_ok(target, "Team.Add", body)
        if not isinstance(result, dict) or "teamSysNo" not in result:
            raise CheckFailed(f"setup: Team.Add result carries no teamSysNo: {result!r}")
        target.cache["team"] = (body, int(result["teamSysNo"]))
    body, sys_no = target.cache["team"]
    return body, sys_no


def enrolled(target: Target, count: int = 3) -> list[str]:
    """ID numbers of workers added to the team, with an entry record 10 days ago."""
    if "enrolled" not in target.cache:
        f = factory(target)
        body, sys_no = team(target)
        workers = [f.worker() for _ in range(count)]
        write_ok(target, "ProjectWorker.Add", f.workers_payload(body, sys_no, workers))
        ids = [w["idCardNumber"] for w in workers]
        write_ok(target, "WorkerEntryExit.Add", f.entry(body, sys_no, ids, (f.now - timedelta(days=10)).date()))
        target.cache["enrolled"] = ids
        target.cache["workers"] = workers
    ids = target.cache["enrolled"]
    assert isinstance(ids, list)
    return ids
