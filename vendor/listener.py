"""The reference vendor's HTTP listener: one port for every site it serves — ISAPI event pushes,
the ZKTeco ``/iclock`` server, callback terminals, ID-card enrolment, ``/status`` and ``/people`` —
each request handed to the site that owns the device it comes from."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from vendor import isapi, uniubi
from vendor.service import Vendor

log = logging.getLogger("jzgr.vendor")

# The counts of /status that add up across sites (the rest is per site)
SUMMED = ("teams", "workers", "backlog")


class Listener:
    def __init__(self, vendors: list[Vendor]) -> None:
        if not vendors:
            raise ValueError("a listener needs at least one site")
        self.vendors = vendors
        self.by_project = {v.config.tenant.project_code: v for v in vendors}
        self.by_device: dict[str, Vendor] = {}
        for v in vendors:
            for device_id in v.gates:
                if device_id in self.by_device:
                    raise ValueError(f"device {device_id} is in two sites: ids must be unique across sites")
                self.by_device[device_id] = v
        self.app = Starlette(
            routes=[
                Route("/isapi/events", self.isapi_event, methods=["POST"]),
                Route("/iclock/cdata", self.iclock_cdata, methods=["GET", "POST"]),
                Route("/iclock/getrequest", self.iclock_getrequest, methods=["GET"]),
                Route("/iclock/devicecmd", self.iclock_devicecmd, methods=["POST"]),
                Route("/iclock/ping", self.iclock_ping, methods=["GET"]),
                Route("/callback/uniubi", self.uniubi_callback, methods=["POST"]),
                Route("/enrol/id-card", self.enrol_id_card, methods=["POST"]),
                Route("/status", self.status, methods=["GET"]),
                Route("/people", self.people, methods=["GET"]),
            ]
        )

    def owner(self, device_id: str) -> Vendor | None:
        """The site of ``device_id``; a single site also takes devices its file does not list
        (their direction comes from the event)."""
        found = self.by_device.get(device_id)
        if found is None and len(self.vendors) == 1:
            return self.vendors[0]
        return found

    # ---- ISAPI ----------------------------------------------------------------------------

    async def isapi_event(self, request: Request) -> Response:
        body = await request.body()
        doc = isapi.event_json(body, request.headers.get("content-type", ""))
        if doc is None:
            return PlainTextResponse("not an event", status_code=400)
        event = isapi.parse_event(doc)
        if event is None:
            return PlainTextResponse("OK")  # heartbeats, tests of the listening host, other alerts
        site = self.owner(event.device_name)
        if site is None:
            return PlainTextResponse(f"unknown device {event.device_name}", status_code=403)
        status = doc.get("AccessControllerEvent", {}).get("attendanceStatus")
        hint = {"checkIn": "01", "checkOut": "02"}.get(str(status))
        try:
            site.record(
                event.device_name, event.serial_no, event.kind, event.employee_no, event.moment, hint, event.current
            )
        except Exception:
            log.exception("could not keep an event of %s", event.device_name)
            return PlainTextResponse("not stored", status_code=503)  # the gate keeps it and sends it again
        return PlainTextResponse("OK")

    # ---- callback terminals ---------------------------------------------------------------

    async def uniubi_callback(self, request: Request) -> Response:
        seen = uniubi.parse(await request.body())
        if seen is None:
            return JSONResponse({"result": 0, "success": False, "msg": "not a recognition callback"}, status_code=400)
        found = next(((v, d) for v in self.vendors if (d := v.callback_device(seen.device_key))), None)
        site, device_id = found or (self.owner(seen.device_key), seen.device_key)
        if site is None:
            return JSONResponse({"result": 0, "success": False, "msg": "unknown device"}, status_code=403)
        try:
            site.record(device_id, seen.serial_no, seen.kind, seen.employee_no, seen.moment, None, True)
        except Exception:
            log.exception("could not keep a callback of %s", device_id)
            return JSONResponse({"result": 0, "success": False, "msg": "not stored"}, status_code=503)
        return JSONResponse(uniubi.ACK)

    # ---- ZKTeco iclock --------------------------------------------------------------------

    def _iclock_device(self, request: Request) -> tuple[Vendor, str] | None:
        sn = request.query_params.get("SN", "")
        return next(((v, d) for v in self.vendors if (d := v.iclock_device(sn))), None)

    async def iclock_cdata(self, request: Request) -> Response:
        found = self._iclock_device(request)
        if found is None:
            return PlainTextResponse("unknown device", status_code=403)
        site, device_id = found
        sn = request.query_params["SN"]
        if request.method == "GET":  # the handshake
            site.iclock_queue[sn] = site.iclock_users()
            options = [
                f"GET OPTION FROM: {sn}",
                "ATTLOGStamp=None",
                "OPERLOGStamp=9999",
                "ATTPHOTOStamp=None",
                "ErrorDelay=30",
                "Delay=10",
                "TransTimes=00:00;14:05",
                "TransInterval=1",
                "TransFlag=TransData AttLog OpLog",
                "TimeZone=8",
                "Realtime=1",
                "Encrypt=None",
            ]
            return PlainTextResponse("\n".join(options) + "\n")
        body = (await request.body()).decode("utf-8", "replace")
        if request.query_params.get("table") != "ATTLOG":
            return PlainTextResponse("OK")
        lines = [line for line in body.splitlines() if line.strip()]
        try:
            for line in lines:
                fields = line.split("\t")
                if len(fields) < 2:
                    continue
                pin, moment = fields[0].strip(), fields[1].strip()
                serial = int(hashlib.sha1(f"{pin}\t{moment}".encode()).hexdigest()[:15], 16)
                hint = "02" if len(fields) > 2 and fields[2].strip() == "1" else "01"
                site.record(device_id, serial, "face_pass", pin, moment, hint, True)
        except Exception:
            log.exception("could not keep ATTLOG of %s", sn)
            return PlainTextResponse("ERROR", status_code=503)
        return PlainTextResponse(f"OK: {len(lines)}")

    async def iclock_getrequest(self, request: Request) -> Response:
        found = self._iclock_device(request)
        if found is None:
            return PlainTextResponse("unknown device", status_code=403)
        site = found[0]
        queue = site.iclock_queue.get(request.query_params["SN"], [])
        if not queue:
            return PlainTextResponse("OK")
        batch, queue[:] = queue[:50], queue[50:]
        start = int(site.clock() * 1000) % 1_000_000
        text = "\n".join(f"C:{start + i}:{cmd}" for i, cmd in enumerate(batch)) + "\n"
        return Response(text.encode("gb18030"), media_type="text/plain; charset=gb18030")

    async def iclock_devicecmd(self, request: Request) -> Response:
        return PlainTextResponse("OK")

    async def iclock_ping(self, request: Request) -> Response:
        return PlainTextResponse("OK")

    # ---- enrolment, status ----------------------------------------------------------------

    async def enrol_id_card(self, request: Request) -> Response:
        """``{"reader": URL, "cellPhone": …, "project"?: …}``: the site is ``project`` (needed
        when there are several)."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": 'send JSON {"reader": URL, "cellPhone": "139…"}'}, status_code=400)
        project = body.get("project")
        site = self.by_project.get(str(project)) if project else (self.vendors[0] if len(self.vendors) == 1 else None)
        if site is None:
            known = ", ".join(sorted(self.by_project))
            return JSONResponse({"error": f"say which project: one of {known}"}, status_code=400)
        return await site.enrol_id_card(body)

    async def status(self, request: Request) -> Response:
        docs = await asyncio.to_thread(lambda: [v.status() for v in self.vendors])
        return JSONResponse(docs[0] if len(docs) == 1 else merged(docs))

    async def people(self, request: Request) -> Response:
        sites = await asyncio.to_thread(lambda: [v.people() for v in self.vendors])
        return JSONResponse({"sites": sites})


def merged(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several sites' ``/status`` as one: the counts summed, each site's own beside them."""
    out: dict[str, Any] = {key: sum(int(d[key]) for d in docs) for key in SUMMED}
    for key in ("stages", "outbox"):
        table: dict[str, dict[str, int]] = {}
        for d in docs:
            for name, counts in d[key].items():
                row = table.setdefault(name, {})
                for state, n in counts.items():
                    row[state] = row.get(state, 0) + n
        out[key] = table
    events: dict[str, int] = {}
    for d in docs:
        for outcome, n in d["clockins"].items():
            events[outcome] = events.get(outcome, 0) + n
    out["clockins"] = events
    out["failures"] = [{**f, "project": d["project"]} for d in docs for f in d["failures"]][:200]
    out["defects"] = docs[0]["defects"]
    out["sites"] = [{k: d[k] for k in ("project", "workers", "backlog", "outbox")} for d in docs]
    return out
