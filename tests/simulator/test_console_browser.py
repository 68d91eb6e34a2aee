"""The bureau console in a real browser: Debian's headless Chromium driven by Playwright (no
browser download). The region page lists its projects, the hourly chart renders with visible
bars, and a flag's link leads to its records. Screenshots are kept under test-output/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator import server
from simulator.clock import Clock
from simulator.platform import Platform
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
