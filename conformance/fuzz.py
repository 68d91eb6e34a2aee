"""Schemathesis fuzzing of the platform: positive and negative ``data`` generated from the
OpenAPI document of the standard, signed and encrypted into the real form envelope.

Oracle (differential): the standard as code decides whether the generated data is valid; a valid
payload must be accepted (code 0), an invalid one refused with -1, and nothing may answer 5xx.
A failure is shrunk by Hypothesis and replayed once more before it is reported."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conformance.openapi import document, operation_path
from conformance.target import Exchange, Target
from standard import credit_code, envelope, errors, idcard, methods, payload
from standard.data_files import load_json

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _areas() -> list[str]:
    regions = load_json("regions.json")
    codes = [r["code"] for r in regions["regions"] if r.get("level") == "county"]
    return codes + [c["code"] for c in regions["other_counties"]]


def _jpeg(colour: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buf, "JPEG", quality=60)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


# Where the date formats read "now" when they draw: the fuzzed target's clock (Beijing wall time).
# The formats are registered once, process-wide, so they read it through this one reference.
_now: list[Callable[[], datetime]] = [lambda: envelope.now_beijing().replace(tzinfo=None)]


def _ago(seconds: int) -> str:
    return (_now[0]() - timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


@cache
def register_formats() -> None:
    """Teach schemathesis the standard's string formats so positive data is really valid."""
    areas = _areas()
    births = st.dates(min_value=date(1966, 1, 1), max_value=date(2006, 1, 1))
    schemathesis.openapi.format(
        "gb11643",
        st.builds(idcard.make, st.sampled_from(areas), births, st.integers(0, 99), st.booleans()),
    )
    schemathesis.openapi.format(
        "uscc",
        st.builds(credit_code.make_uscc, st.sampled_from(areas), st.text(alphabet=ALPHABET, min_size=8, max_size=8)),
    )
    schemathesis.openapi.format("gb2260", st.sampled_from(areas))
    schemathesis.openapi.format(
        "past-date", st.integers(1, 3650).map(lambda days: str(_now[0]().date() - timedelta(days=days)))
    )
    schemathesis.openapi.format(
        "past-datetime",
        st.integers(60, 30 * 86400).map(_ago),
    )
    schemathesis.openapi.format(
        "jzgr-datetime",
        st.integers(60, 300 * 86400).map(_ago),
    )
    schemathesis.openapi.format("past-month", st.integers(1, 36).map(lambda m: _months_ago(_now[0]().date(), m)))
    schemathesis.openapi.format("jpeg-base64", st.sampled_from([_jpeg((200, 150, 120)), _jpeg((90, 60, 40))]))
    schemathesis.openapi.format(
        "base64-blob", st.binary(min_size=1, max_size=64).map(lambda b: base64.b64encode(b).decode())
    )
    schemathesis.openapi.format("phone", st.from_regex(r"\A1[3-9]\d{9}\Z"))
    schemathesis.openapi.format("website", st.just("https://www.example.com"))
    schemathesis.openapi.format("email", st.from_regex(r"\A[a-z]{3,8}@[a-z]{3,8}\.com\Z"))


def _months_ago(today: date, months: int) -> str:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return f"{year:04d}-{month + 1:02d}"


@dataclass
class Finding:
    method: str
    mode: str
    data: Any
    expected: str
    got: str


def _fix_tenant_fields(target: Target, spec: methods.Method, data: Any) -> Any:
    # The tenant can reach only its own project: keep generated data inside it.
    if isinstance(data, dict) and "projectCode" in spec.request.model_fields and target.tenant.projectCode:
        return {**data, "projectCode": target.tenant.projectCode}
    return data


def judge(target: Target, spec: methods.Method, data: Any) -> tuple[str, str, Exchange]:
    """Send one generated payload; return (expected, got, exchange); expected == got is a pass."""
    try:
        raw = spec.normalise(data) if spec.normalise else data
        payload.validate(spec.request, raw, profile=target.profile, now=target.now())
        expected = "accepted"
    except errors.PayloadInvalid:
        expected = "refused -1"
    if isinstance(data, dict):
        text = json.dumps(payload.encrypt(spec.request, data, target.tenant.appsecret), ensure_ascii=False, default=str)
    elif isinstance(data, bytes | bytearray):
        text = bytes(data).decode("utf-8", errors="replace")  # a negative case may be raw bytes
    else:
        text = json.dumps(data, ensure_ascii=False, default=str)
    form = target.params(spec.name, text, encrypt=False)
    exchange = target.post(form, note=f"fuzz {spec.name}")
    env = exchange.envelope
    if exchange.status >= 500 or exchange.status == 0:
        got = f"HTTP {exchange.status}"
    elif env is None:
        got = "no envelope"
    elif env.code == 0:
        got = "accepted"
    elif env.code == -1:
        got = "refused -1"
    else:
        got = f"code {env.code} ({env.message[:80]})"
    return expected, got, exchange


def fuzz(
    target: Target,
    *,
    examples: int = 10,
    method_names: list[str] | None = None,
    on_finding: Callable[[Finding], None] | None = None,
) -> list[Finding]:
    """Fuzz each operation in both modes; return the confirmed findings (shrunk and replayed)."""
    register_formats()
    _now[0] = target.now
    schema = schemathesis.openapi.from_dict(document())
    callable_modes = {"any", "project", "enterprise"} if target.tenant.mode == "enterprise" else {"any", "project"}
    names = method_names or [
        m.name
        for m in methods.METHODS.values()
        if m.kind in ("write", "query") and not m.regional and m.key_mode in callable_modes  # else -3 is right
    ]
    findings: list[Finding] = []
    for name in names:
        operation = schema[operation_path(name)]["POST"]
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            finding = _fuzz_operation(target, methods.METHODS[name], operation, mode, examples)
            if finding is not None:
                findings.append(finding)
                if on_finding:
                    on_finding(finding)
    return findings


def _fuzz_operation(
    target: Target, spec: methods.Method, operation: Any, mode: schemathesis.GenerationMode, examples: int
) -> Finding | None:
    failing: list[tuple[Any, str, str]] = []

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def prop(case: Any) -> None:
        data = _fix_tenant_fields(target, spec, case.body)
        expected, got, _ = judge(target, spec, data)
        if expected != got:
            failing.append((data, expected, got))
            raise AssertionError(f"{spec.name}: expected {expected}, got {got}")

    try:
        prop()
    except AssertionError:
        data = failing[-1][0]  # Hypothesis replays the shrunk example last
        expected, got, _ = judge(target, spec, data)  # replay once more before reporting
        if expected != got:
            return Finding(spec.name, mode.value, data, expected, got)
    return None
