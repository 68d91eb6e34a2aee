"""The credentials file (what ``jzgr sim serve --credentials-out`` writes and every ``--credentials
FILE`` reads): one pydantic model for the simulator that writes it and each tool that reads it,
and a one-line ``CredentialsError`` naming the file and what is wrong with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.dataclasses import dataclass

SHAPE = 'a JSON object {"url": …, "tenants": [{"appid": …, "appsecret": …}, …]}'
# Readers ignore what they do not use (the admin API adds "disabled" and "projects" to entries);
# an appid written as a JSON number still reads as the digits it is.
_LENIENT = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


@dataclass(frozen=True, config=_LENIENT)
class TenantCredentials:
    """One tenant's entry: what a client needs to sign, and what a conformance run needs to know."""

    appid: Annotated[str, Field(min_length=1)]
    appsecret: Annotated[str, Field(min_length=1)]
    mode: str = "project"  # or "enterprise"
    projectCode: str = ""
    corpCode: str = ""
    corpName: str = ""
    corpKey: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "appid": self.appid,
            "appsecret": self.appsecret,
            "mode": self.mode,
            "projectCode": self.projectCode,
            "corpCode": self.corpCode,
            "corpName": self.corpName,
        }
        if self.corpKey:
            out["corpKey"] = self.corpKey
        return out


class CredentialsFile(BaseModel):
    model_config = _LENIENT | ConfigDict(frozen=True)

    url: str = ""  # the platform's open.api URL
    tenants: list[TenantCredentials]

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "tenants": [t.to_json() for t in self.tenants]}

    def tenant(self, appid: str | None) -> TenantCredentials | None:
        """The tenant with ``appid``, or the first when ``appid`` is None."""
        return next((t for t in self.tenants if appid in (None, t.appid)), None)


class CredentialsError(ValueError):
    """The file cannot be used; the message names it and what is wrong. ``readable`` is False when
    the file could not be read at all (``reason`` is then the system's words)."""

    def __init__(self, message: str, *, reason: str, readable: bool = True) -> None:
        super().__init__(message)
        self.reason = reason
        self.readable = readable


def load(path: Path) -> CredentialsFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CredentialsError(f"cannot read {path}: {reason}", reason=reason, readable=False) from None
    return parse(text, str(path))


def parse(text: str, source: str) -> CredentialsFile:
    """The credentials in ``text`` (read from ``source``, which the errors name)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise CredentialsError(f"{source} is not JSON: {exc}", reason=f"not JSON: {exc}") from None
    try:
        return CredentialsFile.model_validate(obj)
    except ValidationError as exc:
        reason = _first_problem(obj, exc)
        raise CredentialsError(f"{source}{reason}", reason=reason.lstrip(": ")) from None


def _first_problem(obj: Any, exc: ValidationError) -> str:
    """The first thing wrong, in the file's own terms (appended to the file's name)."""
    if not isinstance(obj, dict):
        return f" holds a JSON {type(obj).__name__}; it must be {SHAPE}"
    error = exc.errors()[0]
    loc = error["loc"]
    if loc[0] == "url":
        return ': "url" must be a string (the platform\'s open.api URL)'
    if len(loc) == 1:
        return f' has no "tenants" list; it must be {SHAPE}'
    index = loc[1]
    if len(loc) == 2:
        return f": tenants[{index}] is not an object with appid and appsecret"
    missing = [
        str(e["loc"][2])
        for e in exc.errors()
        if e["loc"][:2] == loc[:2] and e["type"] in ("missing", "string_too_short")
    ]
    if missing:
        return f": tenants[{index}] has no {' or '.join(missing)}"
    return f": tenants[{index}].{loc[2]} must be a string ({error['msg']})"
