"""The request signature (interface.md §3)."""

from __future__ import annotations

import hashlib
from urllib.parse import quote_plus

from conformance.catalogue import check, expect
from conformance.checks.oracles import code_of, expect_code, expect_refused
from conformance.target import Target
from standard import crypto, signature


def _query(target: Target) -> dict[str, str]:
    data = {"pageIndex": 0, "pageSize": 1, "projectCode": target.tenant.projectCode, "teamName": '钢筋班 "A"'}
    return target.params("Team.Query", data)


def _with_sign(form: dict[str, str], text: str) -> dict[str, str]:
    return {**form, "sign": hashlib.sha256(text.encode("utf-8")).hexdigest()}


@check(
    "SIG-01",
    "A request signed per §3.1 (Chinese and quotes in data included) is accepted.",
    requirement="REQ-SIG-01",
    area="signature",
    smoke=True,
)
def sig_01(target: Target) -> None:
    expect_code(target.post(_query(target)), 0)


@check(
    "SIG-02",
    "A sign string hashed without lowercasing is refused with -2.",
    requirement="REQ-SIG-02",
    area="signature",
    smoke=True,
)
def sig_02(target: Target) -> None:
    form = _query(target)
    text = signature.sign_string(form, target.tenant.appsecret)
    expect_refused(target.post(_with_sign(form, text)), (-2,))


@check(
    "SIG-03",
    "A sign string built from URL-encoded values is refused with -2.",
    requirement="REQ-SIG-02",
    area="signature",
)
def sig_03(target: Target) -> None:
    form = _query(target)
    pairs = [(k, quote_plus(form[k])) for k in signature.SIGNED_KEYS if k in form]
    text = "&".join(f"{k}={v}" for k, v in pairs) + "&appsecret=" + target.tenant.appsecret
    expect_refused(target.post(_with_sign(form, text.lower())), (-2,))


@check(
    "SIG-04",
    "A sign string without &appsecret=<secret> is refused with -2.",
    requirement="REQ-SIG-02",
    area="signature",
)
def sig_04(target: Target) -> None:
    form = _query(target)
    text = "&".join(f"{k}={form[k]}" for k in signature.SIGNED_KEYS if k in form)
    expect_refused(target.post(_with_sign(form, text.lower())), (-2,))


@check(
    "SIG-05",
    "The method name's letter case does not affect the signature (never -2 for an upper-case method).",
    requirement="REQ-SIG-03",
    area="signature",
)
def sig_05(target: Target) -> None:
    form = _query(target)
    upper = {**form, "method": form["method"].upper()}
    exchange = target.post(upper)  # same sign: the sign string is lowercased anyway
    expect(code_of(exchange) != -2, f"an upper-case method name changed the signature verdict: {exchange.body[:200]}")


@check(
    "SIG-06",
    "A corpsign that is sent but left out of the sign string is refused with -2.",
    requirement="REQ-SIG-04",
    area="signature",
)
def sig_06(target: Target) -> None:
    form = {k: v for k, v in _query(target).items() if k != "corpsign"}
    corp_key = target.tenant.corpKey or "fedcba9876543210fedcba9876543210"
    form["corpsign"] = crypto.corpsign(corp_key, form["timestamp"], target.tenant.appsecret)
    unsigned = {k: v for k, v in form.items() if k not in ("corpsign", "sign")}
    form["sign"] = signature.compute_sign(unsigned, target.tenant.appsecret)
    expect_refused(target.post(form), (-2,))


@check(
    "SIG-07", "data changed after signing is refused with -2.", requirement="REQ-SIG-05", area="signature", smoke=True
)
def sig_07(target: Target) -> None:
    form = _query(target)
    expect_refused(target.post({**form, "data": form["data"].replace('"pageSize":1', '"pageSize":2')}), (-2,))
