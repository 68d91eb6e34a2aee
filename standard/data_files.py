"""Locate and load the JSON data files the project ships in ``fixtures/data``."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def load_json(name: str) -> Any:
    """Load ``fixtures/data/<name>`` (parsed once per process)."""
    return json.loads(files("fixtures").joinpath("data", name).read_text(encoding="utf-8"))
