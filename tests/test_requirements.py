"""One vocabulary (issue 14): every rule has one ``REQ-…`` id in ``fixtures/data/requirements.yaml``;
simulator steps and conformance checks point at it, no id stands for two rules, and every clause
a requirement cites resolves in the index the repository ships."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest

from conformance import catalogue
from conformance.catalogue import all_checks
from simulator import checks as steps
from standard import requirements
from standard.requirements import BadRegistry, UnknownRequirement


def _registries() -> dict[str, dict[str, str]]:
    """What each registry's ids stand for, as ``requirements.collisions`` reads them."""
    return {
        "simulator steps": {rid: rid for ids in steps.ENFORCES.values() for rid in ids},
        "conformance checks": {c.id: c.requirement.id for c in all_checks().values()},
    }


def test_no_id_stands_for_two_rules() -> None:
    assert requirements.collisions(_registries()) == []


def test_the_collision_test_fails_on_the_old_vocabulary() -> None:
    # before issue 14 the simulator's ENV-04 was "unknown appid", the catalogue's "unknown method"
    old = {"simulator steps": {"ENV-04": "REQ-ENV-03"}, "conformance checks": {"ENV-04": "REQ-ENV-04"}}
    assert requirements.collisions(old) == ["ENV-04: conformance checks → REQ-ENV-04, simulator steps → REQ-ENV-03"]
    # a check named like a requirement it does not test
    assert requirements.collisions({"conformance checks": {"REQ-SIG-01": "REQ-SIG-02"}}) == [
        "REQ-SIG-01: conformance checks → REQ-SIG-02, requirements → REQ-SIG-01"
    ]
    assert requirements.collisions({"a": {"X-1": "REQ-SIG-01"}, "b": {"X-1": "REQ-SIG-01"}}) == []


def test_every_requirement_cites_clauses_that_resolve() -> None:
    registry = requirements.registry()
    assert len(registry) >= 40
    for req in registry.values():
        assert req.clauses, req.id
        assert all(clause.title for clause in req.clauses)
    assert [c.reference for c in requirements.get("REQ-SIG-02").clauses] == ["interface.md §3.1", "interface.md §3.2"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- {id: REQ-X-01, clause: interface.md " + "§99.1, statement: A rule., severity: must}", "99.1 does not"),
        ("- {id: REQ-X-01, clause: spec README, statement: A rule., severity: must}", "cites no clause"),
        ("- {id: X-01, clause: interface.md §3.1, statement: A rule., severity: must}", "ids start with REQ-"),
        ("- {id: REQ-X-01, clause: interface.md §3.1, statement: A rule., severity: may}", "severity is must or"),
        ("- {id: REQ-X-01, clause: interface.md §3.1, statement: A rule., severity: must}\n" * 2, "defined twice"),
    ],
)
def test_a_broken_registry_is_refused(text: str, problem: str) -> None:
    with pytest.raises(BadRegistry, match=problem):
        requirements.parse("requirements:\n" + textwrap.indent(text, "  "))


def test_every_requirement_is_tested_or_says_why_not() -> None:
    tested = {c.requirement.id for c in all_checks().values()}
    problems = []
    for req in requirements.registry().values():
        if req.id in tested and req.not_tested:
            problems.append(f"{req.id}: tested by a check, yet says it is not tested")
        if req.id not in tested and not req.not_tested:
            problems.append(f"{req.id}: neither a check nor a not_tested reason")
    assert problems == []


def test_checks_inherit_clause_and_severity_from_their_requirement() -> None:
    check = all_checks()["SIG-02"]
    assert check.requirement.id == "REQ-SIG-02" and check.clause == check.requirement.clause
    assert all_checks()["NONCE-01"].severity == "should" == requirements.get("REQ-NONCE-01").severity
    assert all(c.statement.endswith(".") for c in all_checks().values())


def test_a_check_must_name_a_known_requirement_and_not_a_requirement_id() -> None:
    with pytest.raises(UnknownRequirement):
        catalogue.check("ZZZ-01", "A check.", requirement="REQ-NOPE-01", area="zzz")
    with pytest.raises(ValueError, match="ids are requirements"):
        catalogue.check("REQ-SIG-01", "A check.", requirement="REQ-SIG-01", area="zzz")


def test_every_simulator_step_declares_what_it_enforces() -> None:
    assert set(steps.ENFORCES) == set(steps.CHAIN)
    constants = {name: value for name, value in vars(steps).items() if isinstance(value, str)}
    for step, declared in steps.ENFORCES.items():
        tree = ast.parse(textwrap.dedent(inspect.getsource(step)))
        used = []
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "Reject" and len(node.args) == 3:
                used.append(node.args[2])
            elif name == "passed":
                used.append(node.args[0])
        for arg in used:
            assert isinstance(arg, ast.Name), f"{step.__name__}: an id not taken from the registry table"
            assert constants[arg.id] in declared, f"{step.__name__}: {arg.id} not in its ENFORCES row"


@pytest.mark.parametrize(
    ("method", "kind", "path", "requirement"),
    [
        ("ProjectWorker.Add", "missing", ("workerList", 0, "headImage"), "REQ-FMT-01"),
        ("ProjectWorker.Add", "check_digit", ("workerList", 0, "idCardNumber"), "REQ-FMT-02"),
        ("ProjectWorker.Add", "area", ("workerList", 0, "idCardNumber"), "REQ-FMT-02"),
        ("Project.Add", "area", ("areaCode",), "REQ-FMT-05"),
        ("WorkerEntryExit.Add", "format", ("workerList", 0, "date"), "REQ-FMT-04"),
        ("ProjectWorker.Add", "too_many", ("workerList",), "REQ-LIM-01"),
        ("WorkerAttendance.Add", "too_many", ("dataList",), "REQ-LIM-02"),
        ("Payroll.Add", "too_many", ("detailList",), "REQ-LIM-03"),
        ("WorkerAttendance.Add", "future", ("dataList", 0, "date"), "REQ-RULE-05"),
        ("Team.Add", "too_long", ("teamName",), "REQ-ENV-06"),
    ],
)
def test_a_refused_payload_is_logged_under_the_requirement_it_breaks(
    method: str, kind: str, path: tuple[str | int, ...], requirement: str
) -> None:
    assert requirements.breached_by(method, kind, path) == requirement
    assert requirements.get(requirement)  # and that requirement is in the registry
