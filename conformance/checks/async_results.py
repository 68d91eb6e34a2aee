"""The asynchronous lifecycle of writes (interface.md §6)."""

from __future__ import annotations

from conformance import setup
from conformance.catalogue import check, expect
from conformance.checks.oracles import expect_code
from conformance.target import Target, async_status
from standard.envelope import SERIAL_RE


@check(
    "ASYNC-01",
    "A write answers code 0 with a requestSerialCode <entity>-<op>-<yyyyMMddHH>-<n>-<seq>.",
    requirement="REQ-ASYNC-01",
    area="async",
    smoke=True,
)
def async_01(target: Target) -> None:
    exchange = target.call("Team.Add", setup.factory(target).team(*_corp(target)))
    expect_code(exchange, 0)
    env = exchange.envelope
    serial = env.data.get("requestSerialCode") if env and isinstance(env.data, dict) else None
    expect(isinstance(serial, str) and bool(SERIAL_RE.match(serial)), f"malformed requestSerialCode {serial!r}")
    expect(str(serial).startswith("team-add-"), f"Team.Add serial should start with team-add-: {serial!r}")
    target.wait(str(serial))


def _corp(target: Target) -> tuple[str, str]:
    sub = setup.subcontractor(target)
    return sub["corpCode"], sub["corpName"]


@check(
    "ASYNC-02",
    "Team.Add ends with status 20 and a result carrying the integer teamSysNo.",
    requirement="REQ-ASYNC-02",
    area="async",
    smoke=True,
)
def async_02(target: Target) -> None:
    first, final = target.write("Team.Add", setup.factory(target).team(*_corp(target)))
    expect_code(first, 0)
    status, result = async_status(final)
    expect(status == 20, f"expected async status 20, got {status}: {result!r}")
    sys_no = result.get("teamSysNo") if isinstance(result, dict) else None
    expect(isinstance(sys_no, int) and sys_no > 0, f"teamSysNo is not a positive integer: {sys_no!r}")


@check(
    "ASYNC-03",
    "Payroll.Add ends with status 20 and an array whose element carries payrollCode.",
    requirement="REQ-ASYNC-02",
    area="async",
)
def async_03(target: Target) -> None:
    body, sys_no = setup.team(target)
    first, final = target.write("Payroll.Add", setup.factory(target).payroll(body, sys_no, setup.enrolled(target)[:1]))
    expect_code(first, 0)
    status, result = async_status(final)
    expect(status == 20, f"expected async status 20, got {status}: {result!r}")
    expect(
        isinstance(result, list) and bool(result) and isinstance(result[0], dict) and "payrollCode" in result[0],
        f"expected [{{'payrollCode': …}}], got {result!r}",
    )


@check(
    "ASYNC-04",
    "AsyncHandleResult.Query answers {requestSerialCode, status, result} with status a JSON number.",
    requirement="REQ-ASYNC-02",
    area="async",
)
def async_04(target: Target) -> None:
    first = target.call("Team.Add", setup.factory(target).team(*_corp(target)))
    expect_code(first, 0)
    serial = first.envelope.data["requestSerialCode"] if first.envelope else ""
    poll = target.call("AsyncHandleResult.Query", {"requestSerialCode": serial})
    expect_code(poll, 0)
    data = poll.envelope.data if poll.envelope else None
    expect(
        isinstance(data, dict) and data.get("requestSerialCode") == serial,
        f"poll data does not echo the serial: {data!r}",
    )
    assert isinstance(data, dict)
    expect(isinstance(data.get("status"), int) and data["status"] in (0, 10, 20), f"status is {data.get('status')!r}")
    target.wait(serial)
