"""The signature explainer: when a received signature does not match, find which known client
mistake reproduces it and say so in one sentence.

Each candidate rebuilds the sign string the way a particular broken client does and compares the
hash. The canonical string is shown with the secret masked, so the sentence can be returned to
the client (and logged) without leaking the secret.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, quote_plus

from standard import crypto, envelope
from standard.signature import SIGNED_KEYS, Lowercase, compute_sign, lower, mask_secret, sign_string


@dataclass(frozen=True)
class Explanation:
    matched: bool  # True when the signature is in fact correct
    mistake: str | None  # stable id of the diagnosed mistake, None when not found
    sentence: str
    canonical: str  # the canonical (pre-lowercase) sign string, secret masked
    expected_sign: str
    received_sign: str

    def to_json(self) -> dict[str, object]:
        return {
            "matched": self.matched,
            "mistake": self.mistake,
            "sentence": self.sentence,
            "canonical": self.canonical,
            "expected_sign": self.expected_sign,
            "received_sign": self.received_sign,
        }


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _present(params: Mapping[str, str], keys: Iterable[str] = SIGNED_KEYS) -> list[tuple[str, str]]:
    return [(k, params[k]) for k in keys if k in params]


def _join(pairs: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in pairs)


Candidate = tuple[str, str, Callable[[], Iterator[str]]]


def _candidates(
    params: Mapping[str, str], secret: str, order: Sequence[str] | None, max_permutations: int
) -> list[Candidate]:
    """(mistake id, sentence, generator of pre-hash strings) — most common mistakes first."""
    pairs = _present(params)
    tail = "&appsecret=" + secret

    def not_lowercased() -> Iterator[str]:
        yield sign_string(params, secret)

    def url_encoded() -> Iterator[str]:
        for enc in (quote_plus, lambda v: quote(v, safe=""), lambda v: quote(v, safe="/:")):
            yield lower(_join([(k, enc(v)) for k, v in pairs]) + tail)

    def secret_missing() -> Iterator[str]:
        base = _join(pairs)
        yield lower(base)
        yield base

    def secret_misplaced() -> Iterator[str]:
        base = _join(pairs)
        yield lower(_join(sorted([*pairs, ("appsecret", secret)])))  # sorted in with the others
        yield lower("appsecret=" + secret + "&" + base)  # put in front
        yield lower(base + secret)  # appended without "&appsecret="
        yield lower(base + "&" + secret)
        yield lower(secret + base)
        for name in ("secret", "key", "app_secret"):
            yield lower(base + f"&{name}={secret}")

    def corpsign_unsigned() -> Iterator[str]:
        if "corpsign" in params:
            yield lower(_join([(k, v) for k, v in pairs if k != "corpsign"]) + tail)

    def unsorted() -> Iterator[str]:
        if order:
            received = [(k, params[k]) for k in order if k in SIGNED_KEYS and k in params]
            yield lower(_join(received) + tail)
        jh_order = ("method", "format", "version", "appid", "timestamp", "nonce", "corpsign", "data")
        yield lower(_join(_present(params, jh_order)) + tail)
        # Any other order: every permutation, up to a budget (8 keys = 40,320 hashes, ~0.1 s).
        for perm in itertools.islice(itertools.permutations(pairs), max_permutations):
            yield lower(_join(perm) + tail)

    def data_reserialised() -> Iterator[str]:
        try:
            obj = json.loads(params.get("data", ""))
        except ValueError:
            return
        for sep, ascii_, sort in itertools.product(((",", ":"), (", ", ": ")), (False, True), (False, True)):
            text = json.dumps(obj, separators=sep, ensure_ascii=ascii_, sort_keys=sort)
            if text != params.get("data"):
                yield lower(sign_string({**params, "data": text}, secret))
        yield lower(sign_string({**params, "data": json.dumps(obj, ensure_ascii=False, indent=2)}, secret))

    def timestamp_format() -> Iterator[str]:
        try:
            moment = envelope.parse_timestamp(params.get("timestamp", ""))
        except ValueError:
            return
        variants = [
            moment.strftime("%Y-%m-%d %H:%M:%S"),
            moment.strftime("%Y%m%d%H%S%M"),  # minutes and seconds swapped (JH)
            moment.strftime("%Y%m%d%I%M%S"),  # 12-hour clock
            str(int(moment.timestamp())),
            str(int(moment.timestamp()) * 1000),
            (moment - timedelta(hours=8)).strftime(envelope.TIMESTAMP_FORMAT),  # UTC (FJ)
        ]
        for ts in variants:
            yield lower(sign_string({**params, "timestamp": ts}, secret))

    def ascii_lowercase() -> Iterator[str]:
        yield lower(sign_string(params, secret), Lowercase.ASCII)

    return [
        ("not_lowercased", "the sign string was not lowercased before hashing", not_lowercased),
        (
            "values_url_encoded",
            "the values were URL-encoded in the sign string; sign the raw values",
            url_encoded,
        ),
        ("appsecret_missing", "'&appsecret=<secret>' was not appended to the sign string", secret_missing),
        (
            "appsecret_misplaced",
            "the secret is in the wrong place: append '&appsecret=<secret>' after the sorted pairs, do not sort it in",
            secret_misplaced,
        ),
        (
            "corpsign_not_signed",
            "corpsign was sent but left out of the sign string; it is signed, between appid and data",
            corpsign_unsigned,
        ),
        (
            "keys_unsorted",
            "the keys are not in ASCII order (appid, corpsign, data, format, method, nonce, timestamp, version)",
            unsorted,
        ),
        (
            "data_reserialised",
            "data was signed in a different serialisation than the one sent; sign the data text byte for byte as sent",
            data_reserialised,
        ),
        (
            "timestamp_format",
            "the timestamp in the sign string differs from the one sent (another format or time zone); "
            "sign the same yyyyMMddHHmmss Beijing-time value that is sent",
            timestamp_format,
        ),
        (
            "ascii_lowercase",
            "non-ASCII letters were lowercased differently (ASCII-only vs Unicode lowercasing)",
            ascii_lowercase,
        ),
    ]


_B64 = re.compile(r"^[A-Za-z0-9+/]{22,}={0,2}$")


def _encrypted_values(data: str) -> list[str]:
    try:
        obj = json.loads(data)
    except ValueError:
        return []
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and len(node) % 4 == 0 and len(node) <= 200 and _B64.match(node):
            found.append(node)

    walk(obj)
    return found


def explain(
    params: Mapping[str, str],
    secret: str,
    *,
    order: Sequence[str] | None = None,
    other_secrets: Mapping[str, str] | None = None,
    mode: Lowercase = Lowercase.UNICODE,
    max_permutations: int = 40320,
) -> Explanation:
    """Explain a received request's signature.

    ``order``: the form keys in the order received (to recognise an unsorted sign string).
    ``other_secrets``: secrets the client may have used by mistake, by description
    (e.g. ``{"the previous secret": old, "the corpKey": corp_key}``).
    ``max_permutations``: how many key orders to try; a server on a hot path may pass less.
    """
    received = params.get("sign", "").lower()
    expected = compute_sign(params, secret, mode)
    canonical = sign_string(params, mask_secret(secret))
    if received == expected:
        return Explanation(True, None, "the signature is correct", canonical, expected, received)
    for mistake, sentence, gen in _candidates(params, secret, order, max_permutations):
        for text in gen():
            if _sha(text) == received:
                return Explanation(
                    False,
                    mistake,
                    f"Signature mismatch: {sentence}. Expected string: {canonical}",
                    canonical,
                    expected,
                    received,
                )
    for description, other in (other_secrets or {}).items():
        if compute_sign(params, other, mode) == received:
            return Explanation(
                False,
                "wrong_secret",
                f"Signature mismatch: the request was signed with {description}, not the current appsecret. "
                f"Expected string: {canonical}",
                canonical,
                expected,
                received,
            )
    values = _encrypted_values(params.get("data", ""))
    if values and not any(_decrypts(v, secret) for v in values):
        return Explanation(
            False,
            "wrong_secret",
            "Signature mismatch: no known mistake reproduces it and the encrypted fields do not decrypt with "
            f"this appid's secret either, so the client is most likely using a wrong secret. "
            f"Expected string: {canonical}",
            canonical,
            expected,
            received,
        )
    return Explanation(
        False,
        None,
        "Signature mismatch: no known mistake reproduces it; check the secret and that the data text is signed "
        f"exactly as sent. Expected string: {canonical}",
        canonical,
        expected,
        received,
    )


def _decrypts(value: str, secret: str) -> bool:
    try:
        crypto.decrypt(value, secret)
        return True
    except (crypto.DecryptError, ValueError):
        return False
