"""The ``jzgr_platform`` pytest fixture: a running mock platform and device fleet for a vendor's tests.

With a Docker engine reachable (and ``testcontainers`` installed) it starts the ``jzgr`` image and
PostgreSQL in containers; otherwise the same two services as local processes on free ports (SQLite),
so it works in CI and on laptops without Docker. Either way the test gets one :class:`JzgrPlatform`
(URL, credentials, admin client, device control URL), and teardown stops everything it started.

Loaded by pytest from the ``pytest11`` entry point; it imports nothing heavy until a test asks for
the fixture, since every pytest session of a machine with jzgr installed loads it."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import yaml

Mode = Literal["auto", "containers", "processes"]
STARTUP_TIMEOUT = 60.0  # seconds a service may take to answer its health URL


@dataclass
class JzgrPlatform:
    """Where the running harness is, whichever way it was started."""

    url: str  # the open.api URL
    credentials: dict[str, Any]  # what `jzgr sim serve --credentials-out` writes: {"url", "tenants": […]}
    credentials_file: Path  # the same, as a file for `--credentials FILE`
    admin: httpx.Client  # the admin API (/admin/api), authorised with the admin token
    devices_control_url: str  # the fleet's control API (`jzgr devices … --control URL`)
    started_as: Literal["containers", "processes"]
    pids: list[int] = field(default_factory=list)  # the local processes (empty for containers)

    @property
    def console_url(self) -> str:
        return self.url.removesuffix("open.api") + "sddzsdzs/"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _free_run(count: int, host: str = "127.0.0.1") -> int:
    """A first port of ``count`` consecutive free ports (a site entry with ``count`` devices)."""
    for _ in range(100):
        first = free_port(host)
        if first + count > 65535:
            continue
        try:
            with ExitStack() as held:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind((host, port))
            return first
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports on {host}")


def _wait_until_up(url: str, process: subprocess.Popen[bytes] | None, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT:.0f} s")


def _jzgr(args: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``jzgr ARGS`` of this interpreter's installation, in its own process group."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from jzgr.cli import main; main()", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process and its children (granian's workers), politely first."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    try:  # children that outlived their parent
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def local_site(source: Path, into: Path, host: str = "127.0.0.1") -> Path:
    """``source`` (a site.yaml) with every device on free ports of ``host``, written into ``into``."""
    site = yaml.safe_load(source.read_text(encoding="utf-8"))
    for device in site.get("devices", []):
        if device.get("port"):
            device["host"] = host
            device["port"] = _free_run(int(device.get("count", 1)), host)
    target = into / "site.yaml"
    target.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def _sample_site() -> Path:
    from hardware_sim import site

    return Path(site.sample())


@contextmanager
def start_processes(
    site: Path | None = None, workdir: Path | None = None, sim_options: Sequence[str] = ()
) -> Iterator[JzgrPlatform]:
    """The simulator (SQLite, demo tenants; ``sim_options`` added to its command line) and a device
    fleet as local processes on free ports."""
    with ExitStack() as stack:
        folder = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jzgr-platform-")))
        token = secrets.token_hex(16)
        env = {**os.environ, "JZGR_ADMIN_TOKEN": token}
        port, control_port = free_port(), free_port()
        creds_file = folder / "creds.json"
        sim = _jzgr(
            [
                "sim",
                "serve",
                f"--port={port}",
                f"--db=sqlite:///{folder / 'sim.db'}",
                "--seed-demo",
                f"--credentials-out={creds_file}",
                *sim_options,
            ],
            folder / "sim.log",
            env,
        )
        stack.callback(_stop, sim)
        site_file = local_site(site or _sample_site(), folder)
        fleet = _jzgr(
            ["devices", "up", f"--config={site_file}", f"--control-port={control_port}"], folder / "devices.log", env
        )
        stack.callback(_stop, fleet)
        base = f"http://127.0.0.1:{port}"
        control = f"http://127.0.0.1:{control_port}"
        _wait_until_up(f"{base}/healthz", sim, folder / "sim.log")
        _wait_until_up(f"{control}/devices", fleet, folder / "devices.log")
        admin = stack.enter_context(
            httpx.Client(base_url=f"{base}/admin/api", headers={"Authorization": f"Bearer {token}"})
        )
        yield JzgrPlatform(
            url=f"{base}/open.api",
            credentials=json.loads(creds_file.read_text(encoding="utf-8")),
            credentials_file=creds_file,
            admin=admin,
            devices_control_url=control,
            started_as="processes",
            pids=[sim.pid, fleet.pid],
        )


def docker_reachable() -> bool:
    """Whether testcontainers is installed and a Docker engine answers."""
    try:
        import docker  # testcontainers' dependency
    except ImportError:
        return False
    try:
        docker.from_env(timeout=3).ping()
    except Exception:  # no socket, no permission, no engine: all mean "no containers here"
        return False
    return True


@contextmanager
def start_containers(
    image: str = "jzgr:latest", site: Path | None = None
) -> Iterator[JzgrPlatform]:  # pragma: no cover - needs a Docker engine
    """The ``jzgr`` image (simulator on PostgreSQL, and the fleet) with the official PostgreSQL image."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network
    from testcontainers.postgres import PostgresContainer

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jzgr-platform-")))
        token = secrets.token_hex(16)
        network = stack.enter_context(Network())
        postgres = PostgresContainer("postgres:16", username="jzgr", password="jzgr", dbname="jzgr")
        postgres.with_network(network).with_network_aliases("postgres")
        stack.enter_context(postgres)
        sim = (
            DockerContainer(image)
            .with_network(network)
            .with_env("JZGR_ADMIN_TOKEN", token)
            .with_exposed_ports(8700)
            .with_command(
                "sim serve --host=0.0.0.0 --port=8700 --db=postgresql://jzgr:jzgr@postgres:5432/jzgr "
                "--seed-demo --credentials-out=/out/creds.json"
            )
        )
        stack.enter_context(sim)
        base = f"http://{sim.get_container_host_ip()}:{sim.get_exposed_port(8700)}"
        _wait_until_up(f"{base}/healthz", None, folder / "none")
        site_file = local_site(site or _sample_site(), folder, host="0.0.0.0")
        fleet = (
            DockerContainer(image)
            .with_network(network)
            .with_exposed_ports(8780)
            .with_volume_mapping(str(site_file), "/site/site.yaml", "ro")
            .with_command("devices up --config=/site/site.yaml --control-host=0.0.0.0 --control-port=8780")
        )
        stack.enter_context(fleet)
        control = f"http://{fleet.get_container_host_ip()}:{fleet.get_exposed_port(8780)}"
        _wait_until_up(f"{control}/devices", None, folder / "none")
        code, output = sim.exec(["cat", "/out/creds.json"])
        if code != 0:
            raise RuntimeError(f"the simulator container wrote no credentials: {output!r}")
        credentials = json.loads(output)
        credentials["url"] = f"{base}/open.api"  # the container's own address means nothing outside it
        creds_file = folder / "creds.json"
        creds_file.write_text(json.dumps(credentials, ensure_ascii=False), encoding="utf-8")
        admin = stack.enter_context(
            httpx.Client(base_url=f"{base}/admin/api", headers={"Authorization": f"Bearer {token}"})
        )
        yield JzgrPlatform(
            url=f"{base}/open.api",
            credentials=credentials,
            credentials_file=creds_file,
            admin=admin,
            devices_control_url=control,
            started_as="containers",
        )


