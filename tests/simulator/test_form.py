"""The fast form decoder reads every body exactly as the standard library does."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_plus, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.form import decode_form, unquote

# Pieces that reach every branch: escapes valid and malformed, escapes of bytes that are not
# UTF-8, '=' and line breaks (which the quoted-printable decoder would read), '+', non-ASCII text.
PIECES = [*"%=+&\r\n \t_aAfF09zZ.~中", "%2", "%4", "%41", "%4g", "%e4%b8%ad", "%ff", "%3D", "%3d", "%0a", "%0D", "=20"]


def _outcome(fn, text: str):  # type: ignore[no-untyped-def]
    try:
        return fn(text)
    except UnicodeDecodeError:
        return UnicodeDecodeError


@settings(max_examples=500)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_unquote_matches_unquote_plus_on_hostile_text(text: str) -> None:
    assert _outcome(unquote, text) == _outcome(lambda t: unquote_plus(t, errors="strict"), text)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join))
def test_decode_form_matches_parse_qsl_on_hostile_bodies(text: str) -> None:
    expected = _outcome(lambda t: parse_qsl(t, keep_blank_values=True, errors="strict"), text)
    assert _outcome(decode_form, text) == expected


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=8))
def test_decode_form_matches_parse_qsl_on_encoded_forms(fields: list[tuple[str, str]]) -> None:
    text = urlencode(fields)
    assert decode_form(text) == parse_qsl(text, keep_blank_values=True, errors="strict")
    raw = "&".join(f"{k}={v}" for k, v in fields if "%" not in k + v)  # unescaped, as some clients send
    assert decode_form(raw) == parse_qsl(raw, keep_blank_values=True, errors="strict")


def test_a_signed_data_field_round_trips() -> None:
    data = '{"idCardNumber":"Rk3NeuzLm8V8MYk+zQ2Tug3YeD0fshgJ5JjV4D6ow==","date":"2026-11-29 00:00:00","name":"张三"}'
    assert decode_form(urlencode({"data": data, "appid": "x"})) == [("data", data), ("appid", "x")]
