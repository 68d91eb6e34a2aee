"""The demo world is one world (issue 15): the seeded tenants are the same on every day and every
fresh database, and their first project is the sample site's."""

from __future__ import annotations

from pathlib import Path

import fixtures
from fixtures.fake import dataset
from hardware_sim import site
from simulator.platform import Platform
from simulator.seed import seed_demo
from simulator.store import Store


def _seeded(seed: int = 2018) -> list[dict[str, object]]:
    store = Store.open("sqlite://")
    try:
        return [t.credentials() for t in seed_demo(Platform(store), seed)]
    finally:
        store.close()


def test_seeded_tenants_are_the_same_on_every_fresh_database() -> None:
    first, again = _seeded(), _seeded()
    assert first == again
    assert len({t["appsecret"] for t in first}) == 3 and all(len(str(t["appsecret"])) == 32 for t in first)
    assert _seeded(7) != first  # … and follow the seed


def test_the_seeded_project_is_the_sample_sites_and_the_sample_datasets() -> None:
    tenants = _seeded()
    sample_site = site.load(site.sample())
    assert tenants[0]["projectCode"] == sample_site.project_code
    packaged = dataset.load(Path(fixtures.__file__).parent / "data" / "samples" / "dezhou-2018")
    assert packaged.projects[0].code == sample_site.project_code and packaged.today == dataset.DEMO_DAY
    assert sample_site.roster.generate is not None and sample_site.roster.generate.today == dataset.DEMO_DAY
