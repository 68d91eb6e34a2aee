"""The virtual ISAPI terminal driven as a vendor's system drives it: Digest, capabilities, time,
persons, cards, faces, asynchronous delete, listening hosts, and the device's errors on bad input.
Real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest

from hardware_sim.device import BEIJING
from hardware_sim.isapi.device import IsapiDevice
from hardware_sim.isapi.digest import parse_authorization
from hardware_sim.isapi.firmware import DS_K1T321, DS_K1T670MX_QR, DS_K1T671TMFW, Firmware
from hardware_sim.isapi.messages import MultipartError, build_multipart, jpeg_size, parse_multipart, parse_xml
from hardware_sim.isapi.server import IsapiServer
from hardware_sim.journal import Journal

PASSWORD = "Test12345"
AC = "/ISAPI/AccessControl"
FD = "/ISAPI/Intelligent/FDLib"


@asynccontextmanager
async def running(
    journal: Journal, firmware: Firmware | str | None = None, **kw: Any
) -> AsyncIterator[tuple[IsapiDevice, httpx.AsyncClient]]:
    device = IsapiDevice(kw.pop("device_id", "gate-1"), password=PASSWORD, firmware=firmware, journal=journal, **kw)
    await device.start()
    client = httpx.AsyncClient(base_url=device.url, auth=httpx.DigestAuth("admin", PASSWORD), timeout=3)
    try:
        yield device, client
    finally:
        await client.aclose()
        await device.stop()


def xml(resp: httpx.Response) -> ET.Element:
    root = ET.fromstring(resp.content)
    for el in root.iter():
        el.tag = el.tag.rsplit("}", 1)[-1]
    return root


def user(no: str, name: str = "张三", **extra: Any) -> dict[str, Any]:
    return {
        "UserInfo": {
            "employeeNo": no,
            "name": name,
            "userType": "normal",
            "gender": "male",
            "Valid": {"enable": True, "beginTime": "2026-01-01T00:00:00", "endTime": "2030-12-31T23:59:59"},
            "doorRight": "1",
            "RightPlan": [{"doorNo": 1, "planTemplateNo": "1"}],
            **extra,
        }
    }


def face_files(no: str, photo: bytes, part: str = "img") -> dict[str, Any]:
    record = json.dumps({"faceLibType": "blackFD", "FDID": "1", "FPID": no})
    return {"FaceDataRecord": (None, record, "application/json"), part: ("face.jpg", photo, "image/jpeg")}


def assert_device_error(resp: httpx.Response, status_code: int | None = None, sub: str | None = None) -> dict[str, Any]:
    """The device's own envelope, never a bare 500."""
    assert resp.status_code < 500 or resp.status_code == 503, resp.text  # 503: Device Busy
    assert resp.status_code >= 400, resp.text
    body: dict[str, Any]
    if resp.headers["content-type"].startswith("application/json"):
        body = resp.json()
    else:
        root = xml(resp)
        assert root.tag == "ResponseStatus", resp.text
        body = {el.tag: el.text for el in root}
        body["statusCode"] = int(body["statusCode"])
        body["errorCode"] = int(body["errorCode"])
    assert body["statusCode"] != 1 and body["subStatusCode"] and body["errorCode"], body
    assert hex(body["errorCode"])[2] == str(body["statusCode"]), body  # first hex digit repeats statusCode
    if status_code is not None:
        assert body["statusCode"] == status_code, body
    if sub is not None:
        assert body["subStatusCode"] == sub, body
    return body


# -- raw Digest, for the checks httpx hides ---------------------------------------------------------
def digest_header(method: str, uri: str, challenge: dict[str, str], nc: int, password: str = PASSWORD) -> str:
    realm, nonce, cnonce = challenge["realm"], challenge["nonce"], secrets.token_hex(8)

    def md5(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    ha1, ha2 = md5(f"admin:{realm}:{password}"), md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="admin", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}", '
        f'qop=auth, nc={nc:08x}, cnonce="{cnonce}"'
    )


async def challenge_of(raw: httpx.AsyncClient, uri: str = "/ISAPI/System/deviceInfo") -> dict[str, str]:
    resp = await raw.get(uri)
    assert resp.status_code == 401
    fields = parse_authorization(resp.headers["www-authenticate"])
    assert fields is not None
    return fields


