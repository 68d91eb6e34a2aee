"""The template engine of the callback terminal, pure: placeholders rendered into bodies, dotted paths
read out of answers, and the comparisons an acknowledgement rule makes."""

from __future__ import annotations

import json
import string
from typing import Any

import httpx


def render(value: Any, context: dict[str, Any]) -> Any:
    """Fill placeholders. A string that is exactly one placeholder keeps the value's type (numbers
    stay numbers, ``None`` becomes null); otherwise placeholders are formatted into the text."""
    if isinstance(value, str):
        parsed = list(string.Formatter().parse(value))
        if len(parsed) == 1 and parsed[0][0] == "" and parsed[0][1] and not parsed[0][2] and not parsed[0][3]:
            return context.get(parsed[0][1])
        if not any(name for _, name, _, _ in parsed):
            return value.replace("{{", "{").replace("}}", "}")
        safe = {k: ("" if v is None else v) for k, v in context.items()}
        return value.format_map(safe)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def dig(data: Any, path: str) -> Any:
    """``a.b.c`` in nested dicts; a string holding JSON (form fields often do) is parsed on the way."""
    current = data
    for part in path.split("."):
        if isinstance(current, str):
            try:
                current = json.loads(current)
            except ValueError:
                return None
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def same(actual: Any, expected: Any) -> bool:
    if actual == expected and type(actual) is type(expected):
        return True
    return actual is not None and str(actual).lower() == str(expected).lower()


def form_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def json_of(response: httpx.Response | None) -> Any:
    if response is None:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def summarise(value: Any) -> Any:
    """Journal view: long strings (Base64 photos) shown by length."""
    if isinstance(value, str):
        return value if len(value) <= 200 else f"<{len(value)} chars>"
    if isinstance(value, dict):
        return {k: summarise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [summarise(v) for v in value]
    return value


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
