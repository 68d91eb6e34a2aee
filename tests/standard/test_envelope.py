"""Serialising answers and payloads as the platform writes them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from standard.envelope import Code, Envelope, compact_json

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(_JSON)
def test_compact_json_writes_what_json_dumps_writes(value: object) -> None:
    assert compact_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_an_answer_keeps_chinese_text_and_has_no_spaces() -> None:
    body = Envelope.error(Code.BAD_PARAMETER, "请求参数无效:appid无效!").to_bytes()
    assert body == '{"code":-1,"message":"请求参数无效:appid无效!","data":null}'.encode()
