"""The certification stack as separate processes on free ports: the mock platform
(`jzgr sim serve`), the sample site's fleet (`jzgr devices up`) and the reference vendor
(`jzgr vendor serve`), for the client plan's tests and the demo."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import yaml

from hardware_sim import site as site_mod
from standard.terminal import EnvironmentProblem
from vendor.service import load_tenant

JZGR = str(Path(sys.executable).with_name("jzgr"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_file(folder: Path, vendor_port: int, name: str = "dezhou-4-gates") -> Path:
    """The sample site with each gate on a free port, pushing to the vendor at ``vendor_port``."""
    sample = site_mod.load(site_mod.sample(name))
    devices = []
    for spec in sample.devices:
        for n in range(1, spec.count + 1):
            one = spec.id if spec.count == 1 else f"{spec.id}-{n}"
            devices.append(spec.model_copy(update={"id": one, "count": 1, "port": free_port()}))
    receiver = f"http://127.0.0.1:{vendor_port}/isapi/events"
    site = sample.model_copy(
        update={"devices": devices, "vendor": sample.vendor.model_copy(update={"receiver": receiver})}
    )
    path = folder / "site.yaml"
    path.write_text(
        yaml.safe_dump(site.model_dump(mode="json", exclude_none=True), allow_unicode=True), encoding="utf-8"
    )
    return path


@dataclass
class Stack:
    folder: Path
    platform: str  # the open.api URL
    admin_token: str
    devices: str  # the control API
    site: Path
    credentials: Path
    tenant: str
    vendor_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[IO[bytes]] = field(default_factory=list)
    vendor_setup: tuple[tuple[str, ...], str, tuple[str, ...]] = ((), "", ())

    @property
    def admin(self) -> str:
        return self.platform.removesuffix("/open.api") + "/admin/api"

    def start_vendor(self, defects: Sequence[str] = (), db: str | None = None, extra: Sequence[str] = ()) -> None:
        """(Re)start the reference vendor on its own fresh database (or ``db``)."""
        self.stop_vendor()
        db = db or f"sqlite:///{self.folder / f'vendor-{secrets.token_hex(4)}.db'}"
        self.vendor_setup = (tuple(defects), db, tuple(extra))
        args = ["--platform", self.platform, "--credentials", str(self.credentials), "--devices", str(self.site)]
        args += ["--db", db, "--listen", f"127.0.0.1:{self.vendor_port}", *extra]
        for name in defects:
            args += ["--defect", name]
        self._spawn("vendor", ["vendor", "serve", *args])
        _wait_http(f"http://127.0.0.1:{self.vendor_port}/status", self.processes["vendor"], 60)

    def restart_vendor(self) -> None:
        """SIGKILL the vendor and start it again on the same database, as after a power cut."""
        process = self.processes.pop("vendor", None)
        if process is not None:
            process.kill()
            process.wait()
        defects, db, extra = self.vendor_setup
        self.start_vendor(defects, db, extra)

    def stop_vendor(self) -> None:
        process = self.processes.pop("vendor", None)
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def reset_platform(self) -> None:
        """Empty the platform (data, faults, traffic, clock) and seed the same demo tenants again."""
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        httpx.post(self.admin + "/reset", headers=headers, timeout=30).raise_for_status()
        httpx.post(self.admin + "/seed-demo", headers=headers, timeout=60).raise_for_status()

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.logs.append(log)
        env = {**os.environ, "JZGR_ADMIN_TOKEN": self.admin_token}
        self.processes[name] = subprocess.Popen([JZGR, *args], stdout=log, stderr=subprocess.STDOUT, env=env)

    def stop(self) -> None:
        self.stop_vendor()
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        for log in self.logs:
            log.close()


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EnvironmentProblem(f"{' '.join(map(str, process.args))} exited with {process.returncode}")  # type: ignore[arg-type]
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise EnvironmentProblem(f"{url} did not answer within {timeout:g} s")


@contextmanager
def running(
    folder: Path, *, db: str | None = None, vendor: bool = True, defects: Sequence[str] = (), async_delay: float = 0.1
) -> Iterator[Stack]:
    """The simulator, the fleet and (unless ``vendor`` is false) the reference vendor, each its
    own process on free ports; stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    sim_port, control_port, vendor_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(16)
    credentials = folder / "creds.json"
    site = site_file(folder, vendor_port)
    project = site_mod.load(site).project_code
    stack = Stack(
        folder,
        f"http://127.0.0.1:{sim_port}/open.api",
        token,
        f"http://127.0.0.1:{control_port}",
        site,
        credentials,
        "",
        vendor_port,
    )
    with ExitStack() as cleanup:
        cleanup.callback(stack.stop)
        db = db or f"sqlite:///{folder / 'sim.db'}"
        stack._spawn(
            "sim",
            [
                "sim",
                "serve",
                "--port",
                str(sim_port),
                "--db",
                db,
                "--async-delay",
                str(async_delay),
                "--seed-demo",
                "--credentials-out",
                str(credentials),
            ],
        )
        _wait_http(stack.admin + "/openapi.json", stack.processes["sim"], 60)
        stack.tenant = load_tenant(credentials, project).appid
        stack._spawn("devices", ["devices", "up", "--config", str(site), "--control-port", str(control_port)])
        _wait_http(stack.devices + "/devices", stack.processes["devices"], 60)
        if vendor:
            stack.start_vendor(defects)
        yield stack
