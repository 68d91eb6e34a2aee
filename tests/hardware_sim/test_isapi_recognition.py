"""An ISAPI gate judges as a real one does: the vendor issues persons, faces and cards over ISAPI,
workers present themselves, and every verdict comes out with the device's own event code — the
same in the live push and in the AcsEvent search, field by field. Real sockets on 127.0.0.1; the
device clock is pinned, so nothing depends on the day the test runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from hardware_sim.device import BEIJING
from hardware_sim.isapi.device import IsapiDevice
from hardware_sim.isapi.firmware import BLOCKLIST_MINOR, OUTSIDE_VALIDITY_MINOR
from hardware_sim.journal import Journal
from tests.hardware_sim.test_isapi_api import face_files
from tests.hardware_sim.test_isapi_events import PASSWORD, Received, hosts_xml, receiver

AC = "/ISAPI/AccessControl"
NOW = datetime(2026, 3, 2, 7, 30, tzinfo=BEIJING)  # the device's clock during the test


def person(
    no: str, *, begin: str = "2026-01-01T00:00:00", end: str = "2026-12-31T23:59:59", zone: str = "local", **extra: Any
) -> Any:
    valid = {"enable": True, "beginTime": begin, "endTime": end, "timeType": zone}
    return {"UserInfo": {"employeeNo": no, "name": f"工人{no}", "userType": "normal", "Valid": valid, **extra}}


async def issue(client: httpx.AsyncClient, body: dict[str, Any], photo: bytes | None) -> None:
    resp = await client.post(f"{AC}/UserInfo/Record?format=json", json=body)
    assert resp.status_code == 200, resp.text
    if photo is not None:
        no = body["UserInfo"]["employeeNo"]
        resp = await client.post("/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json", files=face_files(no, photo))
        assert resp.status_code == 200, resp.text


async def search(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    cond = {"searchID": "all", "searchResultPosition": 0, "maxResults": 30, "major": 5, "minor": 0}
    page = (await client.post(f"{AC}/AcsEvent?format=json", json={"AcsEventCond": cond})).json()["AcsEvent"]
    rows: list[dict[str, Any]] = page["InfoList"]
    return rows


def id_card(p: Any) -> dict[str, Any]:
    return {"idNum": p.id_number, "name": p.name}


def assert_same_event(pushed: Received, row: dict[str, Any]) -> None:
    """Every field of the search row equals the push's (renamed where ISAPI renames it)."""
    inner = pushed.inner
    assert row["major"] == inner["majorEventType"] == 5
    assert row["minor"] == inner["subEventType"]
    assert row["time"] == pushed.event["dateTime"]
    for key, value in row.items():
        if key in ("major", "minor", "time", "type", "pictureURL"):
            continue
        assert inner.get(key) == value, (
            f"serialNo {row['serialNo']}: {key} pushed {inner.get(key)!r}, searched {value!r}"
        )
    person_keys = {"name", "employeeNoString", "userType", "cardNo", "cardType", "cardReaderKind", "mask"}
    assert person_keys & set(inner) == person_keys & set(row), f"serialNo {row['serialNo']}"


