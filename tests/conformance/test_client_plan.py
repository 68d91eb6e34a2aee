"""The client plan against the reference vendor, with the simulator, the fleet and the vendor as
separate processes over real sockets: it passes with no defect switch on, and fails a named check
for each of the vendor's defects. The matrix runs on a few stacks at once (each a simulator and a
fleet, reset through the admin API between runs; the vendor on a fresh database each time): a run is
mostly waiting for deadlines and backoff, so one after the other it took ten minutes."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Empty, SimpleQueue

import httpx
import pytest

from conformance import runner
from conformance.client.cli import client_target
from conformance.client.detection import DETECTION
from jzgr.stack import JZGR, Stack, running
from vendor.defects import DEFECTS

DEADLINE = 15.0  # seconds a clock-in may take (the reference vendor needs a few, more on a busy machine)
# with a defect on, phases whose clock-ins never arrive wait this long: shorter keeps the matrix short
DEFECT_DEADLINE = 8.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(tmp_path_factory.mktemp("client-plan"), vendor=False) as up:
        yield up


def failed_checks(
    stack: Stack, defects: tuple[str, ...], extra: tuple[str, ...] = (), deadline: float = DEADLINE
) -> set[str]:
    """Reset the platform, start the vendor with ``defects``, run the e2e plan in-process."""
    stack.reset_platform()
    stack.start_vendor(defects, extra=extra)
    try:
        target = client_target(stack.platform, stack.admin_token, stack.tenant, stack.devices, deadline)
        target.restart = stack.restart_vendor
        result = runner.run(target, plan="e2e")
    finally:
        stack.stop_vendor()
    return {r.check.id for r in result.results if r.status in ("failed", "error")}


def _conform_client(stack: Stack, report_dir: Path) -> list[str]:
    """``jzgr conform client`` pointed at ``stack``, as a vendor engineer types it."""
    options = {
        "--platform": stack.platform,
        "--admin-token": stack.admin_token,
        "--tenant": stack.tenant,
        "--devices": stack.devices,
        "--report-dir": str(report_dir),
    }
    return [JZGR, "conform", "client", *(word for pair in options.items() for word in pair)]


def test_the_cli_passes_the_reference_vendor(stack: Stack, tmp_path: Path) -> None:
    stack.reset_platform()
    stack.start_vendor()
    try:
        done = subprocess.run(
            [*_conform_client(stack, tmp_path), "--deadline", str(DEADLINE)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stack.stop_vendor()
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "PASS"
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    statuses = {r["id"]: r["status"] for r in report["results"]}
    assert report["plan"] == "e2e" and statuses.pop("CL-DUR-01") == "skipped"  # no --restart-command
    assert set(statuses.values()) == {"passed"}
    assert set(statuses) >= {c for ids in DETECTION.values() for c in ids} - {"CL-DUR-01"}
    assert (tmp_path / "report.html").exists() and (tmp_path / "evidence.zip").exists()


MATRIX_STACKS = 3  # stacks running the matrix at once (each run is mostly waiting)


def _matrix_case(stack: Stack, defect: str) -> set[str]:
    if not defect:  # the clean vendor, restarted with SIGKILL mid-plan
        return failed_checks(stack, ())
    extra = ("--late-upload-s", str(DEFECT_DEADLINE * 3)) if defect == "late-upload" else ()
    return failed_checks(stack, (defect,), extra, DEFECT_DEADLINE)


@pytest.fixture(scope="module")
def matrix(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str] | BaseException]:
    """The failed checks of the clean vendor ("") and of each defect, run on ``MATRIX_STACKS`` stacks."""
    cases: SimpleQueue[str] = SimpleQueue()
    for defect in ["", *sorted(DEFECTS)]:
        cases.put(defect)
    found: dict[str, set[str] | BaseException] = {}

    def drain(own: Stack) -> None:
        while True:
            try:
                defect = cases.get_nowait()
            except Empty:
                return
            try:
                found[defect] = _matrix_case(own, defect)
            except Exception as exc:  # reported by that case's test, not by the whole matrix
                found[defect] = exc

    def on_a_new_stack(index: int) -> None:
        with running(tmp_path_factory.mktemp(f"matrix-{index}"), vendor=False) as own:
            drain(own)

    with ThreadPoolExecutor(MATRIX_STACKS) as pool:
        done = [pool.submit(drain, stack), *(pool.submit(on_a_new_stack, i) for i in range(1, MATRIX_STACKS))]
        for future in done:
            future.result()
    return found


def _failed(matrix: dict[str, set[str] | BaseException], defect: str) -> set[str]:
    outcome = matrix[defect]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def test_the_reference_vendor_passes_with_a_sigkill_restart(matrix: dict[str, set[str] | BaseException]) -> None:
    assert _failed(matrix, "") == set()


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_each_vendor_defect_fails_its_named_checks(matrix: dict[str, set[str] | BaseException], defect: str) -> None:
    failed = _failed(matrix, defect)
    assert set(DETECTION[defect]) <= failed, f"{defect}: failed {sorted(failed)}"


def test_the_detection_table_in_the_docs_is_the_tested_one() -> None:
    doc = Path(__file__).parents[2].joinpath("docs", "vendor.md").read_text(encoding="utf-8")
    table = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0].strip("`") in DEFECTS:
            table[cells[0].strip("`")] = tuple(re.findall(r"CL-[A-Z]+-\d+", cells[3]))
    assert table == DETECTION
    assert set(DETECTION) == set(DEFECTS)


def test_the_passive_plan_grades_what_the_vendor_sends_with_a_checklist(stack: Stack, tmp_path: Path) -> None:
    stack.reset_platform()
    harness = subprocess.Popen(
        [*_conform_client(stack, tmp_path), "--plan", "passive", "--duration", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)  # the harness has noted where the inspection log stands
        stack.start_vendor()  # enrols the site while the harness listens
        with httpx.Client(base_url=stack.devices, timeout=10) as devices:
            deadline = time.monotonic() + 15
            while any(g["faces"] < 20 for g in devices.get("/devices").json()["devices"]):
                assert time.monotonic() < deadline, "the vendor did not issue the roster"
                time.sleep(0.3)
            time.sleep(2)  # entry records done
            devices.post("/devices/dz-in-1/present-face", json={"worker_index": 0}).raise_for_status()
        out, err = harness.communicate(timeout=60)
    finally:
        harness.kill()
        stack.stop_vendor()
    assert harness.returncode == 0, out + err
    assert "[x] WorkerAttendance.Add: 1 sent, 1 accepted" in out and "[x] WorkerEntryExit.Add" in out
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["plan"] == "passive"
    assert {r["id"] for r in report["results"]} == {
        "CL-ENTRY-01",
        "CL-SIG-01",
        "CL-ENC-01",
        "CL-LIM-01",
        "CL-ASYNC-01",
        "CL-RETRY-02",
        "CL-RETRY-03",
        "CL-PASSIVE-01",
    }
