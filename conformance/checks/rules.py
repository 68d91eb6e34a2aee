"""Business rules and the asynchronous failures they produce (interface.md §10, §6.2)."""

from __future__ import annotations

from datetime import timedelta

from conformance import setup
from conformance.catalogue import check, expect
from conformance.checks.oracles import expect_async_failure, refused_sync_or_async
from conformance.target import Target


@check(
    "RULE-01",
    "A worker already in the project fails with 项目中已存在身份证为：…的工人!.",
    requirement="REQ-RULE-01",
    area="rules",
    smoke=True,
)
def rule_01(target: Target) -> None:
    body, sys_no = setup.team(target)
    ids = setup.enrolled(target)
    f = setup.factory(target)
    _, final = target.write("ProjectWorker.Add", f.workers_payload(body, sys_no, [f.worker(ids[0])]))
    result = expect_async_failure(final, "项目中已存在身份证为")
    expect(ids[0] in str(result), f"the message should name the ID number {ids[0]}: {result!r}")


@check(
    "RULE-02",
    "A duplicate team name fails with 班组已存在… carrying the existing teamSysNo.",
    requirement="REQ-RULE-02",
    area="rules",
)
def rule_02(target: Target) -> None:
    body, sys_no = setup.team(target)
    _, final = target.write("Team.Add", dict(body))
    result = expect_async_failure(final, "班组已存在")
    expect(str(sys_no) in str(result), f"the message should carry teamSysNo {sys_no}: {result!r}")


@check(
    "RULE-03",
    "A participating company added twice fails with 参建单位已存在.",
    requirement="REQ-RULE-03",
    area="rules",
)
def rule_03(target: Target) -> None:
    sub = setup.subcontractor(target)
    _, final = target.write("ProjectSubContractor.Add", dict(sub))
    expect_async_failure(final, "参建单位已存在")


@check(
    "RULE-04",
    "An unknown teamSysNo is refused with [teamSysNo]值超出范围或无效.",
    requirement="REQ-RULE-04",
    area="rules",
)
def rule_04(target: Target) -> None:
    ids = setup.enrolled(target)
    data = setup.factory(target).attendance(987654321, ids[:1], target.now() - timedelta(hours=1), 1)
    first, final = target.write("WorkerAttendance.Add", data)
    refused_sync_or_async(first, final, "[teamSysNo]值超出范围或无效")


@check(
    "RULE-05",
    "An entry/exit date in the future is refused with 不能大于当天!.",
    requirement="REQ-RULE-05",
    area="rules",
)
def rule_05(target: Target) -> None:
    body, sys_no = setup.team(target)
    data = setup.factory(target).entry(
        body, sys_no, setup.enrolled(target)[:1], target.now().date() + timedelta(days=3)
    )
    first, final = target.write("WorkerEntryExit.Add", data)
    refused_sync_or_async(first, final, "不能大于当天")


@check(
    "RULE-06",
    "A payMonth after the current month is refused with [payMonth]不能大于今天!.",
    requirement="REQ-RULE-05",
    area="rules",
)
def rule_06(target: Target) -> None:
    body, sys_no = setup.team(target)
    data = setup.factory(target).payroll(body, sys_no, setup.enrolled(target)[:1])
    data["payMonth"] = (target.now() + timedelta(days=62)).strftime("%Y-%m")
    first, final = target.write("Payroll.Add", data)
    refused_sync_or_async(first, final, "[payMonth]不能大于今天")


@check(
    "RULE-07",
    "An entry/exit date earlier than the worker's previous one fails with 不能小于历史进退场时间!.",
    requirement="REQ-RULE-06",
    area="rules",
)
def rule_07(target: Target) -> None:
    body, sys_no = setup.team(target)
    data = setup.factory(target).entry(
        body, sys_no, setup.enrolled(target)[:1], target.now().date() - timedelta(days=40), 0
    )
    first, final = target.write("WorkerEntryExit.Add", data)
    refused_sync_or_async(first, final, "不能小于历史进退场时间")


@check(
    "RULE-08",
    "Payroll for a worker not in the project fails with …不允许上传该工人的工资发放信息!.",
    requirement="REQ-RULE-07",
    area="rules",
)
def rule_08(target: Target) -> None:
    body, sys_no = setup.team(target)
    f = setup.factory(target)
    first, final = target.write("Payroll.Add", f.payroll(body, sys_no, [f.id_number()]))
    refused_sync_or_async(first, final, "不允许上传该工人的工资发放信息")
