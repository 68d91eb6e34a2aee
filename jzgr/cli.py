"""The ``jzgr`` console command: mounts the commands of each part.

Each part's commands are imported only when they are run (``main`` mounts the group named on the
command line), so ``jzgr sim serve`` starts without loading the conformance plan or the fuzzer."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from jzgr import __version__
from standard import terminal

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
    "vendor": ("vendor.cli", "app"),
    "load": ("loadtests.cli", "app"),
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


# click's error classes, wherever this typer keeps click (vendored since typer 0.29)
_UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_debug = False  # set by ``--debug``: let exceptions through with their traceback


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"jzgr {__version__}")
        raise typer.Exit(0)


@_root.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", envvar="JZGR_DEBUG", help="show the traceback of an error instead of one line")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """Conformance harness for the national construction-worker platform (open.api).

    Exit codes: 0 done (conformant), 1 not conformant, 2 bad usage or input, 3 environment
    (port in use, service unreachable), 4 a bug in jzgr."""
    global _debug
    _debug = debug


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: mount only the group being run (all of them for help), run it, and
    turn every failure into one line and its exit code (standard.terminal)."""
    args = list(sys.argv[1:] if argv is None else argv)
    words = [w for w in args if not w.startswith("-")]
    mount(*([words[0]] if words and words[0] in GROUPS else []))
    command = typer.main.get_command(_root)
    try:
        code = command.main(args, prog_name="jzgr", standalone_mode=False)
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click shows it
            exc.show()  # type: ignore[attr-defined]
            raise SystemExit(terminal.BAD_INPUT) from None
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        print(f"error: {exc.format_message()}{where}", file=sys.stderr)  # type: ignore[attr-defined]
        raise SystemExit(terminal.BAD_INPUT) from None
    except _ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)  # type: ignore[attr-defined]
        raise SystemExit(terminal.BAD_INPUT) from None
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except terminal.Problem as problem:
        if _debug:
            raise
        terminal.fail(problem)
    except Exception as exc:
        if _debug:
            raise
        print(
            f"error: internal error ({type(exc).__name__}: {exc}); `jzgr --debug …` shows where — please report it",
            file=sys.stderr,
        )
        raise SystemExit(terminal.INTERNAL) from None
    raise SystemExit(code if isinstance(code, int) else 0)


@_root.command()
def demo(
    out: Annotated[Path, typer.Option(help="where to write the dataset and summary")] = Path("out/demo"),
    seed: Annotated[int, typer.Option(help="dataset seed")] = 2018,
    workers: Annotated[int, typer.Option(min=1, help="number of workers")] = 60,
    today: Annotated[
        str | None,
        typer.Option(help="the day (YYYY-MM-DD, Beijing) the data is generated for; default: today in Beijing"),
    ] = None,
    client: Annotated[
        bool, typer.Option(help="also certify the reference vendor with the client plan (its own processes)")
    ] = True,
) -> None:
    """Run the demo on the embedded default: a Dezhou dataset through the whole upload pipeline,
    the mock platform served, uploaded to and certified, then the reference vendor certified with
    the client plan against the Dezhou site's gates. Exit 1 when anything is wrong."""
    from datetime import date

    from jzgr import demo as demo_job

    try:
        day = date.fromisoformat(today) if today is not None else None
    except ValueError:
        raise typer.BadParameter(f"{today!r} is not a date; use YYYY-MM-DD", param_hint="--today") from None
    raise typer.Exit(0 if demo_job.run(out, seed, workers, day, client) else 1)


@_root.command()
def version() -> None:
    """Print the tool version (also `jzgr --version`)."""
    typer.echo(__version__)


def __getattr__(name: str) -> typer.Typer:
    # ``from jzgr.cli import app`` (tests, embedding) gets the complete command.
    if name == "app":
        return mount()
    raise AttributeError(name)