# -- discovery -------------------------------------------------------------------------------------
async def test_isapi_activate_status_unauthenticated_and_digest_challenge(journal: Journal) -> None:
    async with running(journal) as (device, client), httpx.AsyncClient(base_url=device.url) as raw:
        resp = await raw.get("/SDK/activateStatus")
        assert resp.status_code == 200 and xml(resp).findtext("Activated") == "true"
        resp = await raw.get("/ISAPI/System/deviceInfo")
        assert resp.status_code == 401
        challenge = resp.headers["www-authenticate"]
        assert challenge.startswith('Digest qop="auth", realm="IP Camera(C2183)", nonce="')
        assert challenge.endswith('stale="FALSE"')
        assert resp.headers["keep-alive"] == "timeout=10, max=99"
        assert_device_error(resp, 4, "badAuthorization")
        info = xml(await client.get("/ISAPI/System/deviceInfo"))
        assert info.findtext("model") == "DS-K1T671TMFW"
        assert info.findtext("macAddress", "").startswith("bc:ad:28:")
        assert info.findtext("serialNumber", "").startswith("DS-K1T671TMFW")
    kinds = {e["kind"] for e in journal.entries("gate-1")}
    assert "http_in" in kinds and "auth_failed" not in kinds  # a missing header is not a failed login


@pytest.mark.parametrize("fw", [DS_K1T671TMFW, DS_K1T670MX_QR, DS_K1T321], ids=lambda f: f.name)
async def test_isapi_capabilities_follow_the_profile(journal: Journal, fw: Firmware) -> None:
    async with running(journal, fw) as (_, client):
        caps = (await client.get(f"{FD}/capabilities?format=json")).json()
        assert caps["FDRecordDataMaxNum"] == fw.face_capacity
        assert "setUp" in caps["supportFDFunction"]["@opt"]
        users = (await client.get(f"{AC}/UserInfo/capabilities?format=json")).json()["UserInfo"]
        assert users["maxRecordNum"] == fw.user_capacity
        assert users["UserInfoSearchCond"]["maxResults"]["@max"] == fw.user_search_max
        acs = xml(await client.get(f"{AC}/capabilities"))
        for flag in ("isSupportUserInfo", "isSupportCardInfo", "isSupportFDLib", "isSupportAcsEvent"):
            assert acs.findtext(flag) == "true"
        system = xml(await client.get("/ISAPI/System/capabilities"))
        assert system.findtext("isSupportSubscribeEvent") == "true"
        assert system.findtext("isSupportIDCardInfoEvent") == str(fw.has_id_card_reader).lower()


async def test_isapi_time_put_sets_the_device_clock(journal: Journal) -> None:
    async with running(journal) as (device, client):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><Time xmlns="http://www.isapi.org/ver20/XMLSchema">'
            "<timeMode>manual</timeMode><localTime>2026-02-24T19:45:13+08:00</localTime>"
            "<timeZone>CST-8:00:00</timeZone></Time>"
        )
        resp = await client.put("/ISAPI/System/time", content=body)
        assert resp.status_code == 200 and xml(resp).findtext("statusCode") == "1"
        assert abs(device.clock.now().timestamp() - 1771933513) < 3
        got = xml(await client.get("/ISAPI/System/time"))
        assert got.findtext("localTime", "").startswith("2026-02-24T19:45") and got.findtext("localTime", "").endswith(
            "+08:00"
        )


# -- persons, cards ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fw", "sub", "code"),
    [(DS_K1T671TMFW, "deviceUserAlreadyExist", None), (DS_K1T670MX_QR, "employeeNoAlreadyExist", 0x60006020)],
    ids=["671", "670"],
)
async def test_isapi_duplicate_person_error_per_profile(
    journal: Journal, fw: Firmware, sub: str, code: int | None
) -> None:
    async with running(journal, fw) as (_, client):
        assert (await client.post(f"{AC}/UserInfo/Record?format=json", json=user("1001"))).json()["statusCode"] == 1
        resp = await client.post(f"{AC}/UserInfo/Record?format=json", json=user("1001"))
        body = assert_device_error(resp, 6, sub)
        if code is not None:
            assert body["errorCode"] == code == 1610637344
        # the vendor's usual fallback: Modify on "AlreadyExist"
        resp = await client.put(f"{AC}/UserInfo/Modify?format=json", json=user("1001", "李四"))
        assert resp.json() == {"statusCode": 1, "statusString": "OK", "subStatusCode": "ok"}


