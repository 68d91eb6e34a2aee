"""Every example in the README and the handbook runs as written.

The commands of each ```bash block (and the `jzgr …` commands of the README's command table) run
in order, one page at a time, in a scratch folder that holds `docs/`, `hardware_sim/` (as links to
the repository) and a `creds.json` of a mock platform started for the test on a free port, with
JZGR_DEVICES_CONTROL pointing at a device fleet started likewise. Server commands (`jzgr sim
serve`, `jzgr devices up`, the ID-card reader) are started in the background on free ports (every
port they name is swapped for a free one, in later commands too), must come up, and are stopped
at the end of their page (the mock platform with --async-delay 0, so that plans do not wait a
second for each write's result; the one liberty taken). A command passes when it exits 0, or
with N when its comment says `exit N`. A block preceded by `<!-- example: not run: REASON -->`
is skipped, with its reason."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jzgr import testing

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if "reference" not in p.parts)]
SERVERS = ("jzgr sim serve", "jzgr devices up", "jzgr vendor serve", "python -m hardware_sim.idreader")
NOT_RUN = re.compile(r"<!--\s*example:\s*not run:\s*(.+?)\s*-->")
PG = "postgresql://postgres@127.0.0.1:5432/"


@dataclass
class Example:
    page: Path
    line: int
    command: str
    expect: int
    skipped: str = ""


def _commands(block: str) -> Iterator[tuple[str, int]]:
    """(command, expected exit code) of each command line; a trailing ``\\`` continues a line."""
    for logical in block.replace("\\\n", " ").splitlines():
        words = shlex.split(logical, comments=True, posix=True) if logical.strip() else []
        if not words or words[0].startswith("#"):
            continue
        command, _, comment = logical.partition("  #")
        said = re.search(r"\bexit (\d)\b", comment)
        yield command.strip(), int(said.group(1)) if said else 0


def examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    found = []
    for block in re.finditer(r"```bash\n(.*?)```", text, re.S):
        line = text[: block.start()].count("\n") + 1
        before = text[: block.start()].rstrip().rsplit("\n", 1)[-1]
        skipped = NOT_RUN.search(before)
        for command, expect in _commands(block.group(1)):
            reason = skipped.group(1) if skipped else ""
            if command.startswith("make "):  # the README's two entry points
                reason = "make demo is tests/test_demo.py; make test runs this suite"
            found.append(Example(page, line, command, expect, reason))
    if page.name == "README.md":  # the command table: | `jzgr …` | what |
        for row in re.finditer(r"^\| `(jzgr [^`]+)` \|(.*)$", text, re.M):
            said = re.search(r"\bexit (\d)\b", row.group(2))
            line = text[: row.start()].count("\n") + 1
            skipped = NOT_RUN.search(row.group(2))  # a row may say why it is not run here
            reason = skipped.group(1) if skipped else ""
            found.append(Example(page, line, row.group(1), int(said.group(1)) if said else 0, reason))
    return found


def test_examples_are_found() -> None:
    everything = [e for page in PAGES for e in examples(page)]
    assert len(everything) > 30
    readme = [e.command for e in examples(ROOT / "README.md")]
    assert any(c.startswith("jzgr client call Team.Add") for c in readme)
    assert all(e.skipped or ("…" not in e.command and "<" not in e.command) for e in everything), [
        f"{e.page.name}:{e.line} {e.command}"
        for e in everything
        if not e.skipped and ("…" in e.command or "<" in e.command)
    ]


def _free_port() -> int:
    return testing.free_port()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Page:
    """One page's scratch folder, its port map and the servers it started."""

    def __init__(self, folder: Path, env: dict[str, str], ports: dict[str, str], database: str) -> None:
        self.folder, self.env, self.ports, self.database = folder, env, ports, database
        self.servers: dict[str, subprocess.Popen[bytes]] = {}

    def rewrite(self, command: str, server: bool) -> str:
        command = command.replace(PG + "jzgr", PG + self.database)
        if server:  # every port a server names gets a free one, remembered for later commands
            for match in re.finditer(r"--([a-z]+-)?port[ =](\d+)", command):
                self.ports[match.group(2)] = str(_free_port())
            if command.startswith("jzgr sim serve") and "--port" not in command:
                self.ports["8700"] = str(_free_port())
                command += " --port 8700"
            if command.startswith("jzgr sim serve") and "--async-delay" not in command:
                command += " --async-delay 0"  # results at once: the plans' polls do not wait a second each
            if command.startswith("jzgr devices up"):
                config = re.search(r"--config[ =](\S+)", command)
                assert config, command
                (self.folder / "local-site").mkdir(exist_ok=True)
                site = testing.local_site(self.folder / config.group(1), self.folder / "local-site")
                command = command.replace(config.group(0), f"--config {site}")
                if "--control-port" not in command:
                    command += f" --control-port {_free_port()}"
        for old, new in self.ports.items():
            command = re.sub(rf"(?<=[:= ]){old}\b", new, command)
        return command

    def run(self, example: Example) -> None:
        server = example.command.startswith(SERVERS)
        command = self.rewrite(example.command, server)
        where = f"{example.page.relative_to(ROOT)}:{example.line}: {example.command}"
        if not server:
            ran = subprocess.run(
                ["bash", "-c", command], cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=120
            )
            assert ran.returncode == example.expect, (
                f"{where}\n→ exit {ran.returncode}\n{ran.stdout[-1500:]}{ran.stderr[-1500:]}"
            )
            return
        kind = next(s for s in SERVERS if command.startswith(s))
        self.stop(kind)  # one server of a kind at a time on a page (they would share a database file)
        log = self.folder / f"server-{len(os.listdir(self.folder))}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=self.folder, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.servers[kind] = process
        port = int(re.search(r"--([a-z]+-)?port[ =](\d+)", command).group(2))  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert process.poll() is None, f"{where}\n→ exited {process.returncode}: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"{where}\n→ not listening on {port} after 30 s"
            time.sleep(0.1)

    def stop(self, kind: str | None = None) -> None:
        for name in [kind] if kind else list(self.servers):
            process = self.servers.pop(name, None) if name else None
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as a person stops them
                try:
                    process.wait(3)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@pytest.fixture(scope="module")
def harness() -> Iterator[testing.JzgrPlatform]:
    with testing.start_processes(sim_options=["--async-delay=0"]) as platform:
        yield platform


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for the examples that name postgresql://…/jzgr."""
    import psycopg

    name = f"jzgr_examples_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG + "postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    yield name
    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_of_a_page_run_as_written(
    page: Path, harness: testing.JzgrPlatform, database: str, tmp_path: Path
) -> None:
    found = [e for e in examples(page) if not e.skipped]
    if not found:
        pytest.skip("no example to run on this page")
    for name in ("docs", "hardware_sim"):
        (tmp_path / name).symlink_to(ROOT / name)
    shutil.copy(harness.credentials_file, tmp_path / "creds.json")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "JZGR_DEVICES_CONTROL": harness.devices_control_url,
        "NO_COLOR": "1",
    }
    sim_port = harness.url.split(":")[2].split("/")[0]
    runner = Page(tmp_path, env, {"8700": sim_port}, database)
    try:
        for example in found:
            started = time.monotonic()
            runner.run(example)
            print(f"{time.monotonic() - started:5.1f} s  {example.command[:90]}")
    finally:
        runner.stop()
