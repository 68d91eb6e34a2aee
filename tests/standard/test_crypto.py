"""AES-CBC decryption runs on a reusable block decryptor (crypto.decrypt); these tests hold it to
what a one-shot CBC context from ``cryptography`` reads from the same bytes."""

from __future__ import annotations

import base64
import string
import threading

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from standard import crypto

secrets_ = st.sampled_from([16, 24, 32]).flatmap(
    lambda n: st.text(string.ascii_letters + string.digits, min_size=n, max_size=n)
)

whole_blocks = st.integers(1, 6).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))


def reference(ciphertext: bytes, secret: str, variant: crypto.AesVariant) -> str | None:
    """CBC with a fresh context and a textbook PKCS7 check; None where decrypt must refuse."""
    raw = secret.encode()
    key = raw[:16] if variant is crypto.AesVariant.OUTLIER_AES128 else raw
    context = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    padded = context.update(ciphertext) + context.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
        return None
    try:
        return padded[:-pad].decode("utf-8")
    except UnicodeDecodeError:
        return None


@settings(max_examples=300)
@given(
    secrets_, st.binary(min_size=1, max_size=6).map(len).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))
)
def test_any_ciphertext_reads_as_a_one_shot_cbc_context_reads_it(secret: str, ciphertext: bytes) -> None:
    for variant in crypto.AesVariant:
        expected = reference(ciphertext, secret, variant)
        text = base64.b64encode(ciphertext).decode()
        if expected is None:
            with pytest.raises(crypto.DecryptError):
                crypto.decrypt(text, secret, variant)
        else:
            assert crypto.decrypt(text, secret, variant) == expected


@settings(max_examples=200)
@given(secrets_, st.text(max_size=80))
def test_real_ciphertexts_of_several_blocks_decrypt(secret: str, plaintext: str) -> None:
    key = secret.encode()
    padder = 16 - len(plaintext.encode()) % 16
    context = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    sealed = context.update(plaintext.encode() + bytes([padder]) * padder) + context.finalize()
    assert crypto.decrypt(base64.b64encode(sealed).decode(), secret) == plaintext


def test_threads_decrypting_at_once_each_get_their_own_plaintext() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    texts = [f"37010219900307{n:04d}" for n in range(200)]
    sealed = [crypto.encrypt(t, secret) for t in texts]
    wrong: list[str] = []

    def work() -> None:
        for _ in range(20):
            wrong.extend(t for t, s in zip(texts, sealed, strict=True) if crypto.decrypt(s, secret) != t)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_many_secrets_do_not_grow_the_context_cache_without_bound() -> None:
    for n in range(crypto.MAX_CONTEXTS + 50):
        secret = f"{n:032d}"
        assert crypto.decrypt(crypto.encrypt("x", secret), secret) == "x"
    assert len(crypto._blocks.contexts) <= crypto.MAX_CONTEXTS
