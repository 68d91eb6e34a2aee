"""The explainer names the right mistake for each wrong request built on purpose."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote_plus

import pytest

from standard import crypto, envelope, explainer, signature

SECRET = "0123456789abcdef0123456789abcdef"
DATA = {"projectCode": "37140220190101001", "teamSysNo": 100000001, "teamName": "钢筋一班"}


def _request(corp: bool = False) -> dict[str, str]:
    return envelope.build_request(
        "Team.Add",
        DATA,
        appid="37140220190101001",
        secret=SECRET,
        corp_key="fedcba9876543210fedcba9876543210" if corp else None,
        timestamp="20250302081530",
        nonce="8f14e45fceea167a5a36dedd4bea2543",
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pairs(params: dict[str, str]) -> list[tuple[str, str]]:
    return [(k, params[k]) for k in signature.SIGNED_KEYS if k in params]


def _join(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in pairs)


def _explain(params: dict[str, str], wrong_sign: str, **kw: object) -> explainer.Explanation:
    return explainer.explain({**params, "sign": wrong_sign}, SECRET, **kw)  # type: ignore[arg-type]


def test_a_correct_signature_is_reported_correct() -> None:
    params = _request()
    result = explainer.explain(params, SECRET)
    assert result.matched and result.mistake is None


def test_not_lowercased() -> None:
    params = _request()
    assert _explain(params, _sha(signature.sign_string(params, SECRET))).mistake == "not_lowercased"


def test_values_url_encoded() -> None:
    params = _request()
    text = _join([(k, quote_plus(v)) for k, v in _pairs(params)]) + "&appsecret=" + SECRET
    assert _explain(params, _sha(text.lower())).mistake == "values_url_encoded"


def test_keys_unsorted_in_the_order_the_form_was_sent() -> None:
    params = _request()
    order = ["method", "version", "format", "appid", "nonce", "timestamp", "data"]
    text = _join([(k, params[k]) for k in order]) + "&appsecret=" + SECRET
    result = _explain(params, _sha(text.lower()), order=order)
    assert result.mistake == "keys_unsorted"


def test_keys_unsorted_found_without_the_received_order() -> None:
    params = _request()
    order = ["timestamp", "appid", "data", "nonce", "format", "method", "version"]
    text = _join([(k, params[k]) for k in order]) + "&appsecret=" + SECRET
    assert _explain(params, _sha(text.lower())).mistake == "keys_unsorted"


def test_appsecret_missing() -> None:
    params = _request()
    assert _explain(params, _sha(_join(_pairs(params)).lower())).mistake == "appsecret_missing"


@pytest.mark.parametrize(
    "build",
    [
        lambda p: _join(sorted([*_pairs(p), ("appsecret", SECRET)])),  # sorted in
        lambda p: "appsecret=" + SECRET + "&" + _join(_pairs(p)),  # in front
        lambda p: _join(_pairs(p)) + SECRET,  # appended bare
    ],
    ids=["sorted-in", "in-front", "appended-bare"],
)
def test_appsecret_misplaced(build: object) -> None:
    params = _request()
    text = build(params)  # type: ignore[operator]
    assert _explain(params, _sha(text.lower())).mistake == "appsecret_misplaced"


def test_corpsign_left_out_of_the_string() -> None:
    params = _request(corp=True)
    pairs = [(k, v) for k, v in _pairs(params) if k != "corpsign"]
    text = _join(pairs) + "&appsecret=" + SECRET
    assert _explain(params, _sha(text.lower())).mistake == "corpsign_not_signed"


def test_data_reserialised() -> None:
    params = _request()
    pretty = json.dumps(DATA, ensure_ascii=True, separators=(", ", ": "))
    text = signature.sign_string({**params, "data": pretty}, SECRET)
    assert _explain(params, _sha(text.lower())).mistake == "data_reserialised"


@pytest.mark.parametrize("signed_ts", ["2025-03-02 08:15:30", "20250302083015", "20250302001530"])
def test_wrong_timestamp_format(signed_ts: str) -> None:
    params = _request()
    text = signature.sign_string({**params, "timestamp": signed_ts}, SECRET)
    assert _explain(params, _sha(text.lower())).mistake == "timestamp_format"


def test_wrong_secret_named_when_it_is_a_known_other_secret() -> None:
    params = _request()
    old = "ffffffffffffffffffffffffffffffff"
    wrong = signature.compute_sign(params, old)
    result = _explain(params, wrong, other_secrets={"the previous secret": old})
    assert result.mistake == "wrong_secret" and "previous secret" in result.sentence


def test_wrong_secret_inferred_from_undecryptable_fields() -> None:
    other = "ffffffffffffffffffffffffffffffff"
    params = envelope.build_request(
        "WorkerAttendance.Add",
        {"projectCode": "1", "dataList": [{"idCardNumber": crypto.encrypt("110105198506120034", other)}]},
        appid="1",
        secret=other,
    )
    result = explainer.explain(params, SECRET)
    assert result.mistake == "wrong_secret"


def test_sentence_is_one_sentence_with_the_secret_masked() -> None:
    params = _request()
    result = _explain(params, _sha(signature.sign_string(params, SECRET)))
    assert SECRET not in result.sentence and signature.mask_secret(SECRET) in result.sentence
    assert result.canonical.endswith("&appsecret=" + signature.mask_secret(SECRET))
