"""Pagination of query methods (interface.md §7)."""

from __future__ import annotations

from typing import Any

from conformance import setup
from conformance.catalogue import check, expect
from conformance.checks.oracles import expect_code, expect_refused
from conformance.target import Target


def _page(target: Target, index: int, size: int) -> dict[str, Any]:
    _, sys_no = setup.team(target)
    data = {"pageIndex": index, "pageSize": size, "projectCode": target.tenant.projectCode, "teamSysNo": sys_no}
    exchange = target.call("ProjectWorker.Query", data)
    expect_code(exchange, 0)
    assert exchange.envelope is not None
    page = exchange.envelope.data
    expect(isinstance(page, dict), f"query data is not an object: {page!r}")
    assert isinstance(page, dict)
    return page


@check("PAGE-01", "pageSize over 50 is refused with -1.", requirement="REQ-PAGE-01", area="pagination", smoke=True)
def page_01(target: Target) -> None:
    data = {"pageIndex": 0, "pageSize": 51, "projectCode": target.tenant.projectCode}
    expect_refused(target.call("ProjectWorker.Query", data), (-1,), "[pageSize]")


@check(
    "PAGE-02",
    "pageIndex is 0-based: pages 0, 1, 2 of size 1 return the first, second and third rows.",
    requirement="REQ-PAGE-01",
    area="pagination",
)
def page_02(target: Target) -> None:
    setup.enrolled(target)
    everything = _page(target, 0, 50)["rows"]
    expect(len(everything) >= 3, f"expected at least 3 workers in the team, got {len(everything)}")
    for index in range(3):
        rows = _page(target, index, 1)["rows"]
        expect(len(rows) == 1, f"page {index} of size 1 returned {len(rows)} rows")
        expect(rows[0] == everything[index], f"page {index} is not the {index + 1}th row: pageIndex is not 0-based")


@check(
    "PAGE-03",
    "Query answers carry pageIndex, pageSize, totalCount and rows, echoing the request.",
    requirement="REQ-PAGE-02",
    area="pagination",
)
def page_03(target: Target) -> None:
    setup.enrolled(target)
    page = _page(target, 0, 2)
    expect(page.get("pageIndex") == 0 and page.get("pageSize") == 2, f"page does not echo index/size: {page!r}")
    expect(isinstance(page.get("totalCount"), int), f"totalCount missing or not an int: {page.get('totalCount')!r}")
    expect(isinstance(page.get("rows"), list) and len(page["rows"]) <= 2, "rows missing or longer than pageSize")
    expect(page["totalCount"] >= len(page["rows"]), "totalCount smaller than the rows returned")