async def test_isapi_roster_search_count_modify_setup(journal: Journal) -> None:
    async with running(journal, DS_K1T321) as (device, client):  # searchResult max 10
        for i in range(23):
            resp = await client.post(f"{AC}/UserInfo/Record?format=json", json=user(f"E{i:03d}", f"工人{i}"))
            assert resp.status_code == 200
        assert (await client.get(f"{AC}/UserInfo/Count?format=json")).json()["UserInfoCount"]["userNumber"] == 23
        pages, position = [], 0
        while True:
            cond = {"searchID": "abc", "searchResultPosition": position, "maxResults": 50}
            page = (await client.post(f"{AC}/UserInfo/Search?format=json", json={"UserInfoSearchCond": cond})).json()
            page = page["UserInfoSearch"]
            assert page["searchID"] == "abc" and page["totalMatches"] == 23
            assert page["numOfMatches"] <= 10  # maxResults silently capped at the device maximum
            pages.append(page)
            position += page["numOfMatches"]
            if page["responseStatusStrg"] != "MORE":
                break
        assert [p["responseStatusStrg"] for p in pages] == ["MORE", "MORE", "OK"]
        seen = [u["employeeNo"] for p in pages for u in p["UserInfo"]]
        assert seen == [f"E{i:03d}" for i in range(23)]
        assert pages[0]["UserInfo"][0]["Valid"]["beginTime"] == "2026-01-01T00:00:00"
        cond = {"searchID": "x", "searchResultPosition": 0, "maxResults": 5, "EmployeeNoList": [{"employeeNo": "E005"}]}
        found = (await client.post(f"{AC}/UserInfo/Search?format=json", json={"UserInfoSearchCond": cond})).json()
        assert found["UserInfoSearch"]["UserInfo"][0]["name"] == "工人5"
        cond["EmployeeNoList"] = [{"employeeNo": "nobody"}]
        none = (await client.post(f"{AC}/UserInfo/Search?format=json", json={"UserInfoSearchCond": cond})).json()
        assert none["UserInfoSearch"]["responseStatusStrg"] == "NO MATCH" and "UserInfo" not in none["UserInfoSearch"]
        # Modify needs the person, SetUp creates or edits
        assert_device_error(await client.put(f"{AC}/UserInfo/Modify?format=json", json=user("E999")), 6)
        assert (await client.put(f"{AC}/UserInfo/SetUp?format=json", json=user("E999", "新人"))).status_code == 200
        assert (await client.put(f"{AC}/UserInfo/SetUp?format=json", json=user("E999", "改名"))).status_code == 200
        assert device.enrolled["E999"].name == "改名"