async def test_isapi_gate_verdicts_pushed_and_searched_alike(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx:
        device = IsapiDevice("gate-r", password=PASSWORD, journal=journal, retry_delay=0.05)
        await device.start()
        device.clock.set(NOW)
        auth = httpx.DigestAuth("admin", PASSWORD)
        try:
            async with httpx.AsyncClient(base_url=device.url, auth=auth, timeout=3) as client:
                assert (await client.put("/ISAPI/Event/notification/httpHosts", content=hosts_xml(rx.port))).is_success
                await issue(client, person("OK"), people[0].photo)
                await issue(client, person("NOFACE"), None)
                await issue(client, person("EARLY", begin="2026-04-01T00:00:00"), people[1].photo)
                await issue(client, person("LATE", end="2026-03-02T07:29:59"), people[2].photo)
                await issue(client, person("BLOCK", userType="blackList"), people[3].photo)
                await issue(client, person("UTC", begin="2026-03-01T23:31:00", zone="UTC"), people[4].photo)
                device.enrolled["OK"].id_number = people[0].id_number  # ISAPI issues no ID number
                device.enrolled["BLOCK"].id_number = people[3].id_number
                for no, card, kind in (("OK", "C-OK", "normalCard"), ("OK", "C-BL", "blockList")):
                    body = {"CardInfo": {"employeeNo": no, "cardNo": card, "cardType": kind}}
                    assert (await client.post(f"{AC}/CardInfo/Record?format=json", json=body)).status_code == 200

                presented = [
                    (device.present_face("OK"), 75, "OK"),  # enrolled with a face, within validity
                    (device.present_face("NOFACE", photo=people[5].photo), 76, None),  # enrolled without a face
                    (device.present_face("EARLY"), OUTSIDE_VALIDITY_MINOR, "EARLY"),  # before validity starts
                    (device.present_face("LATE"), OUTSIDE_VALIDITY_MINOR, "LATE"),  # a second after it ended
                    (device.present_face("BLOCK"), BLOCKLIST_MINOR, "BLOCK"),
                    # 23:31 UTC the day before is 07:31 here: one minute after the device's 07:30
                    (device.present_face("UTC"), OUTSIDE_VALIDITY_MINOR, "UTC"),
                    (device.present_face(None, photo=people[5].photo), 76, None),  # a stranger
                    (device.present_face("OK", spoof=True), 104, None),  # a photo held up
                    (device.swipe_card("C-OK"), 1, "OK"),
                    (device.swipe_card("C-404"), 9, None),  # a card the device never issued
                    (device.swipe_card("C-BL"), BLOCKLIST_MINOR, "OK"),  # a blocklist card
                    (device.swipe_id_card(id_card(people[0])), 105, "OK"),  # IDCardInfoEvent, matched
                    (device.swipe_id_card(id_card(people[3])), BLOCKLIST_MINOR, "BLOCK"),
                    (device.swipe_id_card(id_card(people[5])), 105, None),  # read, matching nobody
                ]
                pushed = await rx.wait_for(len(presented))
                rows = await search(client)
        finally:
            await device.stop()

    assert [r.inner["serialNo"] for r in pushed] == [r["serialNo"] for r in rows] == list(range(1, 15))
    for (event, minor, named), push, row in zip(presented, pushed, rows, strict=True):
        assert event is not None and event.serial_no == row["serialNo"]
        assert (push.inner["subEventType"], push.inner.get("employeeNoString")) == (minor, named), event.kind
        assert_same_event(push, row)
    assert pushed[4].inner["userType"] == "blackList"  # the blocklisted person is named as such
    assert pushed[0].inner["mask"] == "no" and "mask" not in pushed[8].inner  # a face, then a card
    assert [r.event["eventType"] for r in pushed[11:]] == ["IDCardInfoEvent"] * 3
    assert pushed[11].inner["IDCardInfo"]["idNum"] == people[0].id_number


async def test_isapi_validity_disabled_and_minor_filter(journal: Journal, people: list[Any]) -> None:
    """``Valid.enable: false`` lifts the window; the minor filter finds refusals by their stored code."""
    device = IsapiDevice("gate-v", password=PASSWORD, journal=journal)
    await device.start()
    device.clock.set(NOW)
    try:
        async with httpx.AsyncClient(base_url=device.url, auth=httpx.DigestAuth("admin", PASSWORD)) as client:
            await issue(client, person("OPEN", begin="2030-01-01T00:00:00", end="2030-12-31T23:59:59"), people[0].photo)
            body = person("OPEN", begin="2030-01-01T00:00:00", end="2030-12-31T23:59:59")
            body["UserInfo"]["Valid"]["enable"] = False
            assert (await client.put(f"{AC}/UserInfo/Modify?format=json", json=body)).status_code == 200
            first = device.present_face("OPEN")
            body["UserInfo"]["Valid"]["enable"] = True
            assert (await client.put(f"{AC}/UserInfo/Modify?format=json", json=body)).status_code == 200
            second = device.present_face("OPEN")
            device.swipe_card("nobody's")
            assert first is not None and first.kind == "face_pass"
            assert second is not None and second.kind == "outside_validity"
            for minor, serials in ((OUTSIDE_VALIDITY_MINOR, [2]), (9, [3]), (75, [1])):
                cond = {"searchID": f"m{minor}", "searchResultPosition": 0, "maxResults": 10, "major": 5}
                cond["minor"] = minor
                page = (await client.post(f"{AC}/AcsEvent?format=json", json={"AcsEventCond": cond})).json()
                assert [r["serialNo"] for r in page["AcsEvent"].get("InfoList", [])] == serials, minor
    finally:
        await device.stop()
