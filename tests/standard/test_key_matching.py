"""One key rule for the whole payload pipeline (``payload.match_keys``): exact or case-insensitive,
the same for decryption, validation and what is stored, and a note for every key that is not read
as sent — nested keys included."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from standard import credit_code, crypto, errors, idcard, payload
from standard.models.payroll import PayrollAdd
from standard.models.team import TeamAdd, TeamRow
from standard.models.worker import ProjectWorkerAdd
from standard.profile import LENIENT, STRICT

SECRET = "0123456789abcdef0123456789abcdef"
NOW = datetime(2025, 6, 1, 12, 0)
PERSON = idcard.make("371402", datetime(1980, 1, 1).date(), 12, True)
CORP = credit_code.make_uscc("371402", "MA3C5JPY")


def notes(model: type, data: dict[str, object], *, ci: bool) -> list[tuple[tuple[str | int, ...], str, str | None]]:
    return [(n.path, n.kind, n.standard) for n in payload.match_keys(model, data, case_insensitive=ci)[1]]


def test_standard_keys_pass_untouched_and_unnoted() -> None:
    data = {"projectCode": "1", "workerList": [{"idCardNumber": "x", "Specialty": "y"}]}
    matched, found = payload.match_keys(ProjectWorkerAdd, data, case_insensitive=False)
    assert matched is data and found == []


@pytest.mark.parametrize("ci", [False, True])
def test_unknown_near_and_case_keys(ci: bool) -> None:
    data = {
        "projectCode": "1",
        "responsiblePersonIdNumber": "x",  # case only
        "legaManProTitle": "y",  # a spelling, not a case, difference: never read as another field
        "localId": 7,  # nothing like any field
        "entryAttachments": [{"name": "a", "data": "b", "Data": "c"}],  # nested, both spellings sent
    }
    matched, found = payload.match_keys(TeamAdd, data, case_insensitive=ci)
    case = "case-matched" if ci else "near-miss"
    assert [(n.path, n.kind, n.standard) for n in found] == [
        (("responsiblePersonIdNumber",), case, "responsiblePersonIDNumber"),
        (("legaManProTitle",), "ignored", None),
        (("localId",), "ignored", None),
        (("entryAttachments", 0, "Data"), "near-miss", "data"),  # the exact key wins
    ]
    assert ("responsiblePersonIDNumber" in matched) is ci
    assert "responsiblePersonIdNumber" not in matched and "localId" not in matched
    assert matched["entryAttachments"] == [{"name": "a", "data": "b"}]


def test_a_close_misspelling_is_a_near_miss() -> None:
    assert notes(TeamAdd, {"teamNmae": "x"}, ci=True) == [(("teamNmae",), "near-miss", "teamName")]


def test_the_rendered_notes_say_what_happened() -> None:
    _, found = payload.match_keys(TeamAdd, {"Teamname": "x", "foo": 1}, case_insensitive=False)
    assert payload.render_key_notes(found) == (
        "[Teamname] ignored: did you mean teamName?; [foo] ignored: not a field of this method"
    )


def test_decryption_validation_and_storage_follow_the_same_rule() -> None:
    """``PayBankCardNumber`` (XN's spelling): with case-insensitive keys it is the encrypted
    ``payBankCardNumber`` — decrypted, validated and kept under the standard's name; with exact
    keys it is not read at all, and the required field is missing."""
    detail = {
        "idCardType": "01",
        "idCardNumber": crypto.encrypt(PERSON, SECRET),
        "days": 22,
        "workHours": 176,
        "payRollBankCardNumber": crypto.encrypt("6217000010012345677", SECRET),
        "payRollBankCode": "105",
        "payRollBankName": "中国建设银行德州分行",
        "PayBankCardNumber": crypto.encrypt("37050161600100000001", SECRET),
        "payBankCode": "102",
        "payBankName": "中国工商银行德州分行",
        "totalPayAmount": 6600.0,
        "actualAmount": 6600.0,
        "isBackPay": 0,
        "balanceDate": "2025-05-01",
        "thirdPayRollCode": "GZ-1",
    }
    body = {"projectCode": "1", "corpCode": CORP, "corpName": "德州建工", "teamSysNo": 123456789}
    text = json.dumps({**body, "payMonth": "2025-05", "detailList": [detail]}, ensure_ascii=False)
    found: list[payload.KeyNote] = []
    model = payload.parse(PayrollAdd, text, SECRET, profile=LENIENT, now=NOW, key_notes=found)
    assert model.wire()["detailList"][0]["payBankCardNumber"] == "37050161600100000001"
    assert [n.kind for n in found] == ["case-matched"]
    found.clear()
    with pytest.raises(errors.PayloadInvalid) as refused:
        payload.parse(PayrollAdd, text, SECRET, profile=STRICT, now=NOW, key_notes=found)
    assert str(refused.value) == "[detailList][0][payBankCardNumber]不能为空!"
    assert [(n.path, n.kind) for n in found] == [(("detailList", 0, "PayBankCardNumber"), "near-miss")]


def test_a_plaintext_case_variant_of_an_encrypted_field_is_refused_only_when_it_is_read() -> None:
    text = json.dumps(
        {"projectCode": "1", "corpCode": CORP, "corpName": "德州建工", "teamName": "钢筋班",
         "responsiblePersonIDCardType": "01", "responsiblePersonIdNumber": PERSON},
        ensure_ascii=False,
    )  # fmt: skip
    assert payload.parse(TeamAdd, text, SECRET, profile=STRICT, now=NOW).responsiblePersonIDNumber is None
    with pytest.raises(errors.PayloadInvalid) as refused:
        payload.parse(TeamAdd, text, SECRET, profile=LENIENT, now=NOW)
    assert [(e.path, e.kind) for e in refused.value.errors] == [(("responsiblePersonIDNumber",), "decrypt")]


def test_encryption_never_leaves_a_case_variant_of_an_encrypted_field_in_plaintext() -> None:
    """A row stored with Team.Add's ``teamLeaderIdNumber`` (XN's spelling) is encrypted by the
    row model's ``teamLeaderIDNumber``."""
    row = {"teamSysNo": 100000001, "teamLeaderIdNumber": PERSON, "teamLeaderIDCardType": "01"}
    sealed = payload.encrypt(TeamRow, row, SECRET)
    assert crypto.decrypt(sealed["teamLeaderIdNumber"], SECRET) == PERSON
    assert sealed["teamLeaderIDCardType"] == "01"
