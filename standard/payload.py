"""Whole-payload operations driven by the models' field markers: match the received keys to the
standard's field names (one rule for the whole pipeline), encrypt and decrypt every ``ENCRYPTED``
field (recursively through nested objects and lists), and the full parse pipeline a server
applies to a received ``data`` string."""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from standard import crypto, errors
from standard.fields import Encrypted
from standard.profile import STRICT, Profile

M = TypeVar("M", bound=BaseModel)
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldShape:
    encrypted: bool = False
    child: type[BaseModel] | None = None  # nested object, or item model of a list
    is_list: bool = False


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip Optional/Annotated; return the core type and whether it is a list."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else (annotation, False)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is list:
        inner, _ = _unwrap(typing.get_args(annotation)[0])
        return inner, True
    return annotation, False


@cache
def shape(model: type[BaseModel]) -> dict[str, FieldShape]:
    result: dict[str, FieldShape] = {}
    for name, info in model.model_fields.items():
        encrypted = any(isinstance(m, Encrypted) for m in info.metadata)
        core, is_list = _unwrap(info.annotation)
        if not encrypted:
            # Markers nested in an Annotated alias inside Optional are not lifted into metadata.
            encrypted = _has_marker(info.annotation)
        child = core if isinstance(core, type) and issubclass(core, BaseModel) else None
        if encrypted or child is not None:
            result[name] = FieldShape(encrypted=encrypted, child=child, is_list=is_list)
    return result


def _has_marker(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        return any(isinstance(m, Encrypted) for m in meta) or _has_marker(base)
    if origin in (typing.Union, types.UnionType):
        return any(_has_marker(a) for a in typing.get_args(annotation))
    return False


@dataclass(frozen=True, slots=True)
class KeyNote:
    """A received key that is not a field name of the standard, and what became of it:
    ``ignored`` (no field is near it), ``near-miss`` (ignored, but ``standard`` is close) or
    ``case-matched`` (read as ``standard``, keys being matched case-insensitively)."""

    path: Path  # ending with the key as received
    kind: str
    standard: str | None = None

    def render(self) -> str:
        where = "".join(f"[{p}]" for p in self.path)
        if self.kind == "case-matched":
            return f"{where} read as {self.standard}"
        if self.kind == "near-miss":
            return f"{where} ignored: did you mean {self.standard}?"
        return f"{where} ignored: not a field of this method"

    def to_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "kind": self.kind, "standard": self.standard, "text": self.render()}


def render_key_notes(notes: list[KeyNote]) -> str:
    return "; ".join(n.render() for n in notes)


@dataclass(frozen=True, slots=True)
class _KeyPlan:
    """What key matching needs of one model, computed once."""

    names: frozenset[str]
    by_lower: dict[str, str]
    # (field name, child model, is a list, the child's names when it has no children of its own)
    children: tuple[tuple[str, type[BaseModel], bool, frozenset[str] | None], ...]


_PLANS: dict[type[BaseModel], _KeyPlan] = {}


def _plan(model: type[BaseModel]) -> _KeyPlan:
    plan = _PLANS.get(model)
    if plan is None:
        children = tuple(
            (name, fs.child, fs.is_list, _flat_names(fs.child))
            for name, fs in shape(model).items()
            if fs.child is not None
        )
        names = frozenset(model.model_fields)
        plan = _PLANS[model] = _KeyPlan(names, {n.lower(): n for n in names}, children)
    return plan


def _flat_names(model: type[BaseModel]) -> frozenset[str] | None:
    return None if any(fs.child for fs in shape(model).values()) else frozenset(model.model_fields)


def match_keys(model: type[BaseModel], data: Any, *, case_insensitive: bool) -> tuple[Any, list[KeyNote]]:
    """The one key rule of the pipeline: ``data`` with every key that is not a field name of
    ``model`` (recursively) either renamed to that name (a case-only difference, when
    ``case_insensitive``) or left out, and a note for each such key. Decryption, validation and
    storage then see only the standard's names."""
    notes: list[KeyNote] = []
    return _match(model, data, case_insensitive, (), notes), notes


def _match(model: type[BaseModel], data: Any, ci: bool, path: Path, notes: list[KeyNote]) -> Any:
    if not isinstance(data, dict):
        return data
    plan = _PLANS.get(model) or _plan(model)
    out = data if data.keys() <= plan.names else _rekey(plan, data, ci, path, notes)  # the check in C
    for name, child, is_list, flat in plan.children:
        value = out.get(name)
        if is_list and isinstance(value, list):
            if flat is not None:  # items without nested objects (attendance records): all keys at once, in C
                try:
                    if set().union(*value) <= flat:
                        continue
                except TypeError:  # an item that is not an object: the slow path below says so
                    pass
            items = [_match(child, item, ci, (*path, name, i), notes) for i, item in enumerate(value)]
            out = out if out is not data else dict(data)
            out[name] = items
        elif not is_list and isinstance(value, dict):
            out = out if out is not data else dict(data)
            out[name] = _match(child, value, ci, (*path, name), notes)
    return out


