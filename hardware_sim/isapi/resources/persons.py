"""Persons (``UserInfo``): add, modify, set up, search, count, delete and the delete job."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hardware_sim.device import BEIJING, Enrolled
from hardware_sim.isapi import messages as m
from hardware_sim.isapi.http import (
    AC,
    ROUTES,
    IsapiError,
    Request,
    Response,
    employee_list,
    json_reply,
    ok,
    paginate,
    parse_time,
    str_field,
)

if TYPE_CHECKING:
    from hardware_sim.isapi.device import IsapiDevice


_USER_TYPES = {"normal", "visitor", "blackList", "blockList"}
_GENDERS = {"male", "female", "unknown"}


def _user_info(req: Request) -> dict[str, Any]:
    info = req.json_object("UserInfo")
    info["employeeNo"] = str_field(info.get("employeeNo"), "employeeNo", max_len=32)
    if "name" in info:
        str_field(info["name"], "name", required=False, max_len=128)
    if "userType" in info and info["userType"] not in _USER_TYPES:
        raise IsapiError(m.BAD_PARAMETERS, f"userType {info['userType']!r}")
    if "gender" in info and info["gender"] not in _GENDERS:
        raise IsapiError(m.BAD_PARAMETERS, f"gender {info['gender']!r}")
    valid = info.get("Valid")
    if valid is not None:
        if not isinstance(valid, dict):
            raise IsapiError(m.BAD_PARAMETERS, "Valid must be an object")
        for key in ("beginTime", "endTime"):
            if key in valid:
                parse_time(valid[key], f"Valid.{key}")
    return info


def _store_person(d: IsapiDevice, info: dict[str, Any], existing: Enrolled | None) -> Enrolled:
    if existing is None:
        person = Enrolled(employee_no=info["employeeNo"])
        d.enrolled[person.employee_no] = person
    else:
        person = existing
    stored: dict[str, Any] = dict(person.extra.get("UserInfo", {}))
    stored.update({k: v for k, v in info.items() if k not in ("numOfCard", "numOfFace", "numOfFP")})
    person.extra["UserInfo"] = stored
    person.name = str(stored.get("name", person.name))
    person.gender = str(stored.get("gender", person.gender))
    person.blocklisted = stored.get("userType") == "blackList"
    person.valid_from, person.valid_to = _validity(stored.get("Valid"))
    return person


def _validity(valid: Any) -> tuple[datetime | None, datetime | None]:
    """``Valid`` as the gate applies it: ``enable: false`` (or no ``Valid``) means no window; local
    times are the device's zone (+08:00), ``timeType: UTC`` makes offset-less times UTC."""
    if not isinstance(valid, dict) or valid.get("enable") is False:
        return None, None
    zone = UTC if str(valid.get("timeType", "local")).upper() == "UTC" else BEIJING
    begin, end = (parse_time(valid[k], f"Valid.{k}", zone) if valid.get(k) else None for k in ("beginTime", "endTime"))
    return begin, end


def _person_view(d: IsapiDevice, person: Enrolled) -> dict[str, Any]:
    stored = person.extra.get("UserInfo", {})
    view: dict[str, Any] = {
        "employeeNo": person.employee_no,
        "name": person.name,
        "userType": "normal",
        "closeDelayEnabled": False,
        "Valid": {  # not issued: no window, which is what the gate applies (_validity)
            "enable": False,
            "beginTime": "2020-01-01T00:00:00",
            "endTime": "2037-12-31T23:59:59",
            "timeType": "local",
        },
        "belongGroup": "",
        "password": "",
        "doorRight": "1",
        "RightPlan": [{"doorNo": 1, "planTemplateNo": "1"}],
        "maxOpenDoorTime": 0,
        "openDoorTime": 0,
        "roomNumber": 0,
        "floorNumber": 0,
        "localUIRight": False,
        "gender": person.gender,
    }
    view.update({k: v for k, v in stored.items() if k != "password"})
    view["numOfCard"] = len(d.cards_of(person.employee_no)) or (1 if person.card_no else 0)
    view["numOfFace"] = 1 if person.face else 0
    view["numOfFP"] = 0
    return view


