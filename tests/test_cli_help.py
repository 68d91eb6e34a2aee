"""Every command and option of ``jzgr`` (every group, the root's own commands and options) says
what it is in ``--help``; choices are offered as choices; the credentials file has one name."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from jzgr.cli import GROUPS, mount


def _commands(command: Any, path: str) -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, f"{path} {name}")
    return found


def _all() -> list[tuple[str, Any]]:
    root = typer.main.get_command(mount())
    found = _commands(root, "jzgr")
    assert {path.split()[1] for path, _ in found if " " in path} >= set(GROUPS) | {"demo", "version"}
    return found


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, command in _all():
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if getattr(param, "hidden", False) or param.name == "help":
                continue
            if not getattr(param, "help", None):
                missing.append(f"{path} {param.opts[0] if param.param_type_name == 'option' else param.name}")
    assert missing == []


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["sim", "serve", "--profile", "x"], "'strict', 'lenient'"),
        (["sim", "serve", "--server", "x"], "'granian', 'uvicorn'"),
        (["standard", "validate", "Team.Add", "--data", "t.json", "--profile", "x"], "'strict', 'lenient'"),
        (["devices", "scenario", "x"], "'morning', 'lunch', 'evening', 'day'"),
        (["devices", "scenario", "day", "--stamp", "x"], "'wall', 'scenario'"),
    ],
)
def test_choices_are_offered_and_checked(jzgr: Any, args: list[str], choices: str) -> None:
    ran = jzgr(*args)
    assert ran.code == 2 and choices in ran.error_line()
    assert choices.replace("'", "").replace(", ", "|") in jzgr(*args[:2], "--help").out


def test_the_credentials_file_is_called_credentials(jzgr: Any) -> None:
    ran = jzgr("client", "call", "--help")
    assert ran.code == 0 and "--credentials" in ran.out and "--tenant-file" not in ran.out


def test_the_scenario_choices_are_the_fleets_scenarios() -> None:
    from hardware_sim.cli import ScenarioName
    from hardware_sim.scenarios import SCENARIOS

    assert [s.value for s in ScenarioName] == list(SCENARIOS)


def test_no_command_shows_an_old_name_of_the_credentials_option() -> None:
    shown = [
        f"{path} {opt}"
        for path, command in _all()
        for param in command.params
        if not getattr(param, "hidden", False)
        for opt in param.opts
        if opt in ("--tenant-file", "--creds", "--tenants")
    ]
    assert shown == []