def _rekey(plan: _KeyPlan, data: dict[Any, Any], ci: bool, path: Path, notes: list[KeyNote]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in data.items():
        if key in plan.names:
            out[key] = value
            continue
        text = str(key)
        standard = plan.by_lower.get(text.lower())
        if standard is not None and ci and standard not in data and standard not in out:
            out[standard] = value
            notes.append(KeyNote((*path, text), "case-matched", standard))
            continue
        if standard is None:
            close = difflib.get_close_matches(text, plan.names, n=1, cutoff=0.8)
            standard = close[0] if close else None
        notes.append(KeyNote((*path, text), "near-miss" if standard else "ignored", standard))
    return out


def encrypted_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of every encrypted field (``workerList[].idCardNumber``), for docs and checks."""
    paths: list[str] = []
    for name, fs in shape(model).items():
        here = f"{prefix}{name}"
        if fs.encrypted:
            paths.append(here)
        if fs.child is not None:
            paths.extend(encrypted_paths(fs.child, here + ("[]." if fs.is_list else ".")))
    return paths


Transform = Callable[[str, Path], str]


def transform(
    model: type[BaseModel], data: Any, fn: Transform, *, case_insensitive: bool = False, path: Path = ()
) -> Any:
    """Return a copy of ``data`` with ``fn`` applied to each string in an encrypted field."""
    if not isinstance(data, dict):
        return data
    fields = shape(model)
    out = dict(data)
    if case_insensitive:
        lookup = {k.lower(): v for k, v in fields.items()}
        relevant = [(key, value, lookup.get(str(key).lower())) for key, value in data.items()]
    else:  # only the few keys that hold encrypted fields or nested objects are visited
        relevant = [(key, data.get(key), fs) for key, fs in fields.items()]
    for key, value, fs in relevant:
        if fs is None or value is None:
            continue
        if fs.encrypted and isinstance(value, str) and value != "":
            out[key] = fn(value, (*path, key))
        elif fs.child is not None:
            if fs.is_list and isinstance(value, list):
                out[key] = [
                    transform(fs.child, item, fn, case_insensitive=case_insensitive, path=(*path, key, i))
                    for i, item in enumerate(value)
                ]
            elif not fs.is_list:
                out[key] = transform(fs.child, value, fn, case_insensitive=case_insensitive, path=(*path, key))
    return out


def encrypt(
    model: type[BaseModel], data: Any, secret: str, variant: crypto.AesVariant = crypto.AesVariant.STANDARD
) -> Any:
    """Encrypt every encrypted field, matching keys case-insensitively: a key that differs from an
    encrypted field's name only in case (a stored ``teamLeaderIdNumber`` in a row whose standard
    spelling is ``teamLeaderIDNumber``) is encrypted too, so no number goes out in plaintext
    because of its key's spelling."""
    return transform(model, data, lambda v, _p: crypto.encrypt(v, secret, variant), case_insensitive=True)


DECRYPT_FAILED = "解密失败,请使用AES-256-CBC加密!"


def decrypt(
    model: type[BaseModel], data: Any, secret: str, *, profile: Profile = STRICT, keys_matched: bool = False
) -> tuple[Any, list[errors.FieldError]]:
    """Decrypt every encrypted field; undecryptable values become FieldErrors (kind ``decrypt``).
    Keys are matched as the profile says unless ``keys_matched`` (by ``match_keys`` already)."""
    failures: list[errors.FieldError] = []

    def fn(value: str, p: Path) -> str:
        try:
            if profile.aes128_fallback:
                return crypto.decrypt_lenient(value, secret)[0]
            return crypto.decrypt(value, secret)
        except (crypto.DecryptError, ValueError):
            failures.append(errors.FieldError(p, "decrypt", DECRYPT_FAILED))
            return value

    case_insensitive = profile.case_insensitive_keys and not keys_matched
    return transform(model, data, fn, case_insensitive=case_insensitive), failures


def validate(model: type[M], data: Any, *, profile: Profile = STRICT, now: datetime | None = None) -> M:
    """Validate plaintext data; raise PayloadInvalid with platform-grammar errors."""
    context: dict[str, Any] = {"profile": profile}
    if now is not None:
        context["now"] = now
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise errors.PayloadInvalid(errors.from_validation_error(exc)) from None
    except RecursionError:
        raise errors.PayloadInvalid([errors.FieldError(("data",), "format", errors.FORMAT)]) from None


def load_json(text: str) -> Any:
    """Parse the ``data`` parameter; PayloadInvalid when it is not a JSON object."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise errors.PayloadInvalid([errors.FieldError(("data",), "format", errors.FORMAT)]) from None
    if not isinstance(value, dict):
        raise errors.PayloadInvalid([errors.FieldError(("data",), "type", errors.TYPE)])
    return value


def parse(
    model: type[M],
    data_text: str,
    secret: str,
    *,
    profile: Profile = STRICT,
    now: datetime | None = None,
    normalise: Callable[[Any], Any] | None = None,
    key_notes: list[KeyNote] | None = None,
) -> M:
    """Server pipeline: JSON → (flat-form normalisation) → key matching → decrypt → validate.
    The notes of key matching are appended to ``key_notes`` (before any PayloadInvalid)."""
    raw = load_json(data_text)
    if normalise is not None:
        raw = normalise(raw)
    raw, notes = match_keys(model, raw, case_insensitive=profile.case_insensitive_keys)
    if key_notes is not None:
        key_notes.extend(notes)
    plain, failures = decrypt(model, raw, secret, profile=profile, keys_matched=True)
    if failures:
        raise errors.PayloadInvalid(failures)
    return validate(model, plain, profile=profile, now=now)
