"""Transport, public parameters and the envelope (interface.md §2, §5)."""

from __future__ import annotations

from conformance.catalogue import check, expect
from conformance.checks.oracles import expect_code, expect_refused
from conformance.target import Target
from standard.envelope import REQUIRED_PARAMS

PROBE = {"pageIndex": 0, "pageSize": 1}


def _probe(target: Target) -> dict[str, str]:
    return target.params("ProjectWorker.Query", {**PROBE, "projectCode": target.tenant.projectCode})


@check(
    "ENV-01",
    "A form-encoded POST to open.api is answered with a JSON {code, message, data} envelope.",
    requirement="REQ-ENV-01",
    area="envelope",
    smoke=True,
)
def env_01(target: Target) -> None:
    exchange = target.post(_probe(target))
    expect(exchange.status == 200, f"expected HTTP 200, got {exchange.status}")
    expect_code(exchange, 0)


@check(
    "ENV-02",
    "A request missing any public parameter is refused with -1.",
    requirement="REQ-ENV-02",
    area="envelope",
)
def env_02(target: Target) -> None:
    for name in REQUIRED_PARAMS:
        form = {k: v for k, v in _probe(target).items() if k != name}
        expect_refused(target.post(form, note=f"without {name}"), (-1,))


@check(
    "ENV-03",
    "An unknown appid is refused with -1 and 请求参数无效:appid无效!.",
    requirement="REQ-ENV-03",
    area="envelope",
)
def env_03(target: Target) -> None:
    form = target.resign({**_probe(target), "appid": "99999920990101999"}, target.tenant.appsecret)
    expect_refused(target.post(form), (-1,), "appid无效")


@check(
    "ENV-04",
    "An unknown method is refused with -1 or -3, never a server error.",
    requirement="REQ-ENV-04",
    area="envelope",
)
def env_04(target: Target) -> None:
    expect_refused(target.call("Nothing.Here", {"pageIndex": 0, "pageSize": 1}), (-1, -3))


@check(
    "ENV-05",
    "Unknown extra form fields (appsecret sent by mistake) are ignored.",
    requirement="REQ-ENV-05",
    area="envelope",
)
def env_05(target: Target) -> None:
    form = {**_probe(target), "appsecret": target.tenant.appsecret[:4] + "…", "extra": "1"}
    expect_code(target.post(form), 0)


@check(
    "ENV-06",
    "Malformed input (non-JSON data, invalid UTF-8, an oversize body) gets an error envelope, never HTTP 5xx.",
    requirement="REQ-ENV-06",
    area="envelope",
)
def env_06(target: Target) -> None:
    bad_json = target.params("ProjectWorker.Query", "{not json", encrypt=False)
    expect_refused(target.post(bad_json, note="data is not JSON"), (-1,))
    raw = b"appid=%ff%fe&method=" + bytes([0xC3, 0x28]) + b"&data=%7B"
    exchange = target.post(raw, note="invalid UTF-8")
    expect(0 < exchange.status < 500, f"invalid UTF-8 answered HTTP {exchange.status}")
    expect(exchange.envelope is not None and exchange.envelope.code != 0, "invalid UTF-8 not refused with an envelope")
    big = b"data=" + b"A" * (11 * 1024 * 1024)
    exchange = target.post(big, note="11 MB body")
    expect(exchange.status != 0 and exchange.status < 500, f"an 11 MB body answered HTTP {exchange.status}")
    exchange.body = exchange.body[:500]