@ROUTES.handles("POST", f"{AC}/UserInfo/Record")
async def user_record(req: Request) -> Response:
    d = req.device
    info = _user_info(req)
    no = info["employeeNo"]
    if no in d.enrolled:
        raise IsapiError(d.fw.duplicate_person, f"employeeNo {no} already exists")
    if len(d.enrolled) >= d.fw.user_capacity:
        raise IsapiError(d.fw.person_capacity_full, f"the device holds {d.fw.user_capacity} persons")
    _store_person(d, info, None)
    d.log("person_added", employee_no=no)
    return ok(req)


@ROUTES.handles("PUT", f"{AC}/UserInfo/Modify")
async def user_modify(req: Request) -> Response:
    d = req.device
    info = _user_info(req)
    person = d.enrolled.get(info["employeeNo"])
    if person is None:
        raise IsapiError(d.fw.person_not_found, f"employeeNo {info['employeeNo']} does not exist")
    _store_person(d, info, person)
    d.log("person_modified", employee_no=person.employee_no)
    return ok(req)


@ROUTES.handles("PUT", f"{AC}/UserInfo/SetUp")
async def user_setup(req: Request) -> Response:
    d = req.device
    info = _user_info(req)
    person = d.enrolled.get(info["employeeNo"])
    if person is None and len(d.enrolled) >= d.fw.user_capacity:
        raise IsapiError(d.fw.person_capacity_full, f"the device holds {d.fw.user_capacity} persons")
    _store_person(d, info, person)
    d.log("person_set_up", employee_no=info["employeeNo"], created=person is None)
    return ok(req)


@ROUTES.handles("POST", f"{AC}/UserInfo/Search")
async def user_search(req: Request) -> Response:
    d = req.device
    cond = req.json_object("UserInfoSearchCond")
    wanted = employee_list(cond)
    if wanted is None:
        people = list(d.enrolled.values())
    else:
        people = [d.enrolled[no] for no in wanted if no in d.enrolled]
    fuzzy = cond.get("fuzzySearch")
    if isinstance(fuzzy, str) and fuzzy:
        people = [p for p in people if fuzzy in p.name or fuzzy in p.employee_no]
    page, status = paginate(people, cond, d.fw.user_search_max)
    result: dict[str, Any] = dict(status)
    if page:
        result["UserInfo"] = [_person_view(d, p) for p in page]
    return json_reply({"UserInfoSearch": result})


@ROUTES.handles("GET", f"{AC}/UserInfo/Count", json_only=True)
async def user_count(req: Request) -> Response:
    d = req.device
    return json_reply({"UserInfoCount": {"userNumber": len(d.enrolled), "bindFaceUserNumber": d.face_count()}})


@ROUTES.handles("PUT", f"{AC}/UserInfoDetail/Delete")
async def user_delete(req: Request) -> Response:
    d = req.device
    cond = req.json_object("UserInfoDetail")
    mode = cond.get("mode")
    if mode not in ("all", "byEmployeeNo"):
        raise IsapiError(m.BAD_PARAMETERS, "mode must be 'all' or 'byEmployeeNo'")
    nos = employee_list(cond)
    if mode == "byEmployeeNo" and not nos:
        raise IsapiError(m.BAD_PARAMETERS, "EmployeeNoList is required with mode byEmployeeNo")
    job = d.delete_job
    if job is not None and not job.applied:
        raise IsapiError(m.DEVICE_BUSY, "a delete is in progress")
    d.start_delete(mode, nos)
    d.log("delete_started", mode=mode, count=len(nos or []))
    return ok(req)


@ROUTES.handles("GET", f"{AC}/UserInfoDetail/DeleteProcess", json_only=True)
async def user_delete_process(req: Request) -> Response:
    d = req.device
    d.settle_delete()
    job = d.delete_job
    if job is None or job.applied:
        body: dict[str, Any] = {"status": "failed" if job and job.failed else "success"}
        if d.fw.delete_reports_percent:
            body["percent"] = 100
    else:
        body = {"status": "processing"}
        if d.fw.delete_reports_percent:
            left = max(job.due - _now(), 0.0)
            total = max(d.fw.delete_process_s, 1e-6)
            body["percent"] = min(99, int(100 * (1 - left / total)))
    return json_reply({"UserInfoDetailDeleteProcess": body})


def _now() -> float:
    return time.monotonic()
