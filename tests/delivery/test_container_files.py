"""The Dockerfile and compose.yaml, checked without a Docker engine: hadolint (its PyPI package),
the compose specification's JSON schema (vendored in check-jsonschema), and every jzgr command in
compose.yaml parsed by the jzgr command itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from jzgr.cli import GROUPS, main, mount

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed (the dev extra has it)"
    return found


def test_hadolint_passes_the_dockerfile() -> None:
    ran = subprocess.run([_tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install gcc\n")
    ran = subprocess.run([_tool("hadolint"), str(bad)], capture_output=True, text=True)
    assert ran.returncode != 0 and "DL3007" in ran.stdout  # proves the check can fail


def test_the_image_is_multi_stage_slim_non_root_with_healthcheck_and_volume() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2 and all("-slim" in line for line in froms)
    final = lines[lines.index(froms[-1]) :]
    assert not any("apt-get" in line or "gcc" in line for line in final)  # no build tools in the final layer
    user = next(line for line in final if line.startswith("USER "))
    assert user.split()[1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK ") for line in final)
    assert 'VOLUME ["/out"]' in final and 'ENTRYPOINT ["jzgr"]' in final


def _check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    command = [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True)


def test_compose_matches_the_compose_specification() -> None:
    ran = _check_compose(ROOT / "compose.yaml")
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_compose_check_fails_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  sim:\n    image: jzgr\n    restart: sometimes\n    portz: [8700]\n")
    assert _check_compose(bad).returncode != 0


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_compose_runs_every_role_from_the_one_image() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    roles = {name: s["command"][:2] for name, s in services.items() if s.get("image") == "jzgr:latest"}
    assert roles == {
        "simulator": ["sim", "serve"],
        "devices": ["devices", "up"],
        "vendor": ["vendor", "serve"],
        "locust-master": ["load", "platform"],
        "locust-worker": ["load", "worker"],
    }
    assert services["locust-worker"]["deploy"]["replicas"] >= 2


@pytest.mark.parametrize("service", ["simulator", "devices", "vendor", "locust-master", "locust-worker"])
def test_the_compose_commands_parse(service: str) -> None:
    """Each service's command is a valid jzgr command line (parsed, not run); the vendor and load
    groups are checked as soon as they are mounted in jzgr.cli."""
    args: list[str] = _compose()["services"][service]["command"]
    if args[0] not in GROUPS:
        pytest.skip(f"`jzgr {args[0]}` is not in this tree yet")
    group = typer.main.get_command(mount(args[0])).commands[args[0]]  # type: ignore[attr-defined]
    command = group.commands[args[1]]
    with command.make_context(f"jzgr {args[0]} {args[1]}", list(args[2:])) as ctx:
        assert ctx.params


def test_the_compose_site_file_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["devices", "check", "--config", str(ROOT / "docs/examples/compose-site.yaml")])
    assert ended.value.code == 0, capsys.readouterr().err
