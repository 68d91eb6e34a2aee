"""Base classes shared by every payload model."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from standard import errors
from standard.fields import Str, blob, profile_of


class WireModel(BaseModel):
    """A JSON object inside ``data``. Field names are the wire names, exactly as published.

    Unknown keys are ignored (the platform ignores unknown fields). ``null`` and ``""`` count as
    absent, so a required field sent empty is "不能为空!". Numbers are accepted where strings are
    declared (Java servers coerce them), and the lenient profile matches keys case-insensitively.
    """

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, validate_default=False, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _normalise_keys(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        lenient_keys = profile_of(info).case_insensitive_keys
        values = data.values()
        if not lenient_keys and None not in values and "" not in values:
            return data  # the usual case, checked in C: nothing to drop or rename
        cleaned = {k: v for k, v in data.items() if v is not None and v != ""}
        if lenient_keys:
            by_lower = {name.lower(): name for name in cls.model_fields}
            cleaned = {by_lower.get(str(k).lower(), k): v for k, v in cleaned.items()}
        return cleaned

    def wire(self) -> dict[str, Any]:
        """The payload as it goes on the wire (absent fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def require(field: str, condition: str) -> None:
    """Raise a 'missing' error for a conditionally required field (path = that field)."""
    raise PydanticCustomError(
        "jzgr", "{text}", {"kind": "missing", "text": errors.MISSING, "field": field, "condition": condition}
    )


class Attachment(WireModel):
    """``{name, data}``: a file inline as Base64, at most 1 MB (data.md §3.1)."""

    name: Annotated[Str, Field(max_length=200)]
    data: Annotated[Str, blob(1024)]


class QueryRequest(WireModel):
    """Every ``.Query`` method pages: ``pageIndex`` 0-based, ``pageSize`` at most 50 (§7)."""

    pageIndex: Annotated[int, Field(ge=0, le=1_000_000)]
    pageSize: Annotated[int, Field(ge=1, le=50)]


class Row(BaseModel):
    """A query-response row: everything optional, unknown keys kept."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, defer_build=True)


class Page(BaseModel):
    """Query response ``data``: ``{pageIndex, pageSize, totalCount, rows}``."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    pageIndex: int
    pageSize: int
    totalCount: int
    rows: list[dict[str, Any]]