async def test_isapi_faces_cards_and_async_delete(journal: Journal, people: list[Any]) -> None:
    fw = DS_K1T671TMFW.derive(delete_process_s=0.3)
    async with running(journal, fw) as (device, client):
        for i, p in enumerate(people[:3]):
            await client.post(f"{AC}/UserInfo/Record?format=json", json=user(f"W{i}", p.name))
            # any image part name is accepted: the first image/* part is the face
            resp = await client.post(
                f"{FD}/FaceDataRecord?format=json", files=face_files(f"W{i}", p.photo, ["img", "FaceImage", "x"][i])
            )
            assert resp.json()["statusCode"] == 1, resp.text
        assert device.enrolled["W1"].face == people[1].photo
        # adding the same face again is an error; FDSetUp replaces it
        assert_device_error(
            await client.post(f"{FD}/FaceDataRecord?format=json", files=face_files("W1", people[1].photo))
        )
        resp = await client.put(f"{FD}/FDSetUp?format=json", files=face_files("W1", people[4].photo))
        assert resp.status_code == 200 and device.enrolled["W1"].face == people[4].photo
        # a face for an unknown person
        assert_device_error(
            await client.post(f"{FD}/FaceDataRecord?format=json", files=face_files("ZZ", people[0].photo))
        )
        libs = (await client.get(f"{FD}?format=json")).json()["FDLib"]
        assert libs[0]["FDID"] == "1" and libs[0]["faceLibType"] == "blackFD"
        count = (await client.get(f"{FD}/Count?format=json&FDID=1&faceLibType=blackFD")).json()
        assert count["FDRecordDataInfo"][0]["recordDataNumber"] == 3
        search = (
            await client.post(
                f"{FD}/FDSearch?format=json",
                json={"searchResultPosition": 0, "maxResults": 32, "faceLibType": "blackFD", "FDID": "1", "FPID": "W2"},
            )
        ).json()
        assert search["numOfMatches"] == 1 and search["MatchList"][0]["FPID"] == "W2"
        picture = await client.get(httpx.URL(search["MatchList"][0]["faceURL"]).raw_path.decode())
        assert picture.content == people[2].photo
        # faces delete
        resp = await client.put(
            f"{FD}/FDSearch/Delete?format=json&FDID=1&faceLibType=blackFD", json={"FPID": [{"value": "W2"}]}
        )
        assert resp.status_code == 200 and device.enrolled["W2"].face is None
        # cards: the person must exist, 5 per person
        for n in range(5):
            card = {"CardInfo": {"employeeNo": "W0", "cardNo": f"C0{n}", "cardType": "normalCard"}}
            assert (await client.post(f"{AC}/CardInfo/Record?format=json", json=card)).status_code == 200
        card = {"CardInfo": {"employeeNo": "W0", "cardNo": "C06", "cardType": "normalCard"}}
        assert_device_error(await client.post(f"{AC}/CardInfo/Record?format=json", json=card), 6)
        card = {"CardInfo": {"employeeNo": "nobody", "cardNo": "C99", "cardType": "normalCard"}}
        assert_device_error(await client.post(f"{AC}/CardInfo/Record?format=json", json=card), 6)
        card = {"CardInfo": {"employeeNo": "W1", "cardNo": "C10"}}
        assert (await client.put(f"{AC}/CardInfo/SetUp?format=json", json=card)).status_code == 200
        assert (await client.get(f"{AC}/CardInfo/Count?format=json")).json()["CardInfoCount"]["cardNumber"] == 6
        cond = {"searchID": "c", "searchResultPosition": 0, "maxResults": 30, "EmployeeNoList": [{"employeeNo": "W0"}]}
        cards = (await client.post(f"{AC}/CardInfo/Search?format=json", json={"CardInfoSearchCond": cond})).json()
        assert [c["cardNo"] for c in cards["CardInfoSearch"]["CardInfo"]] == [f"C0{n}" for n in range(5)]
        device.clock.set(datetime(2026, 6, 1, 8, 0, tzinfo=BEIJING))  # inside user()'s validity, whatever the day
        event = device.swipe_card("C03")
        assert event is not None and event.kind == "card_pass" and event.employee_no == "W0"
        # asynchronous delete: processing, then success; the person's cards and faces go with them
        body = {"UserInfoDetail": {"mode": "byEmployeeNo", "EmployeeNoList": [{"employeeNo": "W0"}]}}
        assert (await client.put(f"{AC}/UserInfoDetail/Delete?format=json", json=body)).status_code == 200
        progress = (await client.get(f"{AC}/UserInfoDetail/DeleteProcess?format=json")).json()
        assert progress["UserInfoDetailDeleteProcess"]["status"] == "processing"
        assert_device_error(await client.put(f"{AC}/UserInfoDetail/Delete?format=json", json=body), 2)  # busy
        for _ in range(40):
            await asyncio.sleep(0.05)
            progress = (await client.get(f"{AC}/UserInfoDetail/DeleteProcess?format=json")).json()
            if progress["UserInfoDetailDeleteProcess"]["status"] != "processing":
                break
        assert progress["UserInfoDetailDeleteProcess"] == {"status": "success", "percent": 100}
        assert "W0" not in device.enrolled and not device.cards_of("W0")
        assert (await client.get(f"{AC}/CardInfo/Count?format=json")).json()["CardInfoCount"]["cardNumber"] == 1
        count = (await client.get(f"{FD}/Count?format=json&FDID=1&faceLibType=blackFD")).json()
        assert count["FDRecordDataInfo"][0]["recordDataNumber"] == 1
        # mode all
        await client.put(f"{AC}/UserInfoDetail/Delete?format=json", json={"UserInfoDetail": {"mode": "all"}})
        await asyncio.sleep(0.4)
        assert (await client.get(f"{AC}/UserInfo/Count?format=json")).json()["UserInfoCount"]["userNumber"] == 0
        assert not device.cards


async def test_isapi_face_capacity_error(journal: Journal, people: list[Any]) -> None:
    tiny = DS_K1T321.derive(name="tiny", face_capacity=2, strict_multipart=False)
    async with running(journal, tiny) as (_, client):
        caps = (await client.get(f"{FD}/capabilities?format=json")).json()
        assert caps["FDRecordDataMaxNum"] == 2
        for i in range(3):
            await client.post(f"{AC}/UserInfo/Record?format=json", json=user(f"P{i}"))
        for i in range(2):
            resp = await client.post(f"{FD}/FaceDataRecord?format=json", files=face_files(f"P{i}", people[i].photo))
            assert resp.status_code == 200
        resp = await client.post(f"{FD}/FaceDataRecord?format=json", files=face_files("P2", people[2].photo))
        assert_device_error(resp, 6, tiny.face_capacity_full.sub_status_code)
        # replacing an existing face is not an addition
        resp = await client.put(f"{FD}/FDSetUp?format=json", files=face_files("P1", people[3].photo))
        assert resp.status_code == 200


