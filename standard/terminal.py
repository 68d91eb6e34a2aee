"""How every ``jzgr`` command talks to a person: its consoles, its one-line errors and its exit codes.

Exit codes (docs/cli.md):

- 0 — done; for a plan, conformant.
- 1 — ran, and the verdict is "not conformant" (or "does not match", "invalid" for a checker).
- 2 — bad usage or input: an option, a file or a value to change.
- 3 — the environment: a port in use, a database or platform that cannot be reached.
- 4 — a bug in jzgr (one line; ``jzgr --debug …`` shows the traceback).

Commands raise :class:`UsageProblem` or :class:`EnvironmentProblem` with a message that names what
to change; the root command turns them (and click's usage errors) into one line and the code.
Output goes through :func:`console`: rich markup is off, so the product's own bracketed field paths
(``[workerList][0][idCardNumber]``) print as they are, and output that is not a terminal is plain
and never wrapped, so piped and logged lines keep whole ids."""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console

OK = 0
NOT_CONFORMANT = 1
BAD_INPUT = 2
ENVIRONMENT = 3
INTERNAL = 4


class Problem(Exception):
    """A failure the user can act on; ``str(problem)`` is the one line they read."""

    exit_code = INTERNAL


class UsageProblem(Problem):
    """Bad usage or input: an option, a file or a value to change (exit 2)."""

    exit_code = BAD_INPUT


class EnvironmentProblem(Problem):
    """Something around jzgr is not as needed: a busy port, an unreachable service (exit 3)."""

    exit_code = ENVIRONMENT


def console(stderr: bool = False) -> Console:
    """A console that never interprets markup in what it prints and, when not a terminal, writes
    plain lines at their full length."""
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return Console(
        stderr=stderr,
        markup=False,
        highlight=False,
        soft_wrap=not tty,
        width=None if tty else 10_000,
        no_color=not tty,
    )


def fail(problem: Problem) -> NoReturn:
    """Print ``problem`` as one line on stderr and exit with its code."""
    print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(problem.exit_code)
