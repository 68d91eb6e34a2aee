"""Shared fixtures for the virtual-device tests: a journal and a few fake workers with faces."""

from __future__ import annotations

import random
from datetime import date

import pytest

from fixtures.fake.people import Person, faker_for, person
from hardware_sim.journal import Journal


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture(scope="session")
def people() -> list[Person]:
    rng = random.Random(6)
    fake = faker_for(6)
    return [person(rng, fake, date(2026, 11, 1)) for _ in range(6)]