async def test_isapi_face_image_checks_and_strict_multipart(journal: Journal, people: list[Any]) -> None:
    async with running(journal, DS_K1T321) as (device, client):  # strict multipart
        await client.post(f"{AC}/UserInfo/Record?format=json", json=user("S1"))
        # httpx sends no per-part Content-Length: strict firmware refuses the upload
        resp = await client.post(f"{FD}/FaceDataRecord?format=json", files=face_files("S1", people[0].photo))
        assert_device_error(resp, 6, "badMultipart")
        record = json.dumps({"faceLibType": "blackFD", "FDID": "1", "FPID": "S1"}).encode()
        body = build_multipart(
            "xyz",
            [("FaceDataRecord", "application/json", record, None), ("face", "image/jpeg", people[0].photo, "a.jpg")],
        )
        headers = {"content-type": "multipart/form-data; boundary=xyz"}
        resp = await client.post(f"{FD}/FaceDataRecord?format=json", content=body, headers=headers)
        assert resp.status_code == 200 and device.enrolled["S1"].face == people[0].photo
        # too large, not a JPEG, too small
        big = people[1].photo[:-2] + b"\x00" * (DS_K1T321.max_face_bytes + 1) + b"\xff\xd9"
        for data, sub in [
            (big, DS_K1T321.face_too_large.sub_status_code),
            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, DS_K1T321.face_not_jpeg.sub_status_code),
            (_tiny_jpeg(), DS_K1T321.face_too_small.sub_status_code),
        ]:
            body = build_multipart(
                "xyz", [("FaceDataRecord", "application/json", record, None), ("img", "image/jpeg", data, "a.jpg")]
            )
            resp = await client.put(f"{FD}/FDSetUp?format=json", content=body, headers=headers)
            assert_device_error(resp, 6, sub)
        assert device.enrolled["S1"].face == people[0].photo


def _tiny_jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 180, 160)).save(out, "JPEG")
    return out.getvalue()


# -- authentication ---------------------------------------------------------------------------------
async def test_isapi_digest_nonce_expires_after_n_uses_and_nc_is_honoured(journal: Journal) -> None:
    async with running(journal) as (device, client), httpx.AsyncClient(base_url=device.url) as raw:
        uri = "/ISAPI/System/deviceInfo"
        challenge = await challenge_of(raw)
        assert challenge["stale"] == "FALSE" and challenge["qop"] == "auth"
        for nc in range(1, 9):  # 8 uses (the profile default)
            resp = await raw.get(uri, headers={"authorization": digest_header("GET", uri, challenge, nc)})
            assert resp.status_code == 200, nc
        resp = await raw.get(uri, headers={"authorization": digest_header("GET", uri, challenge, 9)})
        assert resp.status_code == 401
        fresh = parse_authorization(resp.headers["www-authenticate"])
        assert fresh is not None and fresh["stale"] == "TRUE" and fresh["nonce"] != challenge["nonce"]
        # a replayed nc is refused (stale re-challenge), the next count is fine
        ok = await raw.get(uri, headers={"authorization": digest_header("GET", uri, fresh, 1)})
        assert ok.status_code == 200
        again = await raw.get(uri, headers={"authorization": digest_header("GET", uri, fresh, 1)})
        assert again.status_code == 401 and 'stale="TRUE"' in again.headers["www-authenticate"]
        assert (await raw.get(uri, headers={"authorization": digest_header("GET", uri, fresh, 2)})).status_code == 200
        # the uri must be the request's
        bad = await raw.get(uri, headers={"authorization": digest_header("GET", "/other", fresh, 3)})
        assert bad.status_code == 401
        # httpx re-authenticates by itself through 30 requests (several nonce expiries)
        for _ in range(30):
            assert (await client.get("/ISAPI/System/time")).status_code == 200
        assert device.auth.locked("127.0.0.1") == 0


async def test_isapi_lockout_after_repeated_failures(journal: Journal) -> None:
    fw = DS_K1T671TMFW.derive(lockout_attempts=3, lockout_seconds=0.6)
    async with running(journal, fw) as (device, client):
        wrong = httpx.AsyncClient(base_url=device.url, auth=httpx.DigestAuth("admin", "wrong"), timeout=3)
        async with wrong:
            for _ in range(3):
                resp = await wrong.get("/ISAPI/System/deviceInfo?format=json")
                assert resp.status_code == 401
        body = assert_device_error(resp, 4, "userLocked")
        assert body["lockStatus"] == "lock"
        # even the right password is refused while locked
        resp = await client.get("/ISAPI/System/deviceInfo")
        assert resp.status_code == 401 and xml(resp).findtext("subStatusCode") == "userLocked"
        await asyncio.sleep(0.7)
        assert (await client.get("/ISAPI/System/deviceInfo")).status_code == 200
    assert any(e["outcome"] == "locked" for e in journal.entries("gate-1", "auth_failed"))


