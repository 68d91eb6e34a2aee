"""The world of ``jzgr load peak``: the morning's projects created on our simulator without their
people (the vendor system enrols those itself), one site file per project with its gate, the
reference vendor system started on them as its own process, its enrolment awaited, the roster its
gates hold read back, and — after the load — its backlog drained and the platform's holdings read
with the moment each clock-in arrived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from loadtests.world import Site, admin_base
from standard.terminal import EnvironmentProblem

ENROL_TIMEOUT_S = 900.0  # the vendor's enrolment of every site (many thousand workers at full scale)
DRAIN_TIMEOUT_S = 300.0
OPEN = ("pending", "sending", "sent")


def gate_id(index: int) -> str:
    return f"gate-{index + 1:04d}"


def write_sites(sites: list[Site], dataset: Path, work: Path) -> list[Path]:
    """A site file per project: its code, its roster (that project of the dataset) and one entry
    gate (ISAPI, pushing to the vendor; the load's gates are locust users, so nothing is issued)."""
    folder = work / "sites"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, site in enumerate(sites):
        doc = {
            "site": f"load site {i + 1}",
            "project_code": site.project_code,
            "roster": {"dataset": str(dataset.resolve()), "project_code": site.project_code},
            "devices": [{"id": gate_id(i), "kind": "isapi", "direction": "in"}],
        }
        path = folder / f"{i + 1:04d}-{site.project_code}.yaml"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML
        paths.append(path)
    return paths


def start_vendor(
    platform: str, credentials: Path, site_files: list[Path], work: Path, port: int
) -> subprocess.Popen[bytes]:
    """``jzgr vendor serve`` on every site, its databases and log in ``work``."""
    beside = Path(sys.executable).with_name("jzgr")
    jzgr = [str(beside)] if beside.exists() else [sys.executable, "-c", "from jzgr.cli import main; main()"]
    (work / "vendor").mkdir(parents=True, exist_ok=True)
    args = [
        *jzgr,
        "vendor",
        "serve",
        "--platform",
        platform,
        "--credentials",
        str(credentials),
        "--db",
        f"sqlite:///{(work / 'vendor').resolve()}/vendor-{{project}}.db",
        "--listen",
        f"127.0.0.1:{port}",
        "--no-provision",
    ]
    for path in site_files:
        args += ["--devices", str(path)]
    log = (work / "vendor" / "vendor.log").open("wb")
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())


def _status(sut: str, vendor: subprocess.Popen[bytes] | None) -> dict[str, Any] | None:
    if vendor is not None and vendor.poll() is not None:
        raise EnvironmentProblem(f"the vendor system ended (exit {vendor.returncode}); see its log")
    try:
        answer = httpx.get(f"{sut}/status", timeout=10)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


def enrolment_open(doc: dict[str, Any]) -> int:
    """Enrolment writes not finished yet."""
    return sum(n for state, n in doc.get("outbox", {}).get("enrol", {}).items() if state in OPEN)


def wait_enrolled(
    sut: str, vendor: subprocess.Popen[bytes] | None, say: Callable[[str], None], timeout: float = ENROL_TIMEOUT_S
) -> dict[str, Any]:
    """Wait until the vendor has enrolled every worker of every site (registered and entered);
    an enrolment failure or the timeout is an EnvironmentProblem."""
    deadline = time.time() + timeout
    shown = 0.0
    while True:
        doc = _status(sut, vendor)
        if doc is not None:
            stages = doc.get("stages", {})
            waiting = enrolment_open(doc)
            if doc.get("failures"):
                first = doc["failures"][0]
                raise EnvironmentProblem(f"the vendor's enrolment failed: {first.get('method')}: {first.get('error')}")
            entered = stages.get("entered", {}).get("done", 0)
            if waiting == 0 and doc.get("workers", 0) > 0 and entered >= doc["workers"]:
                return doc
            if time.time() - shown >= 5:
                say(
                    f"vendor enrolling: {entered:,}/{doc.get('workers', 0):,} workers entered, {waiting:,} writes to go"
                )
                shown = time.time()
        if time.time() > deadline:
            raise EnvironmentProblem(f"the vendor did not finish enrolling within {timeout:g} s")
        time.sleep(1.0 if doc and len(doc.get("sites", ())) > 10 else 0.25)  # /status reads every site's store


def wait_up(sut: str, vendor: subprocess.Popen[bytes] | None, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while _status(sut, vendor) is None:
        if time.time() > deadline:
            raise EnvironmentProblem(f"the vendor system at {sut} does not answer /status")
        time.sleep(0.2)


def gates(sut: str, sites: list[Site]) -> dict[int, dict[str, Any]]:
    """Each project's gate: its device id and the employee number the vendor gave worker ``w``
    (the roster a real gate is issued), from the vendor's ``/people``."""
    try:
        answer = httpx.get(f"{sut}/people", timeout=60)
        by_project = {s["project"]: s for s in answer.json()["sites"]}
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise EnvironmentProblem(f"the vendor at {sut} does not say whom its gates hold (/people): {exc}") from None
    out: dict[int, dict[str, Any]] = {}
    for i, site in enumerate(sites):
        held = by_project.get(site.project_code)
        if held is None:
            raise EnvironmentProblem(f"the vendor at {sut} does not serve project {site.project_code}")
        numbers = {p["idCardNumber"]: p["employeeNo"] for p in held["people"]}
        size = sum(len(ids) for _, ids in site.teams)
        try:
            people = [numbers[site.worker(w)[1]] for w in range(size)]
        except KeyError as exc:
            raise EnvironmentProblem(f"the vendor has not enrolled worker {exc} of {site.project_code}") from None
        device = held["devices"][0] if held["devices"] else gate_id(i)
        out[i] = {"device": device, "people": people}
    return out


def drain(sut: str, vendor: subprocess.Popen[bytes] | None, say: Callable[[str], None], timeout: float) -> int:
    """Wait until the vendor's outbox is empty (or ``timeout``); returns what is still open."""
    deadline = time.time() + timeout
    shown = 0.0
    left = -1
    while time.time() < deadline:
        doc = _status(sut, vendor)
        if doc is not None:
            left = int(doc.get("backlog", 0))
            if left == 0:
                return 0
            if time.time() - shown >= 2:
                say(f"vendor backlog: {left:,} uploads to go")
                shown = time.time()
        time.sleep(0.25)
    return left


def stop(vendor: subprocess.Popen[bytes]) -> None:
    vendor.terminate()
    try:
        vendor.wait(timeout=15)
    except subprocess.TimeoutExpired:
        vendor.kill()
        vendor.wait(timeout=10)


def arrivals(platform: str, token: str, sites: list[Site], day: date) -> list[dict[str, Any]]:
    """Every clock-in of ``day`` our simulator holds for the sites, with ``received_s`` (when it
    arrived, whole seconds) — through its admin API."""
    rows: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=admin_base(platform), headers=headers, timeout=120) as client:
        for site in sites:
            answer = client.get("/attendance", params={"project": site.project_code, "day": day.isoformat()})
            if answer.status_code != 200:
                raise EnvironmentProblem(f"admin API /attendance: HTTP {answer.status_code}: {answer.text[:200]}")
            rows += [{**r, "projectCode": site.project_code} for r in answer.json()]
    return rows
