"""The event log (``AcsEvent``): the backfill a vendor reads after an outage."""

from __future__ import annotations

from typing import Any

from hardware_sim.isapi import messages as m
from hardware_sim.isapi.http import (
    AC,
    ROUTES,
    IsapiError,
    Request,
    Response,
    int_field,
    json_reply,
    paginate,
    parse_time,
)
from hardware_sim.isapi.messages import AcsRecord


def _acs_events(req: Request, cond: dict[str, Any]) -> list[AcsRecord]:
    d = req.device
    major = int_field(cond.get("major"), "major", 0)
    minor = int_field(cond.get("minor"), "minor", 0)
    start = parse_time(cond["startTime"], "startTime").timestamp() if cond.get("startTime") else None
    end = parse_time(cond["endTime"], "endTime").timestamp() if cond.get("endTime") else None
    begin_sn = end_sn = None
    if d.fw.acs_event_serial_filter:
        if cond.get("beginSerialNo") is not None:
            begin_sn = int_field(cond["beginSerialNo"], "beginSerialNo")
        if cond.get("endSerialNo") is not None:
            end_sn = int_field(cond["endSerialNo"], "endSerialNo")
    employee = cond.get("employeeNoString")
    if major not in (0, 5):
        return []
    out = []
    for ev in d.history:
        if minor and ev.minor != minor:
            continue
        if start is not None and ev.at_ts < start:
            continue
        if end is not None and ev.at_ts > end:
            continue
        if begin_sn is not None and ev.serial_no < begin_sn:
            continue
        if end_sn is not None and ev.serial_no > end_sn:
            continue
        if employee and ev.employee_no != employee:
            continue
        out.append(ev)
    if cond.get("timeReverseOrder") is True:
        out.reverse()
    return out


def _acs_row(req: Request, ev: AcsRecord) -> dict[str, Any]:
    """One ``InfoList`` row, rendered from the same log entry as the live push."""
    d = req.device
    row: dict[str, Any] = {"major": 5, "minor": ev.minor, "time": ev.at}
    row.update(m.person_fields(d.fw, ev))
    row.update(serialNo=ev.serial_no, type=0)
    picture = d.pictures.get(ev.serial_no)
    if picture is not None:
        host = req.headers.get("host") or f"{d.identity.ip}:{d.port}"
        row["pictureURL"] = f"http://{host}/LOCALS/pic/acsLinkCap/{ev.serial_no}.jpeg"
    row["picturesNumber"] = 1 if picture is not None else 0
    return row


@ROUTES.handles("POST", f"{AC}/AcsEvent")
async def acs_event(req: Request) -> Response:
    d = req.device
    cond = req.json_object("AcsEventCond")
    if cond.get("searchID") in (None, ""):
        raise IsapiError(m.BAD_PARAMETERS, "searchID is required")
    events = _acs_events(req, cond)
    page, status = paginate(events, cond, d.fw.acs_event_search_max)
    result: dict[str, Any] = dict(status)
    if page:
        result["InfoList"] = [_acs_row(req, ev) for ev in page]
    return json_reply({"AcsEvent": result})


@ROUTES.handles("POST", f"{AC}/AcsEventTotalNum")
async def acs_event_total(req: Request) -> Response:
    cond = req.json_object("AcsEventTotalNumCond")
    return json_reply({"AcsEventTotalNum": {"totalNum": len(_acs_events(req, cond))}})
