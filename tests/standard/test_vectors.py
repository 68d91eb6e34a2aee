"""Every vector in fixtures/data/vectors.json (the project's copy of the spec's vectors)."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest

from standard import crypto, explainer, signature

VECTORS: list[dict[str, Any]] = json.loads(
    files("fixtures").joinpath("data", "vectors.json").read_text(encoding="utf-8")
)["vectors"]
AES = [v for v in VECTORS if v["kind"] == "aes"]
SIGNED = [v for v in VECTORS if v["kind"] in ("sign", "corpsign")]


def test_the_vector_file_is_complete() -> None:
    assert len(AES) >= 7 and len(SIGNED) >= 9


def _variant(vector: dict[str, Any]) -> crypto.AesVariant:
    outlier = vector["inputs"]["key_derivation"].startswith("outlier")
    return crypto.AesVariant.OUTLIER_AES128 if outlier else crypto.AesVariant.STANDARD


@pytest.mark.parametrize("vector", AES, ids=[v["name"] for v in AES])
def test_aes_vector_encrypts_and_decrypts(vector: dict[str, Any]) -> None:
    inputs, expected = vector["inputs"], vector["expected"]
    variant = _variant(vector)
    ciphertext = crypto.encrypt(inputs["plaintext"], inputs["appsecret"], variant)
    assert ciphertext == expected["base64"]
    assert crypto.decrypt(expected["base64"], inputs["appsecret"], variant) == inputs["plaintext"]


def test_outlier_ciphertext_is_refused_by_the_standard_key_and_accepted_by_lenient_fallback() -> None:
    outlier = next(v for v in AES if v["name"] == "notes-aes128-outlier-idcard")
    secret, text = outlier["inputs"]["appsecret"], outlier["expected"]["base64"]
    with pytest.raises(crypto.DecryptError):
        crypto.decrypt(text, secret)
    plain, variant = crypto.decrypt_lenient(text, secret)
    assert plain == outlier["inputs"]["plaintext"] and variant is crypto.AesVariant.OUTLIER_AES128


def _params(vector: dict[str, Any]) -> tuple[dict[str, str], str]:
    inputs = dict(vector["inputs"])
    secret = inputs.pop("appsecret")
    inputs.pop("corpKey", None)
    return inputs, secret


@pytest.mark.parametrize("vector", SIGNED, ids=[v["name"] for v in SIGNED])
def test_sign_vector(vector: dict[str, Any]) -> None:
    params, secret = _params(vector)
    assert signature.sign_string(params, secret) == vector["sign_string"]
    assert signature.lower(vector["sign_string"]) == vector["pre_hash_string"]
    assert len(vector["pre_hash_string"].encode()) == vector["pre_hash_utf8_bytes"]
    assert signature.compute_sign(params, secret) == vector["expected"]["sign"]
    assert signature.verify({**params, "sign": vector["expected"]["sign"]}, secret)


@pytest.mark.parametrize("vector", [v for v in SIGNED if v["kind"] == "corpsign"], ids=lambda v: v["name"])
def test_corpsign_vector(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    assert inputs["corpKey"] + inputs["timestamp"] == vector["corpsign_plaintext"]
    assert (
        crypto.corpsign(inputs["corpKey"], inputs["timestamp"], inputs["appsecret"]) == vector["expected"]["corpsign"]
    )


DIAGNOSTICS = [(v, name, h) for v in SIGNED for name, h in v.get("wrong_signs_for_diagnostics", {}).items()]
# The vector file's names for mistakes, mapped to the explainer's ids.
MISTAKE_IDS = {
    "not_lowercased": "not_lowercased",
    "values_url_encoded_in_sign_string": "values_url_encoded",
    "appsecret_omitted": "appsecret_missing",
    "corpsign_sent_but_not_signed": "corpsign_not_signed",
}


@pytest.mark.parametrize(("vector", "name", "wrong"), DIAGNOSTICS, ids=[f"{v['name']}:{n}" for v, n, _ in DIAGNOSTICS])
def test_diagnostic_hash_is_rejected_and_explained(vector: dict[str, Any], name: str, wrong: str) -> None:
    params, secret = _params(vector)
    assert not signature.verify({**params, "sign": wrong}, secret)
    result = explainer.explain({**params, "sign": wrong}, secret)
    assert not result.matched
    assert result.mistake == MISTAKE_IDS[name]
    assert secret not in result.sentence
