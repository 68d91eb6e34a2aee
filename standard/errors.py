"""Field errors and their rendering in the platform's message grammar (interface.md §5.3).

``[workerList][0][idCardNumber]不能为空!`` — a bracketed path, then the text; several errors are
joined with ``;``. Each error also carries a machine-readable ``kind`` so tests and conformance
checks can tell defects apart without parsing Chinese text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

# Texts quoted from the real server where known (§5.3); the rest follow the same style.
MISSING = "不能为空!"
FORMAT = "格式不正确!"
TYPE = "类型不正确!"
RANGE = "值超出范围或无效"
IMAGE_FORMAT = "格式无效,目前仅支持:jpg,jpeg,png,jpeg"
AREA_CODE = "参数值不正确,请参见行政区划字典表!"
FUTURE_DAY = "不能大于当天!"
FUTURE_TODAY = "不能大于今天!"
FUTURE_NOW = "不能大于当前时间!"  # a clock-in later than the platform's now
NUL = "不能包含NUL字符!"  # our text: a NUL byte is no character of the data standard
# Identity-number and credit-code defects (our texts; the platform's are not public).
ID_TEXTS = {
    "format": FORMAT,
    "area": "地区码不正确!",
    "birth_date": "出生日期不正确!",
    "check_digit": "校验位不正确!",
    "org_check_digit": "组织机构代码校验位不正确!",
}


def too_many(limit: int) -> str:
    return f"数量不能超过{limit}!"


def too_long(limit: int) -> str:
    return f"长度不能超过{limit}!"


def image_too_big(limit_kb: int) -> str:
    return f"大小超过限制{limit_kb}KB!"


def bad_code(table_label: str) -> str:
    return f"值不正确,请参见[{table_label}]字典表!"


@dataclass(frozen=True)
class FieldError:
    path: tuple[str | int, ...]
    kind: str
    text: str

    def render(self) -> str:
        return "".join(f"[{p}]" for p in self.path) + self.text

    def to_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "kind": self.kind, "message": self.render()}


def render(errors: Sequence[FieldError]) -> str:
    return ";".join(e.render() for e in errors)


def only_future_now(message: str) -> bool:
    """Every error of a rendered message is the "later than the platform's now" one: the platform's
    clock decides, so a record stamped by a clock a little ahead may be held and sent again."""
    parts = [p for p in message.split(";") if p.strip()]
    return bool(parts) and all(p.endswith(FUTURE_NOW) for p in parts)


class PayloadInvalid(ValueError):
    """A payload failed validation; ``str()`` is the platform-style message."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(render(self.errors))


_PYDANTIC_KINDS: dict[str, tuple[str, str]] = {
    "missing": ("missing", MISSING),
    "string_too_short": ("missing", MISSING),
    "list_type": ("type", TYPE),
    "model_type": ("type", TYPE),
    "dict_type": ("type", TYPE),
    "model_attributes_type": ("type", TYPE),
    "string_type": ("type", TYPE),
    "int_type": ("type", TYPE),
    "int_parsing": ("type", TYPE),
    "int_from_float": ("type", TYPE),
    "float_type": ("type", TYPE),
    "float_parsing": ("type", TYPE),
    "decimal_parsing": ("type", TYPE),
    "bool_type": ("type", TYPE),
    "finite_number": ("type", TYPE),
    "greater_than_equal": ("range", RANGE),
    "greater_than": ("range", RANGE),
    "less_than_equal": ("range", RANGE),
    "less_than": ("range", RANGE),
    "multiple_of": ("range", RANGE),
    "decimal_max_places": ("range", RANGE),
}


def from_validation_error(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    """Convert pydantic errors to FieldErrors, keeping only the first error per path."""
    result: list[FieldError] = []
    seen: set[tuple[str | int, ...]] = set()
    for err in exc.errors(include_url=False):
        path = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        if path in seen:
            continue
        seen.add(path)
        etype = err["type"]
        ctx = err.get("ctx") or {}
        if etype == "jzgr":
            if "field" in ctx:  # a model-level rule that names the field it is about
                path = (*path, str(ctx["field"]))
            result.append(FieldError(path, str(ctx["kind"]), str(ctx["text"])))
        elif etype == "too_long":
            if err["input"] is not None and isinstance(err["input"], list):
                result.append(FieldError(path, "too_many", too_many(int(ctx["max_length"]))))
            else:
                result.append(FieldError(path, "too_long", too_long(int(ctx["max_length"]))))
        elif etype == "too_short":
            result.append(FieldError(path, "missing", MISSING))
        elif etype == "string_too_long":
            result.append(FieldError(path, "too_long", too_long(int(ctx["max_length"]))))
        else:
            kind, text = _PYDANTIC_KINDS.get(etype, ("format", FORMAT))
            result.append(FieldError(path, kind, text))
    return result
