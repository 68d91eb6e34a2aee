"""Payload models: required fields, limits, code tables, dates, images, profiles, and the
platform's message grammar."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from standard import crypto, errors, methods, payload
from standard.models.attendance import WorkerAttendanceAdd
from standard.models.payroll import PayrollAdd
from standard.models.team import TeamAdd
from standard.models.worker import ProjectWorkerAdd, ProjectWorkerUpdate
from standard.profile import LENIENT, STRICT

NOW = datetime(2025, 3, 2, 12, 0, 0)
ID = "110105198506120034"
CORP = "91110105MA01AB2C3F"


def _jpeg(size: int = 64, quality: int = 80) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (200, 150, 120)).save(buf, "JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode()


def _attendance(**item: Any) -> dict[str, Any]:
    record = {"idCardType": "01", "idCardNumber": ID, "date": "2025-03-02 07:02:04", "direction": "01", **item}
    return {"projectCode": "37140220190101001", "teamSysNo": 100000001, "dataList": [record]}


def _worker(**item: Any) -> dict[str, Any]:
    worker = {
        "workerName": "张三",
        "isTeamLeader": 0,
        "idCardType": "01",
        "idCardNumber": ID,
        "workType": "020",
        "workRole": 20,
        "nation": "汉",
        "address": "山东省德州市德城区新华路1号",
        "headImage": "data:image/jpeg;base64," + _jpeg(),
        "politicsType": "13",
        "cellPhone": "13912345678",
        "cultureLevelType": "02",
        "grantOrg": "德州市公安局德城分局",
        **item,
    }
    return {
        "projectCode": "37140220190101001",
        "corpCode": CORP,
        "corpName": "德州建工有限公司",
        "teamSysNo": 100000001,
        "teamName": "钢筋一班",
        "workerList": [worker],
    }


def _errors(model: type[Any], data: Any, **kw: Any) -> list[errors.FieldError]:
    with pytest.raises(errors.PayloadInvalid) as info:
        payload.validate(model, data, now=NOW, **kw)
    return info.value.errors


def test_valid_payloads_pass() -> None:
    payload.validate(WorkerAttendanceAdd, _attendance(), now=NOW)
    payload.validate(ProjectWorkerAdd, _worker(), now=NOW)


def test_message_grammar_for_a_list_item() -> None:
    errs = _errors(ProjectWorkerAdd, _worker(headImage=None))
    assert errors.render(errs) == "[workerList][0][headImage]不能为空!"
    assert errs[0].kind == "missing"


def test_several_errors_join_with_semicolons() -> None:
    data = _attendance(direction="03", date="2025-03-03 07:00:00")
    message = str(errors.PayloadInvalid(_errors(WorkerAttendanceAdd, data)))
    assert message == "[dataList][0][date]不能大于当前时间!;[dataList][0][direction]值不正确,请参见[考勤方向]字典表!"


@pytest.mark.parametrize(
    ("model", "build", "field", "limit"),
    [
        (WorkerAttendanceAdd, _attendance, "dataList", 20),
        (ProjectWorkerAdd, _worker, "workerList", 5),
    ],
)
def test_batch_limits(model: type[Any], build: Any, field: str, limit: int) -> None:
    data = build()
    data[field] = data[field] * (limit + 1)
    errs = _errors(model, data)
    assert [(e.path, e.kind, e.text) for e in errs] == [((field,), "too_many", f"数量不能超过{limit}!")]
    data[field] = data[field][:limit]
    if model is ProjectWorkerAdd:
        return  # duplicates inside one list are a business rule, not a format error
    payload.validate(model, data, now=NOW)


def test_head_image_over_50_kb_and_wrong_type() -> None:
    big = base64.b64encode(b"\xff\xd8\xff" + bytes(51 * 1024)).decode()
    errs = _errors(ProjectWorkerAdd, _worker(headImage=big))
    assert errors.render(errs) == "[workerList][0][headImage]大小超过限制50KB!"
    gif = base64.b64encode(b"GIF89a" + bytes(100)).decode()
    errs = _errors(ProjectWorkerAdd, _worker(headImage=gif))
    assert errors.render(errs) == "[workerList][0][headImage]格式无效,目前仅支持:jpg,jpeg,png,jpeg"


def test_id_type_other_than_01_strict_refused_lenient_accepted() -> None:
    data = _worker(idCardType="06", idCardNumber="H12345678")
    errs = _errors(ProjectWorkerAdd, data)
    assert errors.render(errs) == "[workerList][0][idCardType]异常,目前只支持身份证类型的证件!"
    payload.validate(ProjectWorkerAdd, data, profile=LENIENT, now=NOW)


def test_direction_as_int_only_in_lenient() -> None:
    data = _attendance(direction=1)
    assert _errors(WorkerAttendanceAdd, data)[0].kind == "code"
    model = payload.validate(WorkerAttendanceAdd, data, profile=LENIENT, now=NOW)
    assert model.dataList[0].direction == "01"


def test_milliseconds_only_in_lenient() -> None:
    data = _attendance(date="2025-03-02 07:02:04.123")
    assert _errors(WorkerAttendanceAdd, data)[0].kind == "format"
    payload.validate(WorkerAttendanceAdd, data, profile=LENIENT, now=NOW)


def test_field_name_case_exact_in_strict_and_folded_in_lenient() -> None:
    data = _worker()
    data["workerList"][0]["WORKERNAME"] = data["workerList"][0].pop("workerName")
    assert errors.render(_errors(ProjectWorkerAdd, data)) == "[workerList][0][workerName]不能为空!"
    payload.validate(ProjectWorkerAdd, data, profile=LENIENT, now=NOW)


def test_head_image_url_only_in_lenient() -> None:
    data = _worker(headImage="https://example.invalid/p.jpg")
    assert _errors(ProjectWorkerAdd, data)[0].kind == "image_format"
    payload.validate(ProjectWorkerAdd, data, profile=LENIENT, now=NOW)


def test_future_rules_follow_the_given_clock() -> None:
    payload.validate(WorkerAttendanceAdd, _attendance(date="2030-01-01 07:00:00"), now=datetime(2030, 1, 2))
    assert _errors(WorkerAttendanceAdd, _attendance(date="2030-01-01 07:00:00"))[0].kind == "future"


def test_a_message_only_about_the_future_is_told_from_any_other() -> None:
    late = _attendance(date="2030-01-01 07:00:00")
    late["dataList"] *= 2  # two items, both later than now: two errors, both "future"
    assert errors.only_future_now(str(errors.PayloadInvalid(_errors(WorkerAttendanceAdd, late))))
    mixed = _attendance(direction="03", date="2030-01-01 07:00:00")
    assert not errors.only_future_now(str(errors.PayloadInvalid(_errors(WorkerAttendanceAdd, mixed))))
    assert not errors.only_future_now("")


def _payroll(**detail: Any) -> dict[str, Any]:
    row = {
        "idCardType": "01",
        "idCardNumber": ID,
        "payRollBankCardNumber": "6217000010012345677",
        "payRollBankCode": "105",
        "payRollBankName": "建设银行德州分行",
        "payBankCardNumber": "37001234567890",
        "payBankCode": "102",
        "payBankName": "工商银行德州分行",
        "totalPayAmount": 6000,
        "actualAmount": 6000,
        "isBackPay": 0,
        "balanceDate": "2025-02-28",
        "thirdPayRollCode": "GZ-2025-02-001",
        **detail,
    }
    return {
        "projectCode": "1",
        "corpCode": CORP,
        "corpName": "德州建工有限公司",
        "teamSysNo": 100000001,
        "payMonth": "2025-02",
        "detailList": [row],
    }


def test_conditional_back_pay_month_and_future_pay_month() -> None:
    payload.validate(PayrollAdd, _payroll(), now=NOW)
    errs = _errors(PayrollAdd, _payroll(isBackPay=1))
    assert errors.render(errs) == "[detailList][0][backPayMonth]不能为空!"
    data = _payroll()
    data["payMonth"] = "2025-04"
    assert errors.render(_errors(PayrollAdd, data)) == "[payMonth]不能大于今天!"


def test_team_attachments_required_with_entry_time() -> None:
    team = {"projectCode": "1", "corpCode": CORP, "corpName": "x", "teamName": "钢筋一班", "entryTime": "2025-03-01"}
    assert errors.render(_errors(TeamAdd, team)) == "[entryAttachments]不能为空!"
    team["entryAttachments"] = [{"name": "进场.pdf", "data": base64.b64encode(b"%PDF-1.4").decode()}]
    payload.validate(TeamAdd, team, now=NOW)


def test_flat_project_worker_update_is_normalised_to_the_list_form() -> None:
    spec = methods.METHODS["ProjectWorker.Update"]
    nested = _worker()
    flat = {**{k: v for k, v in nested.items() if k != "workerList"}, **nested["workerList"][0]}
    assert spec.normalise is not None
    model = payload.validate(ProjectWorkerUpdate, spec.normalise(flat), now=NOW)
    assert model.workerList[0].idCardNumber == ID


def test_parse_pipeline_decrypts_then_validates() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    sealed = payload.encrypt(WorkerAttendanceAdd, _attendance(), secret)
    model = payload.parse(WorkerAttendanceAdd, payload_text(sealed), secret, now=NOW)
    assert model.dataList[0].idCardNumber == ID
    with pytest.raises(errors.PayloadInvalid) as info:
        payload.parse(WorkerAttendanceAdd, payload_text(_attendance()), secret, now=NOW)  # plaintext id
    assert info.value.errors[0].kind == "decrypt"
    assert info.value.errors[0].path == ("dataList", 0, "idCardNumber")


def test_aes128_outlier_decrypts_only_in_lenient() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    sealed = payload.encrypt(WorkerAttendanceAdd, _attendance(), secret, crypto.AesVariant.OUTLIER_AES128)
    with pytest.raises(errors.PayloadInvalid):
        payload.parse(WorkerAttendanceAdd, payload_text(sealed), secret, now=NOW, profile=STRICT)
    payload.parse(WorkerAttendanceAdd, payload_text(sealed), secret, now=NOW, profile=LENIENT)


def payload_text(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150)
@given(method=st.sampled_from(sorted(methods.METHODS)), data=JSON)
def test_garbage_never_raises_anything_but_payload_invalid(method: str, data: Any) -> None:
    spec = methods.METHODS[method]
    text = payload_text(data)
    try:
        payload.parse(spec.request, text, "0123456789abcdef0123456789abcdef", normalise=spec.normalise)
    except errors.PayloadInvalid as exc:
        assert exc.errors and all(e.render().startswith("[") for e in exc.errors)


@pytest.mark.parametrize("text", ["", "[", "[]", "1", '"x"', "{" * 100000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_non_object_or_pathological_data_is_a_format_error(text: str) -> None:
    with pytest.raises(errors.PayloadInvalid) as info:
        payload.parse(WorkerAttendanceAdd, text, "0123456789abcdef0123456789abcdef")
    assert info.value.errors[0].path == ("data",)


def test_training_score_one_decimal() -> None:
    from standard.models.training import ProjectTrainingAdd

    base = {
        "projectCode": "1",
        "trainingDate": "2025-03-01",
        "trainingDuration": 2,
        "trainingName": "安全教育",
        "trainingTypeCode": "003001",
    }
    worker = {"idCardType": "01", "idCardNumber": ID, "isPass": 1}
    payload.validate(ProjectTrainingAdd, {**base, "workers": [{**worker, "trainingScore": 92.5}]}, now=NOW)
    errs = _errors(ProjectTrainingAdd, {**base, "workers": [{**worker, "trainingScore": 92.55}]})
    assert [(e.path, e.kind) for e in errs] == [(("workers", 0, "trainingScore"), "range")]
