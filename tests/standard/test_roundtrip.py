"""Property tests: sign/verify and encrypt/decrypt round-trip for arbitrary UTF-8, Chinese included."""

from __future__ import annotations

import json
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from standard import crypto, envelope, payload, signature
from standard.models.worker import ProjectWorkerAdd

SECRETS = st.text(alphabet=string.ascii_letters + string.digits + "#?=!", min_size=32, max_size=32)
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
TEXT = st.text(alphabet=st.one_of(CJK, st.characters(blacklist_categories=("Cs",))), max_size=200)


@given(secret=SECRETS, plaintext=TEXT)
def test_encrypt_then_decrypt_returns_the_plaintext(secret: str, plaintext: str) -> None:
    ciphertext = crypto.encrypt(plaintext, secret)
    assert "\n" not in ciphertext
    assert crypto.decrypt(ciphertext, secret) == plaintext


@given(secret=SECRETS, data=st.dictionaries(TEXT, TEXT, max_size=5), appid=st.from_regex(r"\A[0-9]{17}\Z"))
def test_build_request_verifies_and_any_change_to_data_breaks_it(secret: str, data: dict[str, str], appid: str) -> None:
    params = envelope.build_request("WorkerAttendance.Add", data, appid=appid, secret=secret)
    assert signature.verify(params, secret)
    tampered = {**params, "data": params["data"] + " "}
    assert not signature.verify(tampered, secret)
    assert not signature.verify(params, secret[::-1] if secret[::-1] != secret else secret + "x")


@given(secret=SECRETS, corp_key=st.from_regex(r"\A[0-9a-f]{32}\Z"))
def test_corpsign_is_signed_and_decrypts_to_key_plus_timestamp(secret: str, corp_key: str) -> None:
    params = envelope.build_request("Corp.Query", {}, appid="qg-1", secret=secret, corp_key=corp_key)
    assert signature.verify(params, secret)
    assert crypto.decrypt(params["corpsign"], secret) == corp_key + params["timestamp"]
    without = {k: v for k, v in params.items() if k != "corpsign"}
    assert not signature.verify(without, secret)


@settings(max_examples=50)
@given(secret=SECRETS, ids=st.lists(TEXT.filter(bool), min_size=1, max_size=5), card=TEXT.filter(bool))
def test_payload_encrypt_decrypt_walks_nested_lists(secret: str, ids: list[str], card: str) -> None:
    data = {
        "projectCode": "1",
        "workerList": [{"idCardNumber": i, "payRollBankCardNumber": card, "workerName": i} for i in ids],
    }
    sealed = payload.encrypt(ProjectWorkerAdd, data, secret)
    for item, original in zip(sealed["workerList"], ids, strict=True):
        assert item["idCardNumber"] == crypto.encrypt(original, secret)
        assert item["workerName"] == original  # names are not encrypted
    opened, failures = payload.decrypt(ProjectWorkerAdd, json.loads(json.dumps(sealed)), secret)
    assert failures == [] and opened == data
