"""The region page's hourly chart has a y-axis with counts, and an empty day says "no data"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from simulator import server
from simulator.clock import Clock
from simulator.console import hourly_axis
from simulator.platform import Platform
from tests.simulator import console_data


@pytest.fixture
def site_server(platform: Platform) -> Iterator[server.RunningServer]:
    running = server.start(platform)
    yield running
    running.stop()


def test_axis_ticks_run_from_zero_to_the_busiest_hour() -> None:
    ticks = hourly_axis([0] * 6 + [40, 10] + [0] * 16)
    assert [t["value"] for t in ticks] == [0, 20, 40]
    assert ticks[0]["y"] == 160 and ticks[-1]["y"] == 0  # the busiest bar reaches the top
    assert [t["value"] for t in hourly_axis([0] * 24)] == [0]


def _chart(page: str) -> str:
    found = re.search(r'<svg id="hourly-chart".*?</svg>', page, re.S)
    assert found
    return found.group(0)


def test_a_day_with_clock_ins_has_a_labelled_y_axis(
    platform: Platform, clock: Clock, site_server: server.RunningServer
) -> None:
    site = console_data.clean(platform.store, clock)
    base = site_server.url.removesuffix("/open.api")
    chart = _chart(httpx.get(f"{base}/{console_data.REGION}/").text)
    busiest = max(int(n) for n in re.findall(r'data-count="(\d+)"', chart))
    assert busiest > 0 and len(site.ds.workers) >= busiest
    ticks = [int(v) for v in re.findall(r'class="tick"[^>]*>(\d+)<', chart)]
    assert ticks == [0, busiest // 2, busiest]
    assert 'id="hourly-y-axis"' in chart and "clock-ins" in chart and "hourly-no-data" not in chart


def test_an_empty_day_says_no_data(site_server: server.RunningServer) -> None:
    base = site_server.url.removesuffix("/open.api")
    chart = _chart(httpx.get(f"{base}/{console_data.REGION}/").text)
    assert re.findall(r'data-count="(\d+)"', chart) == ["0"] * 24
    assert re.search(r'id="hourly-no-data"[^>]*>no data', chart)
