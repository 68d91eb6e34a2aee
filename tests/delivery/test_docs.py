"""The handbook builds with mkdocs in strict mode, and its generated pages (CLI reference, check
catalogue) are what the code generates now."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mkdocs_build_strict_passes(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    ran = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()
    assert (tmp_path / "site" / "paths" / "vendor" / "index.html").is_file()


def test_generated_pages_are_current() -> None:
    generate = _script("generate-docs")
    for name, render in generate.PAGES.items():
        committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == render(), f"docs/{name} is stale: run python scripts/generate-docs.py"


def test_a_stale_page_is_caught(tmp_path: Path, monkeypatch: object) -> None:
    generate = _script("generate-docs")
    for name in generate.PAGES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("old\n", encoding="utf-8")
    generate.DOCS = tmp_path
    assert generate.main(["--check"]) == 1
    assert generate.main([]) == 0 and generate.main(["--check"]) == 0


def test_the_cli_reference_lists_every_mounted_group() -> None:
    from jzgr.cli import GROUPS

    page = (ROOT / "docs/reference/cli.md").read_text(encoding="utf-8")
    for group in GROUPS:
        assert f"## `jzgr {group}`" in page


def test_nav_pages_of_other_branches_are_dropped_while_absent(tmp_path: Path) -> None:
    hooks = _script("mkdocs_hooks")
    (tmp_path / "index.md").write_text("# home\n")
    (tmp_path / "loadtests.md").write_text("# load\n")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    kept = hooks.on_config({"nav": nav, "docs_dir": str(tmp_path)})["nav"]
    assert kept == [{"Home": "index.md"}, {"Running it": [{"Load tests": "loadtests.md"}]}]
