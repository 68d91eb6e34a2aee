"""Batch and image limits (interface.md §9)."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from typing import Any

from PIL import Image

from conformance import setup
from conformance.catalogue import check
from conformance.checks.oracles import expect_refused
from conformance.target import Target


def _workers(target: Target, n: int, **change: Any) -> dict[str, Any]:
    body, sys_no = setup.team(target)
    f = setup.factory(target)
    return f.workers_payload(body, sys_no, [{**f.worker(), **change} for _ in range(n)])


@check(
    "LIM-01",
    "ProjectWorker.Add with 6 workers is refused with -1.",
    requirement="REQ-LIM-01",
    area="limits",
    smoke=True,
)
def lim_01(target: Target) -> None:
    expect_refused(target.call("ProjectWorker.Add", _workers(target, 6)), (-1,), "[workerList]")


@check(
    "LIM-02",
    "WorkerAttendance.Add with 21 records is refused with -1.",
    requirement="REQ-LIM-02",
    area="limits",
    smoke=True,
)
def lim_02(target: Target) -> None:
    _, sys_no = setup.team(target)
    data = setup.factory(target).attendance(sys_no, setup.enrolled(target), target.now() - timedelta(hours=2), 21)
    expect_refused(target.call("WorkerAttendance.Add", data), (-1,), "[dataList]")


@check("LIM-03", "WorkerEntryExit.Add with 51 workers is refused with -1.", requirement="REQ-LIM-03", area="limits")
def lim_03(target: Target) -> None:
    body, sys_no = setup.team(target)
    f = setup.factory(target)
    data = f.entry(body, sys_no, [f.id_number() for _ in range(51)], target.now().date())
    expect_refused(target.call("WorkerEntryExit.Add", data), (-1,), "[workerList]")


@check("LIM-04", "WorkerContract.Add with 6 contracts is refused with -1.", requirement="REQ-LIM-03", area="limits")
def lim_04(target: Target) -> None:
    body, _ = setup.team(target)
    f = setup.factory(target)
    expect_refused(
        target.call("WorkerContract.Add", f.contract(body, [f.id_number() for _ in range(6)])), (-1,), "[contractList]"
    )


@check("LIM-05", "Payroll.Add with 21 details is refused with -1.", requirement="REQ-LIM-03", area="limits")
def lim_05(target: Target) -> None:
    body, sys_no = setup.team(target)
    f = setup.factory(target)
    expect_refused(
        target.call("Payroll.Add", f.payroll(body, sys_no, [f.id_number() for _ in range(21)])), (-1,), "[detailList]"
    )


def _noise_jpeg(min_bytes: int) -> str:
    # Random pixels do not compress: a real JPEG just over the size asked for.
    import random

    rng = random.Random(7)
    side = 160
    while True:
        img = Image.frombytes("RGB", (side, side), bytes(rng.randrange(256) for _ in range(side * side * 3)))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=95)
        if buf.tell() > min_bytes:
            return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        side += 40


@check(
    "LIM-06",
    "A headImage over 50 KB is refused with [headImage]大小超过限制50KB!.",
    requirement="REQ-LIM-04",
    area="limits",
)
def lim_06(target: Target) -> None:
    data = _workers(target, 1, headImage=_noise_jpeg(52 * 1024))
    expect_refused(target.call("ProjectWorker.Add", data), (-1,), "[headImage]大小超过限制50KB")


@check(
    "LIM-07",
    "A headImage that is not jpg/jpeg/png is refused with 格式无效.",
    requirement="REQ-LIM-04",
    area="limits",
)
def lim_07(target: Target) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buf, "GIF")
    gif = "data:image/gif;base64," + base64.b64encode(buf.getvalue()).decode()
    expect_refused(target.call("ProjectWorker.Add", _workers(target, 1, headImage=gif)), (-1,), "[headImage]格式无效")
