"""Face libraries (``FDLib``) and their pictures: libraries, upload by multipart or by URL, search,
count, delete, and the pictures the terminal stores."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from hardware_sim.device import Enrolled
from hardware_sim.isapi import messages as m
from hardware_sim.isapi.http import FD, ROUTES, IsapiError, Request, Response, json_reply, ok, paginate, str_field
from hardware_sim.isapi.records import FaceLib, FaceRecord

if TYPE_CHECKING:
    from hardware_sim.isapi.device import IsapiDevice


@ROUTES.handles("GET", FD, json_only=True)
async def fdlib_get(req: Request) -> Response:
    d = req.device
    libs = [
        {"FDID": lib.fdid, "faceLibType": lib.face_lib_type, "name": lib.name, "customInfo": lib.custom_info}
        for lib in d.face_libs.values()
    ]
    return json_reply({**m.status_json("", None), "FDLib": libs})


@ROUTES.handles("POST", FD, json_only=True)
async def fdlib_post(req: Request) -> Response:
    d = req.device
    body = req.json_object()
    lib_type = body.get("faceLibType", "blackFD")
    if lib_type not in d.fw.face_lib_types:
        raise IsapiError(m.BAD_PARAMETERS, f"faceLibType {lib_type!r}")
    if len(d.face_libs) >= d.fw.face_libraries:
        raise IsapiError(d.fw.face_capacity_full, f"the device holds {d.fw.face_libraries} face libraries")
    fdid = str(max(int(k) for k in d.face_libs) + 1 if d.face_libs else 1)
    name = str_field(body.get("name"), "name", required=False)
    d.face_libs[fdid] = FaceLib(
        fdid, lib_type, name, str_field(body.get("customInfo"), "customInfo", required=False, max_len=256)
    )
    return ok(req, {"FDID": fdid})


def _face_meta(req: Request, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise IsapiError(m.BAD_JSON_CONTENT, "FaceDataRecord must be a JSON object")
    d = req.device
    fdid = str(record.get("FDID", req.query.get("FDID", "1")))
    if fdid not in d.face_libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    lib_type = record.get("faceLibType", req.query.get("faceLibType", "blackFD"))
    if lib_type not in d.fw.face_lib_types:
        raise IsapiError(m.BAD_PARAMETERS, f"faceLibType {lib_type!r}")
    record["FDID"] = fdid
    record["FPID"] = str_field(record.get("FPID"), "FPID", max_len=32)
    return record


async def _face_upload(req: Request) -> tuple[dict[str, Any], bytes]:
    """The face record JSON and the JPEG: multipart (JSON part ``FaceDataRecord`` + the first image
    part, whatever its name) or a JSON body with ``faceURL`` that the device downloads."""
    d = req.device
    ctype = req.headers.get("content-type", "")
    boundary = m.boundary_of(ctype)
    if boundary is None:
        if ctype.startswith("multipart/"):
            raise IsapiError(m.BAD_MULTIPART, "multipart without a boundary")
        record = _face_meta(req, req.json())
        url = record.get("faceURL")
        if not url:
            raise IsapiError(m.BAD_PARAMETERS, "no picture: send multipart with an image part, or faceURL")
        if not d.fw.accept_face_url:
            raise IsapiError(m.NOT_SUPPORTED, "faceURL is not supported by this firmware")
        return record, await _download(req, str(url))
    try:
        parts = m.parse_multipart(req.body, boundary, strict=d.fw.strict_multipart)
    except m.MultipartError as exc:
        raise IsapiError(m.BAD_MULTIPART, str(exc)) from None
    json_part = next((p for p in parts if p.name == "FaceDataRecord"), None)
    if json_part is None:
        json_part = next((p for p in parts if p.content_type in ("application/json", "text/plain", "")), None)
    if json_part is None:
        raise IsapiError(m.BAD_MULTIPART, "no FaceDataRecord part")
    try:
        record = json.loads(json_part.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IsapiError(m.BAD_JSON, f"FaceDataRecord is not JSON: {exc}") from None
    record = _face_meta(req, record)
    image = next((p for p in parts if p.content_type.startswith("image/")), None)
    if image is None:
        image = next((p for p in parts if p is not json_part and p.body[:2] == b"\xff\xd8"), None)
    if image is None:
        if record.get("faceURL"):
            return record, await _download(req, str(record["faceURL"]))
        raise IsapiError(m.BAD_MULTIPART, "no image part")
    return record, image.body


async def _download(req: Request, url: str) -> bytes:
    import httpx

    fw = req.device.fw
    try:
        async with httpx.AsyncClient(timeout=fw.push_timeout_s) as client:
            resp = await client.get(url)
    except (httpx.HTTPError, ValueError) as exc:
        raise IsapiError(fw.face_url_failed, f"downloading {url}: {exc}") from None
    if resp.status_code != 200:
        raise IsapiError(fw.face_url_failed, f"downloading {url}: HTTP {resp.status_code}")
    return resp.content


def _check_face(req: Request, data: bytes) -> None:
    fw = req.device.fw
    if len(data) > fw.max_face_bytes:
        raise IsapiError(fw.face_too_large, f"the picture has {len(data)} bytes; at most {fw.max_face_bytes}")
    size = m.jpeg_size(data)
    if size is None:
        raise IsapiError(fw.face_not_jpeg, "the picture is not a JPEG")
    if min(size) < fw.min_face_pixels:
        raise IsapiError(fw.face_too_small, f"the picture is {size[0]}x{size[1]}; at least {fw.min_face_pixels} px")
    if fw.face_model_failure_rate and req.device.rng.random() < fw.face_model_failure_rate:
        raise IsapiError(fw.face_model_failed, "face modelling failed (quality)")


async def _store_face(req: Request, *, update: bool) -> Response:
    d = req.device
    record, data = await _face_upload(req)
    fdid, fpid = record["FDID"], record["FPID"]
    person = d.enrolled.get(fpid)
    if fdid == "1":
        exists = person is not None and person.face is not None
    else:
        exists = fpid in d.face_libs[fdid].records
    if exists and not update:
        raise IsapiError(d.fw.face_exists, f"FPID {fpid} already has a face in FDID {fdid}")
    if person is None and d.fw.face_requires_person:
        raise IsapiError(d.fw.person_not_found, f"employeeNo {fpid} does not exist; add the person first")
    if not exists and d.face_count(fdid) >= d.fw.face_capacity:
        raise IsapiError(d.fw.face_capacity_full, f"FDID {fdid} holds {d.fw.face_capacity} faces (FDRecordDataMaxNum)")
    _check_face(req, data)
    if d.fw.face_enrol_delay_s:
        await asyncio.sleep(d.fw.face_enrol_delay_s)
    meta = {k: v for k, v in record.items() if k not in ("FDID", "FPID")}
    if fdid == "1":
        if person is None:
            person = d.enrolled[fpid] = Enrolled(employee_no=fpid, name=str(record.get("name", "")))
        person.face = data
        person.extra["face"] = meta
    else:
        d.face_libs[fdid].records[fpid] = FaceRecord(fpid, data, meta)
    d.log("face_set", fdid=fdid, fpid=fpid, bytes=len(data), created=not exists)
    return ok(req, {"FPID": fpid})


@ROUTES.handles("POST", f"{FD}/FaceDataRecord")
async def face_record(req: Request) -> Response:
    return await _store_face(req, update=False)


@ROUTES.handles("PUT", f"{FD}/FDSetUp")
async def face_setup(req: Request) -> Response:
    return await _store_face(req, update=True)


def _faces(d: IsapiDevice, fdid: str) -> list[tuple[str, bytes, dict[str, Any]]]:
    if fdid == "1":
        return [(p.employee_no, p.face, p.extra.get("face", {})) for p in d.enrolled.values() if p.face]
    lib = d.face_libs.get(fdid)
    return [(r.fpid, r.data, r.meta) for r in lib.records.values()] if lib else []


@ROUTES.handles("POST", f"{FD}/FDSearch")
async def face_search(req: Request) -> Response:
    d = req.device
    cond = req.json_object()
    if isinstance(cond.get("FDSearchCond"), dict):
        cond = cond["FDSearchCond"]
    fdid = str(cond.get("FDID", "1"))
    if fdid not in d.face_libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    faces = _faces(d, fdid)
    fpid = cond.get("FPID")
    if fpid:
        faces = [f for f in faces if f[0] == fpid]
    name = cond.get("name")
    if isinstance(name, str) and name:
        faces = [f for f in faces if name in str(f[2].get("name", d.enrolled.get(f[0], Enrolled("")).name))]
    page, status = paginate(faces, cond, d.fw.face_search_max)
    status.pop("searchID")
    host = req.headers.get("host") or f"{d.identity.ip}:{d.port}"
    matches = [
        {
            "FPID": no,
            "faceURL": f"http://{host}/LOCALS/pic/enrlFace/{fdid}/{no}.jpg",
            "name": str(meta.get("name", d.enrolled.get(no, Enrolled(no)).name)),
            "modelData": "",
        }
        for no, _, meta in page
    ]
    body: dict[str, Any] = {**m.status_json("", None), **status}
    if matches:
        body["MatchList"] = matches
    return json_reply(body)


@ROUTES.handles("GET", f"{FD}/Count", json_only=True)
async def face_count(req: Request) -> Response:
    d = req.device
    fdid = req.query.get("FDID")
    libs = [d.face_libs[fdid]] if fdid in d.face_libs else ([] if fdid else list(d.face_libs.values()))
    if fdid and not libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    info = [
        {
            "FDID": lib.fdid,
            "faceLibType": lib.face_lib_type,
            "name": lib.name,
            "recordDataNumber": d.face_count(lib.fdid),
        }
        for lib in libs
    ]
    return json_reply({**m.status_json("", None), "FDRecordDataInfo": info})


@ROUTES.handles("PUT", f"{FD}/FDSearch/Delete")
async def face_delete(req: Request) -> Response:
    d = req.device
    body = req.json_object()
    fdid = str(req.query.get("FDID", body.get("FDID", "1")))
    if fdid not in d.face_libs:
        raise IsapiError(m.INVALID_ID, f"FDID {fdid} does not exist")
    raw = body.get("FPID")
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise IsapiError(m.BAD_PARAMETERS, 'the body must be {"FPID":[{"value":"<employeeNo>"}]}')
    removed = 0
    for item in raw:
        fpid = str_field(item.get("value"), "FPID[].value", max_len=32)
        if fdid == "1":
            person = d.enrolled.get(fpid)
            if person is not None and person.face is not None:
                person.face = None
                person.extra.pop("face", None)
                removed += 1
        elif d.face_libs[fdid].records.pop(fpid, None) is not None:
            removed += 1
    d.log("faces_deleted", fdid=fdid, removed=removed)
    return ok(req)


@ROUTES.handles("GET", r"/LOCALS/pic/enrlFace/(\d+)/([^/]+)")
async def enrolled_picture(req: Request) -> Response:
    fdid, name = req.params
    fpid = name.rsplit(".", 1)[0]
    face = next((data for no, data, _ in _faces(req.device, fdid) if no == fpid), None)
    if face is None:
        raise IsapiError(m.INVALID_ID, f"no face {fpid} in FDID {fdid}")
    return Response(200, face, "image/jpeg")


@ROUTES.handles("GET", r"/LOCALS/pic/acsLinkCap/([^/]+)")
async def event_picture(req: Request) -> Response:
    name = req.params[0].split("@", 1)[0].rsplit(".", 1)[0]
    try:
        serial = int(name)
    except ValueError:
        raise IsapiError(m.INVALID_ID, f"no picture {name}") from None
    data = req.device.pictures.get(serial)
    if data is None:
        raise IsapiError(m.INVALID_ID, f"no picture for serialNo {serial}")
    return Response(200, data, "image/jpeg")