@contextmanager
def start(mode: Mode = "auto", image: str = "jzgr:latest", site: Path | None = None) -> Iterator[JzgrPlatform]:
    """Containers when asked for, or on ``auto`` when an engine is reachable; local processes otherwise."""
    if mode == "containers" or (mode == "auto" and docker_reachable()):
        with start_containers(image, site) as platform:
            yield platform
    else:
        with start_processes(site) as platform:
            yield platform


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jzgr-platform", "jzgr_platform fixture (a running mock platform and device fleet)")
    group.addoption(
        "--jzgr-platform",
        dest="jzgr_platform_mode",
        choices=["auto", "containers", "processes"],
        default="auto",
        help="containers (Docker), processes (local, free ports) or auto: containers when an engine answers",
    )
    group.addoption("--jzgr-image", default="jzgr:latest", help="the jzgr image for the containers path")
    group.addoption("--jzgr-site", type=Path, default=None, help="the site file of the device fleet")


@pytest.fixture(scope="session")
def jzgr_platform(request: pytest.FixtureRequest) -> Iterator[JzgrPlatform]:
    """A running mock platform (demo tenants seeded) and device fleet for the whole session."""
    config = request.config
    with start(
        config.getoption("jzgr_platform_mode"), config.getoption("jzgr_image"), config.getoption("jzgr_site")
    ) as platform:
        yield platform
