"""What every CLI test needs: ``jzgr`` run in-process through its real entry point (``main``, which
turns failures into one line and an exit code), with what it printed."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
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


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something listens on, bound as a plain server binds (SO_REUSEADDR, no SO_REUSEPORT)."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]
