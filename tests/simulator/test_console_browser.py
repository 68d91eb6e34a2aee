"""The bureau console in a real browser: Debian's headless Chromium driven by Playwright (no
browser download). The region page lists its projects, the hourly chart renders with visible
bars, and a flag's link leads to its records. Screenshots are kept under test-output/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator import server
from simulator.clock import Clock
from simulator.platform import Platform
from simulator.tenants import Tenant
from standard import credit_code, envelope
from tests.simulator import console_data

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
# The flags a closed sandbox network needs (no background connections, no GPU).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian chromium not installed (scripts/ensure-debian-tools.sh)"
    ),
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def browser_page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


@pytest.fixture
def running(platform: Platform) -> Iterator[server.RunningServer]:
    r = server.start(platform)
    yield r
    r.stop()


def test_region_page_in_chromium(
    platform: Platform, clock: Clock, running: server.RunningServer, browser_page: object
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    site = console_data.dirty(platform.store, clock)
    base = running.url.removesuffix("/open.api")
    page.goto(f"{base}/{console_data.REGION}/")
    rows = page.locator("#projects tr[data-project]")
    expect(rows).to_have_count(len(site.codes) + 1)  # plus the idle project
    for code in site.codes:
        expect(page.locator(f'#projects tr[data-project="{code}"]')).to_be_visible()
    bars = page.locator("#hourly-chart rect.bar")
    expect(bars).to_have_count(24)
    seven = page.locator('#hourly-chart rect.bar[data-hour="6"]').bounding_box()
    assert seven is not None and seven["height"] > 10  # the morning peak is drawn, not just present
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "console-region.png"), full_page=True)
    expect(page.locator('#flags li[data-flag="shared-photo"]')).to_have_count(1)
    page.locator('#flags li[data-flag="late-uploads"] a').click()
    expect(page.locator("h1")).to_have_text("Late uploads")
    expect(page.locator("#records tr")).not_to_have_count(0)
    page.screenshot(path=str(OUTPUT / "console-flag.png"), full_page=True)


def test_clean_region_has_no_flags_in_chromium(
    platform: Platform, clock: Clock, running: server.RunningServer, browser_page: object
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    console_data.clean(platform.store, clock)
    page.goto(running.url.removesuffix("/open.api") + f"/{console_data.REGION}/")
    expect(page.locator("#flags li")).to_have_text("No flags.")
    expect(page.locator("a.flag")).to_have_count(0)


def test_traffic_page_in_chromium(
    platform: Platform, tenants: list[Tenant], running: server.RunningServer, browser_page: object
) -> None:
    """A -2 answer with the signature explanation keeps its row one line high with the verdicts
    on screen; an async failure (status 10) reads as a failure, not 成功; the keys not read as sent
    are listed."""
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    t = tenants[0]

    def send(method: str, data: dict[str, Any], **changes: str) -> dict[str, Any]:
        form = {**envelope.build_request(method, data, appid=t.appid, secret=t.appsecret), **changes}
        answer: dict[str, Any] = httpx.post(running.url, data=form).json()
        return answer

    team = {"projectCode": t.projectCode, "corpCode": t.corpCode, "corpName": t.corpName}
    assert send("Team.Query", {"pageIndex": 0, "pageSize": 10}, sign="0" * 64)["code"] == -2
    other = credit_code.make_uscc("371402", "MA3C5JPY")
    refused = send("Team.Add", {**team, "corpCode": other, "teamName": "不参建班"})
    status = send("AsyncHandleResult.Query", {"requestSerialCode": refused["data"]["requestSerialCode"]})
    assert status["data"]["status"] == 10
    assert send("Team.Add", {**team, "teamName": "钢筋班", "responsiblePersonIdNumber": "x"})["code"] == 0

    page.goto(running.url.removesuffix("/open.api") + f"/traffic/{t.appid}")
    rows = page.locator("#traffic tr[data-code]")
    expect(rows).to_have_count(4)
    width = page.viewport_size["width"] if page.viewport_size else 1400
    for i in range(4):
        box = rows.nth(i).bounding_box()
        assert box is not None and box["height"] < 80, (i, box)
        verdicts = rows.nth(i).locator("td.verdicts").bounding_box()
        assert verdicts is not None and verdicts["x"] + verdicts["width"] <= width, (i, verdicts)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing off-screen
    signature_row = page.locator('#traffic tr[data-code="-2"]')
    expect(signature_row.locator("td.result")).to_have_text("refused")
    expect(signature_row.locator("td.message summary")).to_be_visible()
    failed = page.locator('#traffic tr[data-async-status="10"] td.result')
    expect(failed).to_have_text("async 10: 失败")
    expect(page.locator("#traffic td.keys .near-miss")).to_have_text(
        "[responsiblePersonIdNumber] ignored: did you mean responsiblePersonIDNumber?"
    )
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "console-traffic.png"), full_page=True)
    signature_row.locator("td.message summary").click()  # the whole explanation is one click away
    expect(signature_row.locator("td.message pre")).to_contain_text("Signature mismatch")
