"""Locate and load the data files the project ships in ``fixtures/data``."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


def load_text(name: str) -> str:
    """The text of ``fixtures/data/<name>``."""
    return files("fixtures").joinpath("data", name).read_text(encoding="utf-8")


@cache
def load_json(name: str) -> Any:
    """Load ``fixtures/data/<name>`` (parsed once per process)."""
    return json.loads(load_text(name))
