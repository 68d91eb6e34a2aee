"""ARCHITECTURE.md's table of folders says what each may import; it stays true: no package
imports a part of ours its row does not list, and no row lists what import-linter forbids."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rows() -> dict[str, set[str]]:
    """Folder → the packages its row says it may import (``everything`` → every root package)."""
    roots = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["root_packages"]
    )
    rows = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)/`", cells[0]) if len(cells) == 3 else None
        if match:
            allowed = cells[2].split(";")[0]
            rows[match.group(1)] = roots if allowed == "everything" else set(re.findall(r"`(\w+)`", allowed))
    return rows


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_every_package_imports_only_what_its_row_allows() -> None:
    rows = _rows()
    assert {"standard", "fixtures", "platform_client", "simulator", "conformance", "hardware_sim", "jzgr"} <= set(rows)
    ours = set(rows) | {"loadtests", "vendor"}
    for package, allowed in rows.items():
        assert (_imports(package) & ours) - {package} <= allowed, package


def test_no_row_allows_what_import_linter_forbids() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"
    ]
    rows = _rows()
    for contract in contracts:
        for source in contract["source_modules"]:
            assert not rows[source] & set(contract["forbidden_modules"]), (source, contract["name"])
