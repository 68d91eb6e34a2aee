"""The ``jzgr`` console command: mounts the commands of each part.

Each part's commands are imported only when they are run (``main`` mounts the group named on the
command line), so ``jzgr sim serve`` starts without loading the conformance plan or the fuzzer."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from jzgr import __version__

_root = typer.Typer(
    help="Conformance harness for the national construction-worker platform (open.api).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# group name → (module, attribute) of its typer app
GROUPS: dict[str, tuple[str, str]] = {
    "standard": ("standard.cli", "app"),
    "client": ("platform_client.cli", "app"),
    "fixtures": ("fixtures.fake.cli", "app"),
    "sim": ("simulator.cli", "app"),
    "conform": ("conformance.cli", "conform_app"),
    "report": ("conformance.cli", "report_app"),
    "devices": ("hardware_sim.cli", "app"),
}
_mounted: set[str] = set()


def mount(*names: str) -> typer.Typer:
    """Add the named groups (all when none is named) to the root command; return it."""
    for name in names or tuple(GROUPS):
        if name in GROUPS and name not in _mounted:
            module, attribute = GROUPS[name]
            _root.add_typer(getattr(importlib.import_module(module), attribute), name=name)
            _mounted.add(name)
    return _root


def main() -> None:
    """Console entry point: mount only the group being run (all of them for help)."""
    words = [w for w in sys.argv[1:] if not w.startswith("-")]
    mount(*([words[0]] if words and words[0] in GROUPS else []))
    _root()


@_root.command()
def demo(
    out: Annotated[Path, typer.Option(help="where to write the dataset and summary")] = Path("out/demo"),
    seed: Annotated[int, typer.Option(help="dataset seed")] = 2018,
    workers: Annotated[int, typer.Option(min=1, help="number of workers")] = 60,
) -> None:
    """Run the demo on the embedded default: a Dezhou dataset through the whole upload pipeline."""
    from jzgr import demo as demo_job

    raise typer.Exit(0 if demo_job.run(out, seed, workers) else 1)


@_root.command()
def version() -> None:
    """Print the tool version."""
    typer.echo(__version__)


def __getattr__(name: str) -> typer.Typer:
    # ``from jzgr.cli import app`` (tests, embedding) gets the complete command.
    if name == "app":
        return mount()
    raise AttributeError(name)
