"""AES-CBC field encryption and the enterprise ``corpsign`` (interface.md §3.4, §4).

Standard: key = the secret's bytes as they are (32 characters → AES-256), IV = the first
16 bytes of the secret, PKCS7 padding, standard Base64 without line breaks. The AES-128
"outlier" (key = first 16 bytes) exists only behind ``variant=AesVariant.OUTLIER_AES128``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import threading
from functools import cache

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes


class AesVariant(enum.Enum):
    STANDARD = "standard"  # key = whole secret (AES-256 for the usual 32-char secret)
    OUTLIER_AES128 = "outlier-aes128"  # key = secret[:16]; seen once in a public client's test


class DecryptError(ValueError):
    """The value is not Base64 of an AES-CBC ciphertext made with this secret."""


@cache
def _cipher(secret: str, variant: AesVariant) -> Cipher[modes.CBC]:
    # One Cipher per (secret, variant): building it costs more than encrypting an ID number.
    key, iv = _key_iv(secret, variant)
    return Cipher(algorithms.AES(key), modes.CBC(iv))


MAX_CONTEXTS = 256
_blocks = threading.local()  # per thread: a cipher context must not be shared between threads


def _block_decryptor(secret: str, variant: AesVariant) -> tuple[CipherContext, bytes]:
    """A reusable AES block decryptor (ECB: no state between blocks) and the IV.

    CBC decryption is P_i = D(C_i) XOR C_(i-1): every block decrypts independently, so one
    long-lived context serves every value; a CBC context is single-use and making one cost more
    than the decryption itself."""
    contexts: dict[tuple[str, AesVariant], tuple[CipherContext, bytes]] | None = getattr(_blocks, "contexts", None)
    if contexts is None:
        contexts = _blocks.contexts = {}
    hit = contexts.get((secret, variant))
    if hit is None:
        if len(contexts) >= MAX_CONTEXTS:  # many secrets (fuzzing): start over rather than grow
            contexts.clear()
        key, iv = _key_iv(secret, variant)
        hit = contexts[(secret, variant)] = (Cipher(algorithms.AES(key), modes.ECB()).decryptor(), iv)
    return hit


def _key_iv(secret: str, variant: AesVariant) -> tuple[bytes, bytes]:
    raw = secret.encode("utf-8")
    if len(raw) < 16:
        raise ValueError("the secret must have at least 16 bytes (it supplies the 16-byte IV)")
    key = raw[:16] if variant is AesVariant.OUTLIER_AES128 else raw
    if len(key) not in (16, 24, 32):
        raise ValueError(f"the secret has {len(key)} bytes; AES needs a key of 16, 24 or 32 bytes")
    return key, raw[:16]


def encrypt(plaintext: str, secret: str, variant: AesVariant = AesVariant.STANDARD) -> str:
    raw = plaintext.encode("utf-8")
    pad = 16 - len(raw) % 16  # PKCS7
    encryptor = _cipher(secret, variant).encryptor()
    data = raw + bytes([pad]) * pad
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")


def decrypt(ciphertext_b64: str, secret: str, variant: AesVariant = AesVariant.STANDARD) -> str:
    blocks, iv = _block_decryptor(secret, variant)
    try:
        raw = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError):
        try:  # tolerate line breaks from Java encoders that wrap at 76 characters
            raw = base64.b64decode("".join(ciphertext_b64.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptError("not valid Base64") from exc
    if not raw or len(raw) % 16:
        raise DecryptError("ciphertext length is not a multiple of the AES block size")
    # CBC over the block decryptor: XOR each decrypted block with the ciphertext block before it
    # (the IV before the first), as one integer operation over the whole value.
    size = len(raw)
    padded = (int.from_bytes(blocks.update(raw), "little") ^ int.from_bytes(iv + raw[: size - 16], "little")).to_bytes(
        size, "little"
    )
    # PKCS7 by hand: the padding object cost as much as the decryption
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
        raise DecryptError("does not decrypt with this secret (bad padding or not UTF-8)")
    try:
        return padded[:-pad].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecryptError("does not decrypt with this secret (bad padding or not UTF-8)") from exc


def decrypt_lenient(ciphertext_b64: str, secret: str) -> tuple[str, AesVariant]:
    """Try the standard key, then the AES-128 outlier; return the plaintext and which worked."""
    try:
        return decrypt(ciphertext_b64, secret), AesVariant.STANDARD
    except DecryptError:
        return decrypt(ciphertext_b64, secret, AesVariant.OUTLIER_AES128), AesVariant.OUTLIER_AES128


def corpsign(corp_key: str, timestamp: str, secret: str) -> str:
    """``Base64(AES-CBC(key=secret, IV=secret[:16])(corpKey + timestamp))`` (interface.md §3.4)."""
    return encrypt(corp_key + timestamp, secret)
