"""Counting CPU instructions with valgrind's callgrind, for the benchmarks that compare code by
instructions rather than seconds (this machine's speed moves; instruction counts do not)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path


def command(log: Path) -> list[str]:
    """The prefix that runs a program under callgrind, its report (with the total) in ``log``."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (Debian package valgrind)")
    return ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}"]


def total(log: Path) -> int:
    """The instructions callgrind counted, from its report once the program has exited."""
    found = re.search(r"Collected : (\d+)", log.read_text())
    if found is None:
        raise SystemExit(f"callgrind printed no total: {log}")
    return int(found.group(1))
