"""The sample Dezhou site with real ISAPI gates: the test plays the vendor (issues a person over
ISAPI with Digest) and the vendor's receiver (takes the gates' pushes), and drives the gates
through the control API."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
import time
from collections.abc import AsyncIterator, Generator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hardware_sim import site as site_mod
from hardware_sim.control import ControlServer
from hardware_sim.fleet import Fleet

try:
    for _module in ("hardware_sim.isapi.device", "hardware_sim.isapi.server", "hardware_sim.isapi.app"):
        importlib.import_module(_module)
except ImportError as exc:  # the ISAPI terminal is built in parallel; without it there is nothing to run
    pytest.skip(f"the ISAPI face terminal is not available: {exc}", allow_module_level=True)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, list[bytes]]]:
    """The vendor's event receiver: answers 200 and keeps every body."""
    bodies: list[bytes] = []

    async def take(request: Request) -> Response:
        bodies.append(await request.body())
        return Response(b"", 200)

    app = Starlette(routes=[Route("/isapi/events", take, methods=["POST"])])
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/isapi/events", bodies
    finally:
        server.should_exit = True
        await task


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


def pushed(body: bytes, field: str) -> str | None:
    match = re.search(rf'"{field}"\s*:\s*("?)([^",}}]*)\1', body.decode("utf-8", "replace"))
    return match.group(2) if match else None


async def test_sample_dezhou_site_with_real_isapi_gates() -> None:
    sample = site_mod.load(site_mod.sample("dezhou-4-gates"))
    async with receiver() as (receiver_url, bodies):
        site = sample.model_copy(
            update={
                "vendor": sample.vendor.model_copy(update={"receiver": receiver_url}),
                "devices": [spec.model_copy(update={"port": 0}) for spec in sample.devices],  # any free port
            }
        )
        fleet = Fleet(site)
        await fleet.start()
        control = ControlServer(fleet, port=0)
        await control.start()
        try:
            gates = {row["id"]: row for row in fleet.status()}
            assert sorted(gates) == ["dz-in-1", "dz-in-2", "dz-out-1", "dz-out-2"]
            assert all(row["kind"] == "isapi" and row["url"] for row in gates.values())
            assert all(row["username"] == "admin" and row["password"] == "Jzgr2026!" for row in gates.values())
            presets = fleet.journal.entries(kind="http_host_preset")
            assert len(presets) == 4 and all(p["url"] == receiver_url for p in presets)
            worker = fleet.roster[0]
            gate_url = gates["dz-in-1"]["url"]
            # the vendor issues worker 0 to dz-in-1 under its own employee number
            auth = httpx.DigestAuth("admin", "Jzgr2026!")
            async with httpx.AsyncClient(base_url=gate_url, auth=auth, timeout=10) as vendor:
                r = await vendor.post(
                    "/ISAPI/AccessControl/UserInfo/Record?format=json",
                    json={"UserInfo": {"employeeNo": "1001", "name": worker.person.name, "userType": "normal"}},
                )
                assert r.status_code == 200, r.text
                record = json.dumps({"faceLibType": "blackFD", "FDID": "1", "FPID": "1001"})
                r = await vendor.post(
                    "/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json",
                    files={
                        "FaceDataRecord": (None, record, "application/json"),
                        "img": ("face.jpg", worker.person.photo, "image/jpeg"),
                    },
                )
                assert r.status_code == 200, r.text  # without a face the gate could not recognise them
            async with httpx.AsyncClient(base_url=control.url, timeout=10) as http:
                r = await http.post("/devices/dz-in-1/present-face", json={"worker_index": 0})
                assert r.json()["event"]["event"] == "face_pass" and r.json()["event"]["employee_no"] == "1001"
                r = await http.post("/devices/dz-in-1/present-face", json={"worker_index": 1})
                assert r.json()["event"]["event"] == "stranger"  # not issued to this gate
                await until(lambda: len(bodies) >= 2)
                assert pushed(bodies[0], "employeeNoString") == "1001"
                assert pushed(bodies[0], "currentEvent") == "true"
                assert [pushed(b, "serialNo") for b in bodies[:2]] == ["1", "2"]

                # the 4G router drops: the gate buffers, then replays with currentEvent false
                await http.post("/devices/dz-in-1/network-drop", json={"minutes": 10})
                r = await http.post("/devices/dz-in-1/present-face", json={"worker_index": 0})
                assert r.json()["event"]["current"] is False
                await asyncio.sleep(0.2)
                assert len(bodies) == 2
                await http.post("/devices/dz-in-1/network-restore")
                await until(lambda: len(bodies) >= 3)
                assert pushed(bodies[2], "serialNo") == "3"
                assert pushed(bodies[2], "currentEvent") == "false"
        finally:
            await control.stop()
            await fleet.stop()
