"""The request signature (interface.md §3).

Sign string: the public parameters except ``sign`` (``corpsign`` only when sent), sorted by key,
joined as ``key=value`` with raw values, then ``&appsecret=<secret>`` appended; the whole string is
lowercased and hashed with SHA-256 (lowercase hex).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping

SIGNED_KEYS: tuple[str, ...] = (
    "appid",
    "corpsign",
    "data",
    "format",
    "method",
    "nonce",
    "timestamp",
    "version",
)


class Lowercase(enum.Enum):
    """How the sign string is lowercased. The spec leaves non-ASCII letters open (§3.1);
    Java's ``toLowerCase`` is Unicode-aware, so that is the default."""

    UNICODE = "unicode"
    ASCII = "ascii"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower(text: str, mode: Lowercase = Lowercase.UNICODE) -> str:
    return text.lower() if mode is Lowercase.UNICODE else text.translate(_ASCII_LOWER)


def sign_string(params: Mapping[str, str], secret: str) -> str:
    """The canonical string before lowercasing."""
    pairs = [f"{key}={params[key]}" for key in SIGNED_KEYS if key in params]
    return "&".join(pairs) + "&appsecret=" + secret


def digest(text: str, mode: Lowercase = Lowercase.UNICODE) -> str:
    """SHA-256 hex of the lowercased text."""
    return hashlib.sha256(lower(text, mode).encode("utf-8")).hexdigest()


def compute_sign(params: Mapping[str, str], secret: str, mode: Lowercase = Lowercase.UNICODE) -> str:
    return digest(sign_string(params, secret), mode)


def verify(params: Mapping[str, str], secret: str, mode: Lowercase = Lowercase.UNICODE) -> bool:
    received = params.get("sign", "")
    # Case-insensitive: some clients send upper-case hex; the spec's output is lowercase.
    return hmac.compare_digest(received.lower().encode(), compute_sign(params, secret, mode).encode())


def mask_secret(secret: str) -> str:
    """Show a secret's shape without revealing it: first 4 and last 4 characters."""
    if len(secret) <= 8:
        return "*" * len(secret)
    return f"{secret[:4]}{'*' * (len(secret) - 8)}{secret[-4:]}"
