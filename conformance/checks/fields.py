"""Field validation: required fields, check digits, code tables, formats, area codes
(data.md §3–5, interface.md §5.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conformance import setup
from conformance.catalogue import check, expect
from conformance.checks.oracles import expect_refused, refused_sync_or_async
from conformance.target import Target
from standard import methods


def _workers(target: Target, **change: Any) -> dict[str, Any]:
    body, sys_no = setup.team(target)
    worker = {**setup.factory(target).worker(), **change}
    return setup.factory(target).workers_payload(body, sys_no, [{k: v for k, v in worker.items() if v is not None}])


def _attendance(target: Target, **change: Any) -> dict[str, Any]:
    _, sys_no = setup.team(target)
    data = setup.factory(target).attendance(sys_no, setup.enrolled(target)[:1], target.now() - timedelta(hours=1), 1)
    data["dataList"][0].update(change)
    data["dataList"][0] = {k: v for k, v in data["dataList"][0].items() if v is not None}
    return data


@check(
    "FMT-01",
    "A payload missing a required field is refused with -1 naming the field ([list][i][field]).",
    requirement="REQ-FMT-01",
    area="fields",
    smoke=True,
)
def fmt_01(target: Target) -> None:
    expect_refused(
        target.call("ProjectWorker.Add", _workers(target, workerName=None)), (-1,), "[workerList][0][workerName]"
    )
    expect_refused(
        target.call("WorkerAttendance.Add", _attendance(target, direction=None)), (-1,), "[dataList][0][direction]"
    )
    team = setup.factory(target).team()
    team.pop("teamName")
    expect_refused(target.call("Team.Add", team), (-1,), "[teamName]")


@check(
    "FMT-02",
    "A resident ID number with a wrong check digit is refused.",
    requirement="REQ-FMT-02",
    area="fields",
)
def fmt_02(target: Target) -> None:
    good = setup.factory(target).id_number()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    first, final = target.write("ProjectWorker.Add", _workers(target, idCardNumber=bad))
    refused_sync_or_async(first, final, "[idCardNumber]")


@check("FMT-03", "A code outside its code table is refused with -1.", requirement="REQ-FMT-03", area="fields")
def fmt_03(target: Target) -> None:
    expect_refused(target.call("ProjectWorker.Add", _workers(target, workType="999")), (-1,), "[workType]")
    expect_refused(target.call("WorkerAttendance.Add", _attendance(target, direction="03")), (-1,), "[direction]")


@check("FMT-04", "A date in the wrong format is refused with -1.", requirement="REQ-FMT-04", area="fields")
def fmt_04(target: Target) -> None:
    when = (target.now() - timedelta(hours=1)).strftime("%Y/%m/%d %H:%M")
    expect_refused(target.call("WorkerAttendance.Add", _attendance(target, date=when)), (-1,), "[date]")


@check(
    "FMT-05",
    "An areaCode outside the administrative divisions is refused with 参数值不正确,请参见行政区划字典表!.",
    requirement="REQ-FMT-05",
    area="fields",
)
def fmt_05(target: Target) -> None:
    corp = {
        "corpCode": setup.factory(target).credit_code(),
        "corpName": "德州测试建筑有限公司",
        "areaCode": "999999",
        "registerDate": "2010-05-01",
    }
    first, final = target.write("Corp.Upload", corp)
    refused_sync_or_async(first, final, "[areaCode]参数值不正确,请参见行政区划字典表!")


@check(
    "FMT-06",
    "ProjectWorker.Add with an idCardType other than 01 is refused (strict profile).",
    requirement="REQ-FMT-06",
    area="fields",
    profiles=("strict",),
)
def fmt_06(target: Target) -> None:
    first, final = target.write("ProjectWorker.Add", _workers(target, idCardType="06", idCardNumber="H1234567"))
    refused_sync_or_async(first, final, "目前只支持身份证类型的证件")


@check(
    "FMT-07",
    "Every method with required fields refuses an empty data object with -1 naming one of them.",
    requirement="REQ-FMT-01",
    area="fields",
)
def fmt_07(target: Target) -> None:
    callable_modes = {"any", "project", "enterprise"} if target.tenant.mode == "enterprise" else {"any", "project"}
    missed = []
    for spec in methods.METHODS.values():
        required = [name for name, info in spec.request.model_fields.items() if info.is_required()]
        if not required or spec.regional or spec.key_mode not in callable_modes:
            continue
        exchange = target.call(spec.name, {}, note=f"{spec.name} with data = {{}}")
        env = exchange.envelope
        named = env is not None and env.code == -1 and any(f"[{name}]" in env.message for name in required)
        if not named:
            missed.append(f"{spec.name}: {env.code if env else exchange.status} {env.message[:80] if env else ''}")
    expect(not missed, "not refused with -1 naming a required field: " + "; ".join(missed))
