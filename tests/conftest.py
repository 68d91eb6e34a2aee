"""What every CLI test needs: ``jzgr`` run in-process through its real entry point (``main``, which
turns failures into one line and an exit code), with what it printed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from jzgr.cli import main


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def error_line(self) -> str:
        """The one line a failed command printed on stderr (asserts there is exactly one)."""
        lines = self.err.splitlines()
        assert "Traceback" not in self.err, self.err
        assert len(lines) == 1, self.err
        return lines[0]


Jzgr = Callable[..., Ran]


@pytest.fixture
def jzgr(capsys: pytest.CaptureFixture[str]) -> Jzgr:
    """``jzgr("sim", "serve", …)`` → its exit code, stdout and stderr."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        code = exited.value.code
        return Ran(code if isinstance(code, int) else 0, out, err)

    return run
