"""Traceability: every requirement is covered by existing checks or says why it is not tested,
and every check traces back to a requirement."""

from __future__ import annotations

from importlib.resources import files

import yaml

from conformance.catalogue import all_checks


def _requirements() -> list[dict[str, object]]:
    doc = yaml.safe_load(files("conformance").joinpath("requirements.yaml").read_text(encoding="utf-8"))
    items = doc["requirements"]
    assert isinstance(items, list)
    return items


def test_every_requirement_has_checks_or_a_reason() -> None:
    checks = all_checks()
    problems = []
    for req in _requirements():
        covered = req.get("checks") or []
        reason = str(req.get("not_tested") or "").strip()
        if not covered and not reason:
            problems.append(f"{req['id']}: neither checks nor a not_tested reason")
        for check_id in covered:  # type: ignore[union-attr]
            if check_id not in checks:
                problems.append(f"{req['id']}: check {check_id} does not exist")
    assert problems == []


def test_every_check_traces_to_a_requirement() -> None:
    referenced = {c for req in _requirements() for c in (req.get("checks") or [])}  # type: ignore[union-attr]
    assert set(all_checks()) - referenced == set()


def test_requirement_ids_are_unique_and_carry_a_clause() -> None:
    reqs = _requirements()
    ids = [r["id"] for r in reqs]
    assert len(ids) == len(set(ids))
    assert all(str(r.get("clause", "")).strip() for r in reqs)


def test_every_check_names_its_clause_and_severity() -> None:
    for check in all_checks().values():
        assert check.clause and check.severity in ("must", "should") and check.statement.endswith(".")
