"""The bureau console over real sockets: region pages list their projects and today's figures,
each compliance flag appears for the project built to raise it (and none for a clean site), and
every flag links to the records behind it. Both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from simulator import server
from simulator.clock import Clock
from simulator.platform import Platform
from tests.simulator import console_data


@pytest.fixture
def site_server(platform: Platform) -> Iterator[server.RunningServer]:
    running = server.start(platform)
    yield running
    running.stop()


def _base(running: server.RunningServer) -> str:
    return running.url.removesuffix("/open.api")


def _flags(html: str) -> set[tuple[str, str]]:
    """(flag kind, project code) pairs of the projects table's flag links."""
    return set(re.findall(r'class="flag" data-flag="([a-z-]+)" href="/[a-z]+/flags/[a-z-]+/(\d+)"', html))


def test_clean_site_region_page(platform: Platform, clock: Clock, site_server: server.RunningServer) -> None:
    site = console_data.clean(platform.store, clock)
    page = httpx.get(f"{_base(site_server)}/{console_data.REGION}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for code in site.codes:
        assert f'data-project="{code}"' in page.text
    assert _flags(page.text) == set() and "No flags." in page.text
    bars = re.findall(r'data-hour="(\d+)" data-count="(\d+)"', page.text)
    assert len(bars) == 24
    morning = sum(int(n) for h, n in bars if h in ("6", "7"))
    assert morning == len(site.ds.workers)  # everyone clocked in between 06:30 and 07:30 today
    on_site = re.search(r'id="on-site">(\d+)<', page.text)
    assert on_site and int(on_site.group(1)) == len(site.ds.workers)


def test_every_flag_for_the_project_that_raises_it(
    platform: Platform, clock: Clock, site_server: server.RunningServer
) -> None:
    site = console_data.dirty(platform.store, clock)
    p = site.codes
    expected = {
        ("no-gate-attendance", p[0]),
        ("late-uploads", p[1]),
        ("two-sites", p[2]),
        ("two-sites", p[4]),
        ("same-second", p[2]),
        ("no-entry-record", p[3]),
        ("no-entry-record", p[4]),  # the worker seen at two sites never entered the second one
        ("shared-photo", p[3]),
        ("not-uploading", console_data.IDLE_PROJECT),
    }
    base = _base(site_server)
    page = httpx.get(f"{base}/{console_data.REGION}/").text
    assert _flags(page) == expected
    for kind, code in expected:
        detail = httpx.get(f"{base}/{console_data.REGION}/flags/{kind}/{code}")
        assert detail.status_code == 200
        assert 'id="records"' in detail.text, (kind, code)
    # the records behind a falsification flag name the worker (masked) and both projects
    two = httpx.get(f"{base}/{console_data.REGION}/flags/two-sites/{p[2]}").text
    assert p[4] in two and "**********" in two
    # the county page shows only that county's projects
    county = httpx.get(f"{base}/sddcqdzs/").text
    assert console_data.IDLE_PROJECT in county


def test_national_view_and_missing_pages(platform: Platform, clock: Clock, site_server: server.RunningServer) -> None:
    site = console_data.clean(platform.store, clock, workers=12, projects_n=2)
    base = _base(site_server)
    home = httpx.get(base + "/")
    assert home.status_code == 200 and 'href="/sddzsdzs/"' in home.text
    city_row = re.search(
        r'href="/sddzsdzs/">德州市</a></td>\s*<td>371400</td><td>city</td>\s*<td class="num">(\d+)', home.text
    )
    assert city_row and int(city_row.group(1)) == len(site.codes)
    assert httpx.get(base + "/nowhere/").status_code == 404
    assert httpx.get(base + f"/{console_data.REGION}/flags/bogus/1").status_code == 404
    assert httpx.get(base + f"/{console_data.REGION}", follow_redirects=False).status_code == 308
    # the open.api endpoint still answers in the platform's format for non-GET misuse
    assert httpx.put(base + "/elsewhere").json()["code"] == -1


def test_traffic_page_shows_verdicts_and_the_explainer(
    platform: Platform, site_server: server.RunningServer, tenants: list
) -> None:
    t = tenants[0]
    from standard import envelope

    form = envelope.build_request(
        "Team.Query", {"pageIndex": 0, "pageSize": 1, "projectCode": t.projectCode}, appid=t.appid, secret="0" * 32
    )
    assert httpx.post(site_server.url, data=form).json()["code"] == -2
    page = httpx.get(f"{_base(site_server)}/traffic/{t.appid}").text
    assert 'data-code="-2"' in page and "REQ-SIG-01" in page
    assert 'title="A request signed per §3.1' in page  # the failed requirement's statement, from the registry
    assert "secret" in page  # the explainer's sentence about the secret used