async def test_isapi_html_unauthorized_page_variant(journal: Journal) -> None:
    async with running(journal, DS_K1T671TMFW.derive(unauthorized_body="html")) as (device, _):
        async with httpx.AsyncClient(base_url=device.url) as raw:
            resp = await raw.get("/ISAPI/System/deviceInfo")
            assert resp.status_code == 401 and b"401 -- Unauthorized" in resp.content


# -- bad input --------------------------------------------------------------------------------------
BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", f"{AC}/UserInfo/Record?format=json", {"content": b"{not json"}, 5),
    ("POST", f"{AC}/UserInfo/Record?format=json", {"content": b"[1,2]"}, 6),
    ("POST", f"{AC}/UserInfo/Record?format=json", {"json": {"UserInfo": {"name": "x"}}}, 6),
    ("POST", f"{AC}/UserInfo/Record?format=json", {"json": {"UserInfo": {"employeeNo": 12}}}, 6),
    ("POST", f"{AC}/UserInfo/Record?format=json", {"json": user("1", gender="robot")}, 6),
    ("POST", f"{AC}/UserInfo/Record", {"json": user("1")}, 5),  # forgot ?format=json
    ("PUT", f"{AC}/UserInfo/Modify?format=json", {"json": user("ghost")}, 6),
    ("POST", f"{AC}/UserInfo/Search?format=json", {"json": {"UserInfoSearchCond": {"maxResults": "lots"}}}, 6),
    ("PUT", f"{AC}/UserInfoDetail/Delete?format=json", {"json": {"UserInfoDetail": {"mode": "some"}}}, 6),
    ("POST", f"{AC}/CardInfo/Record?format=json", {"json": {"CardInfo": {"employeeNo": "ghost", "cardNo": "1"}}}, 6),
    (
        "POST",
        f"{FD}/FaceDataRecord?format=json",
        {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        6,
    ),
    (
        "POST",
        f"{FD}/FaceDataRecord?format=json",
        {"content": b"abc", "headers": {"content-type": "multipart/form-data"}},
        6,
    ),
    ("POST", f"{FD}/FaceDataRecord?format=json", {"json": {"FDID": "1", "FPID": "1"}}, 6),
    ("PUT", f"{FD}/FDSearch/Delete?format=json&FDID=1", {"json": {"FPID": "1"}}, 6),
    ("PUT", f"{FD}/FDSearch/Delete?format=json&FDID=9", {"json": {"FPID": [{"value": "1"}]}}, 6),
    ("PUT", "/ISAPI/System/time", {"content": b"<Time><localTime>yesterday"}, 5),
    (
        "PUT",
        "/ISAPI/System/time",
        {"content": b"<Time><timeMode>manual</timeMode><localTime>soon</localTime></Time>"},
        6,
    ),
    ("PUT", "/ISAPI/Event/notification/httpHosts", {"content": b"<Wrong/>"}, 6),
    (
        "PUT",
        "/ISAPI/Event/notification/httpHosts/1",
        {"content": b"<HttpHostNotification><ipAddress>nope</ipAddress></HttpHostNotification>"},
        6,
    ),
    (
        "PUT",
        "/ISAPI/Event/notification/httpHosts/7",
        {"content": b"<HttpHostNotification><ipAddress>1.2.3.4</ipAddress></HttpHostNotification>"},
        6,
    ),
    ("GET", "/ISAPI/Event/notification/httpHosts/2", {}, 6),
    ("POST", f"{AC}/AcsEvent?format=json", {"json": {"AcsEventCond": {"searchID": "1", "startTime": "noon"}}}, 6),
    ("GET", "/ISAPI/Nothing/here", {}, 4),
    ("GET", "/ISAPI/Nothing/here?format=json", {}, 4),
    ("DELETE", "/ISAPI/System/deviceInfo", {}, 4),
    ("PUT", f"{AC}/RemoteControl/door/1", {"content": b"<RemoteControlDoor><cmd>fly</cmd></RemoteControlDoor>"}, 6),
]


async def test_isapi_bad_input_gets_the_device_error_never_a_500(journal: Journal) -> None:
    async with running(journal) as (_, client):
        for method, url, kwargs, status_code in BAD_REQUESTS:
            resp = await client.request(method, url, **kwargs)
            body = assert_device_error(resp, status_code)
            json_wanted = "format=json" in url
            assert resp.headers["content-type"].startswith("application/json" if json_wanted else "application/xml")
            assert body["subStatusCode"] != "deviceError", (method, url, body)
        # oversize body: refused before it is read
        resp = await client.post(f"{FD}/FaceDataRecord?format=json", content=b"x" * (4 * 1024 * 1024 + 1))
        assert_device_error(resp, 6, "messageTooLong")
    statuses = [e["status"] for e in journal.entries("gate-1", "http_in")]
    assert statuses and max(statuses) < 500


# -- listening hosts ---------------------------------------------------------------------------------
HOSTS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<HttpHostNotificationList version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<HttpHostNotification><id>1</id><url>/hik/event</url><protocolType>HTTP</protocolType>
<parameterFormatType>JSON</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType>
<ipAddress>127.0.0.1</ipAddress><portNo>{port}</portNo><httpAuthenticationMethod>none</httpAuthenticationMethod>
</HttpHostNotification></HttpHostNotificationList>"""


async def test_isapi_http_hosts_configuration_and_test(journal: Journal) -> None:
    got: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        )
        got.append(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    sink = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = sink.sockets[0].getsockname()[1]
    try:
        async with running(journal) as (device, client):
            assert xml(await client.get("/ISAPI/Event/notification/httpHosts")).findall("HttpHostNotification") == []
            resp = await client.put("/ISAPI/Event/notification/httpHosts", content=HOSTS_XML.format(port=port))
            assert resp.status_code == 200
            hosts = xml(await client.get("/ISAPI/Event/notification/httpHosts"))
            one = hosts.find("HttpHostNotification")
            assert one is not None and one.findtext("url") == "/hik/event" and one.findtext("portNo") == str(port)
            single = xml(await client.get("/ISAPI/Event/notification/httpHosts/1"))
            assert single.tag == "HttpHostNotification" and single.findtext("ipAddress") == "127.0.0.1"
            resp = await client.post("/ISAPI/Event/notification/httpHosts/1/test")
            assert resp.status_code == 200 and xml(resp).findtext("errorDescription") == "ok"
            assert got and got[0].startswith(b"POST /hik/event HTTP/1.1")
            assert json.loads(got[0].split(b"\r\n\r\n", 1)[1])["eventType"] == "heartBeat"
            # host 2 per id, JSON flavour; a host that is not listening fails the test
            body = {
                "HttpHostNotification": {"url": "/x", "ipAddress": "127.0.0.1", "portNo": 9, "protocolType": "HTTP"}
            }
            assert (await client.put("/ISAPI/Event/notification/httpHosts/2?format=json", json=body)).status_code == 200
            assert list(device.http_hosts) == ["1", "2"]
            resp = await client.post("/ISAPI/Event/notification/httpHosts/2/test")
            assert_device_error(resp, 3, "connectServerFail")
    finally:
        sink.close()


# -- fleet serving ---------------------------------------------------------------------------------------
async def test_isapi_many_devices_share_one_server(journal: Journal) -> None:
    server = IsapiServer()
    devices = [IsapiDevice(f"gate-{i}", password=PASSWORD, journal=journal, server=server) for i in range(12)]
    for d in devices:
        await d.start()
    try:
        assert len({d.port for d in devices}) == 12 and len(server.devices) == 12
        async with httpx.AsyncClient(auth=httpx.DigestAuth("admin", PASSWORD), timeout=3) as client:
            for i, d in enumerate(devices):
                resp = await client.post(f"{d.url}{AC}/UserInfo/Record?format=json", json=user(f"only-{i}"))
                assert resp.status_code == 200
            for i, d in enumerate(devices):
                assert list(d.enrolled) == [f"only-{i}"]
                info = xml(await client.get(f"{d.url}/ISAPI/System/deviceInfo"))
                assert info.findtext("deviceName") == f"gate-{i}"
    finally:
        for d in devices:
            await d.stop()
    assert server.devices == []


async def test_isapi_offline_device_does_not_answer(journal: Journal) -> None:
    async with running(journal) as (device, client):
        assert (await client.get("/ISAPI/System/deviceInfo")).status_code == 200
        device.power_off()
        with pytest.raises(httpx.TransportError):
            await client.get("/ISAPI/System/deviceInfo")
        device.power_on()
        assert (await client.get("/ISAPI/System/deviceInfo")).status_code == 200
        device.network_drop(30)
        with pytest.raises(httpx.TransportError):
            await client.get("/ISAPI/System/deviceInfo")
        device.network_restore()
        assert (await client.get("/ISAPI/System/deviceInfo")).status_code == 200


# -- pure parts --------------------------------------------------------------------------------------
def test_isapi_multipart_parser_and_jpeg_size(people: list[Any]) -> None:
    body = build_multipart("b", [("a", "application/json", b"{}", None), ("p", "image/jpeg", people[0].photo, "p.jpg")])
    parts = parse_multipart(body, "b", strict=True)
    assert [p.name for p in parts] == ["a", "p"] and parts[1].body == people[0].photo
    assert jpeg_size(people[0].photo) == (240, 300)
    assert jpeg_size(b"GIF89a") is None
    with pytest.raises(MultipartError):
        parse_multipart(body[:-6], "b")  # closing boundary cut off
    lazy = body.replace(b"Content-Length: %d\r\n" % len(people[0].photo), b"")
    assert parse_multipart(lazy, "b")[1].body == people[0].photo
    with pytest.raises(MultipartError):
        parse_multipart(lazy, "b", strict=True)
    preamble = b"ignored preamble\r\n" + body  # RFC 2046: text before the first boundary is skipped
    assert [p.name for p in parse_multipart(preamble, "b", strict=True)] == ["a", "p"]
    with pytest.raises(MultipartError, match="the boundary does not occur"):
        parse_multipart(body, "other")
    with pytest.raises(MultipartError, match="malformed multipart"):
        parse_multipart(b"--b\r\nno header colon\r\n\r\nx\r\n--b--\r\n", "b")


@pytest.mark.parametrize(
    "xml",
    [
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',  # an entity (and so a bomb)
        b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>',  # an external DTD
    ],
)
def test_isapi_xml_bodies_with_a_dtd_are_refused(xml: bytes) -> None:
    with pytest.raises(ValueError, match="DTDs are not accepted"):
        parse_xml(xml)
    assert parse_xml(b'<a xmlns="http://www.isapi.org/ver20/XMLSchema"><b>1</b></a>')[0].tag == "b"


def test_isapi_authorization_header_parser() -> None:
    fields = parse_authorization('Digest username="a\\"b", realm="R, x", nc=00000001, qop=auth')
    assert fields == {"username": 'a"b', "realm": "R, x", "nc": "00000001", "qop": "auth"}
    assert parse_authorization("Basic YWRtaW4=") is None


async def test_isapi_face_url_is_downloaded_by_the_device(journal: Journal, people: list[Any]) -> None:
    photo = people[3].photo

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(photo) + photo)
        await writer.drain()
        writer.close()

    web = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = web.sockets[0].getsockname()[1]
    try:
        async with running(journal) as (device, client):
            await client.post(f"{AC}/UserInfo/Record?format=json", json=user("U1"))
            record = {"faceLibType": "blackFD", "FDID": "1", "FPID": "U1", "faceURL": f"http://127.0.0.1:{port}/f.jpg"}
            resp = await client.put(f"{FD}/FDSetUp?format=json", json=record)
            assert resp.json()["statusCode"] == 1 and device.enrolled["U1"].face == photo
            record["faceURL"] = "http://127.0.0.1:9/missing.jpg"
            assert_device_error(await client.put(f"{FD}/FDSetUp?format=json", json=record), 6, "downloadPictureFailed")
    finally:
        web.close()


async def test_isapi_sha256_digest_when_the_profile_offers_it(journal: Journal) -> None:
    fw = DS_K1T671TMFW.derive(digest_algorithms=("SHA-256", "MD5"))
    async with running(journal, fw) as (device, client), httpx.AsyncClient(base_url=device.url) as raw:
        resp = await raw.get("/ISAPI/System/deviceInfo")
        offered = resp.headers.get_list("www-authenticate")
        assert len(offered) == 2 and "algorithm=SHA-256" in offered[0]
        assert (await client.get("/ISAPI/System/deviceInfo")).status_code == 200


async def test_isapi_reboot_answers_then_goes_away_and_comes_back(journal: Journal) -> None:
    async with running(journal) as (device, client):
        resp = await client.put("/ISAPI/System/reboot")
        assert resp.status_code == 200 and xml(resp).findtext("statusCode") == "1"
        await asyncio.sleep(0.2)
        assert not device.powered
        await asyncio.sleep(1.0)
        assert device.powered
        assert (await client.get("/ISAPI/System/deviceInfo")).status_code == 200
