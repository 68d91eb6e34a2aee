"""Listening mode: the virtual terminal pushes ``AccessControllerEvent`` to a vendor's listening host
(a starlette app under uvicorn on 127.0.0.1), buffers while offline or refused, replays in serialNo
order with ``currentEvent: false``, and answers AcsEvent backfill from its event log."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hardware_sim.device import Enrolled
from hardware_sim.isapi.device import IsapiDevice
from hardware_sim.isapi.firmware import DS_K1T321, DS_K1T671TMFW, Firmware
from hardware_sim.isapi.records import CardRecord
from hardware_sim.journal import Journal

PASSWORD = "Test12345"


@dataclass
class Received:
    path: str
    content_type: str
    event: dict[str, Any]
    parts: list[tuple[str, str]]  # (name, content type)
    picture: bytes | None
    answered: int

    @property
    def inner(self) -> dict[str, Any]:
        inner: dict[str, Any] = self.event.get("AccessControllerEvent") or self.event.get("IDCardInfoEvent") or {}
        return inner


@dataclass
class Receiver:
    """A vendor's listening host. ``answer`` decides the status of each POST (200 = acknowledged)."""

    got: list[Received] = field(default_factory=list)
    answer: Callable[[int], int] = lambda n: 200
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.got if r.answered == 200]

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        picture, parts = None, []
        if ctype.startswith("multipart/"):
            # parsed with the standard library's MIME parser, independent of the device's code
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
            )
            event: dict[str, Any] = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition") or ""
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                parts.append((str(name), part.get_content_type()))
                if part.get_content_type() == "application/json":
                    event = json.loads(payload)
                elif part.get_content_type().startswith("image/"):
                    picture = payload
        else:
            event = json.loads(body)
        status = self.answer(len(self.got))
        self.got.append(Received(request.url.path, ctype, event, parts, picture, status))
        self.arrived.set()
        return Response(status_code=status, content=b"")

    async def wait_for(self, count: int, timeout: float = 3.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            self.arrived.clear()
            left = deadline - time.monotonic()
            assert left > 0, f"only {len(self.accepted)} of {count} events arrived: {[r.inner for r in self.got]}"
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                pass
        return self.accepted


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    app = Starlette(routes=[Route("/{path:path}", rx.endpoint, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.005)
    rx.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield rx
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(task, 5)


def hosts_xml(port: int, fmt: str = "JSON") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><HttpHostNotificationList version="2.0" '
        'xmlns="http://www.isapi.org/ver20/XMLSchema"><HttpHostNotification><id>1</id><url>/hik/events</url>'
        f"<protocolType>HTTP</protocolType><parameterFormatType>{fmt}</parameterFormatType>"
        "<addressingFormatType>ipaddress</addressingFormatType><ipAddress>127.0.0.1</ipAddress>"
        f"<portNo>{port}</portNo><httpAuthenticationMethod>none</httpAuthenticationMethod>"
        "</HttpHostNotification></HttpHostNotificationList>"
    )


@asynccontextmanager
async def gate(
    journal: Journal, people: list[Any], rx: Receiver, fw: Firmware | None = None, **kw: Any
) -> AsyncIterator[tuple[IsapiDevice, httpx.AsyncClient]]:
    device = IsapiDevice("gate-7", password=PASSWORD, firmware=fw, journal=journal, retry_delay=0.05, **kw)
    for i, p in enumerate(people[:3]):
        device.enrolled[f"W{i}"] = Enrolled(
            f"W{i}", p.name, "male" if p.male else "female", p.photo, id_number=p.id_number
        )
    await device.start()
    client = httpx.AsyncClient(base_url=device.url, auth=httpx.DigestAuth("admin", PASSWORD), timeout=3)
    try:
        resp = await client.put("/ISAPI/Event/notification/httpHosts", content=hosts_xml(rx.port))
        assert resp.status_code == 200
        yield device, client
    finally:
        await client.aclose()
        await device.stop()


async def test_isapi_pushes_face_stranger_and_liveness_events(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx, gate(journal, people, rx, direction="in") as (device, _):
        known = device.present_face("W1")
        stranger = device.present_face(None, photo=people[5].photo)
        spoof = device.present_face("W2", spoof=True)
        no_photo = device.present_face("nobody")
        assert known and stranger and spoof and no_photo
        got = await rx.wait_for(4)
        first = got[0]
        assert first.path == "/hik/events"
        assert first.content_type == "multipart/form-data; boundary=MIME_boundary"
        assert first.parts == [("event_log", "application/json"), ("Picture", "image/jpeg")]
        assert first.picture == people[1].photo  # the enrolled face
        outer = first.event
        assert outer["eventType"] == "AccessControllerEvent" and outer["eventState"] == "active"
        assert outer["eventDescription"] == "Access Controller Event"
        assert outer["ipAddress"] == "127.0.0.1" and outer["portNo"] == device.port and outer["channelID"] == 1
        assert outer["dateTime"].endswith("+08:00") and outer["dateTime"] == known.at.isoformat()
        assert outer["macAddress"].startswith("bc:ad:28:") and outer["activePostCount"] == 1
        inner = first.inner
        assert inner["deviceName"] == "gate-7" and inner["majorEventType"] == 5 and inner["subEventType"] == 75
        assert inner["employeeNoString"] == "W1" and inner["name"] == people[1].name
        assert inner["serialNo"] == known.serial_no and inner["currentEvent"] is True
        assert inner["attendanceStatus"] == "checkIn" and inner["picturesNumber"] == 1
        assert inner["currentVerifyMode"] == "cardOrFace" and inner["mask"] == "no" and inner["cardReaderNo"] == 1
        # stranger: 5/76 without employeeNoString, with the capture
        assert got[1].inner["subEventType"] == 76 and "employeeNoString" not in got[1].inner
        assert got[1].picture == people[5].photo
        # liveness failure: 5/104
        assert got[2].inner["subEventType"] == 104 and "employeeNoString" not in got[2].inner
        # no picture: a bare JSON body
        assert got[3].content_type.startswith("application/json") and got[3].picture is None
        assert got[3].inner["subEventType"] == 76 and got[3].inner["picturesNumber"] == 0
        assert [r.inner["serialNo"] for r in got] == [1, 2, 3, 4]
    pushes = journal.entries("gate-7", "push")
    assert [p["status"] for p in pushes] == [200] * 4 and [p["serial_no"] for p in pushes] == [1, 2, 3, 4]


async def test_isapi_profile_changes_part_names_codes_and_direction(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx, gate(journal, people, rx, DS_K1T321, direction="out") as (device, _):
        device.present_face("W0")
        device.cards["C1"] = CardRecord("C1", "W0")
        device.swipe_card("C1")
        got = await rx.wait_for(2)
        assert got[0].parts == [("AccessControllerEvent", "application/json"), ("FaceImage", "image/jpeg")]
        assert got[0].inner["attendanceStatus"] == "checkOut"
        assert got[1].inner["subEventType"] == 38 and got[1].inner["cardNo"] == "C1"  # cards as 5/38 on this model
        assert got[1].inner["employeeNoString"] == "W0"


async def test_isapi_offline_buffer_and_replay_in_order(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx, gate(journal, people, rx) as (device, client):
        device.present_face("W0")
        await rx.wait_for(1)
        device.network_drop(30)
        with_photos = [device.present_face(f"W{i % 3}") for i in range(6)]
        assert all(e is not None and not e.current for e in with_photos)
        await asyncio.sleep(0.2)
        assert len(rx.got) == 1 and len(device.outbox) == 6  # nothing leaves while the network is down
        try:
            await client.get("/ISAPI/System/deviceInfo")
            raise AssertionError("an offline device answered")
        except httpx.TransportError:
            pass
        device.network_restore()
        device.present_face("W1")  # live again
        got = await rx.wait_for(8)
        serials = [r.inner["serialNo"] for r in got]
        assert serials == list(range(1, 9))  # none lost, serialNo order
        assert [r.inner["currentEvent"] for r in got] == [True] + [False] * 6 + [True]
        assert all(r.picture for r in got)
        assert not device.outbox and device.delivered == 8


async def test_isapi_refused_by_the_host_then_replayed(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx:
        rx.answer = lambda n: 500 if n < 3 else 200  # the vendor's server fails for a while
        async with gate(journal, people, rx) as (device, _):
            for i in range(4):
                device.present_face(f"W{i % 3}")
            got = await rx.wait_for(4)
            assert [r.answered for r in rx.got[:3]] == [500, 500, 500]
            assert [r.inner["serialNo"] for r in rx.got[:3]] == [1, 1, 1]  # the same event again and again
            assert [r.inner["serialNo"] for r in got] == [1, 2, 3, 4]
            assert got[0].inner["currentEvent"] is False and got[0].event["activePostCount"] == 4
            # the ones that waited behind it go out late too: replays, not live events
            assert [r.inner["currentEvent"] for r in got[1:]] == [False, False, False]
            assert [r.event["activePostCount"] for r in got[1:]] == [1, 1, 1]
            statuses = [p["status"] for p in journal.entries("gate-7", "push")]
            assert statuses[:4] == [500, 500, 500, 200]


async def test_isapi_connection_refused_host_keeps_events(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx:
        port = rx.port
    # the receiver is gone: nothing listens on that port any more
    device = IsapiDevice("gate-9", password=PASSWORD, journal=journal, retry_delay=0.05)
    device.enrolled["W0"] = Enrolled("W0", "x", face=people[0].photo)
    await device.start()
    try:
        async with httpx.AsyncClient(base_url=device.url, auth=httpx.DigestAuth("admin", PASSWORD)) as client:
            await client.put("/ISAPI/Event/notification/httpHosts", content=hosts_xml(port))
        device.present_face("W0")
        await asyncio.sleep(0.3)
        assert len(device.outbox) == 1 and device.outbox[0].current is False
        assert any(p["status"] == 0 for p in journal.entries("gate-9", "push"))
    finally:
        await device.stop()


async def test_isapi_acs_event_backfill_returns_what_was_pushed(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx, gate(journal, people, rx) as (device, client):
        for i in range(7):
            device.present_face(f"W{i % 3}")
        device.present_face(None)  # a stranger
        pushed = await rx.wait_for(8)
        url = "/ISAPI/AccessControl/AcsEvent?format=json"
        start = (device.clock.now().replace(microsecond=0)).timestamp() - 60
        window = {
            "startTime": time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(start + 8 * 3600)),
            "endTime": "2099-01-01T00:00:00+08:00",
        }
        rows: list[dict[str, Any]] = []
        position = 0
        while True:
            cond = {
                "searchID": "b1",
                "searchResultPosition": position,
                "maxResults": 3,
                "major": 5,
                "minor": 0,
                **window,
            }
            page = (await client.post(url, json={"AcsEventCond": cond})).json()["AcsEvent"]
            assert page["totalMatches"] == 8
            rows += page.get("InfoList", [])
            position += page["numOfMatches"]
            if page["responseStatusStrg"] != "MORE":
                break
        assert [r["serialNo"] for r in rows] == [r.inner["serialNo"] for r in pushed]
        assert [r.get("employeeNoString") for r in rows] == [r.inner.get("employeeNoString") for r in pushed]
        assert [r["minor"] for r in rows] == [75] * 7 + [76]
        assert rows[0]["time"] == pushed[0].event["dateTime"]
        picture = await client.get(httpx.URL(rows[0]["pictureURL"]).raw_path.decode())
        assert picture.content == people[0].photo
        # minor filter and serialNo range (what a vendor backfills after an outage)
        cond = {"searchID": "b2", "searchResultPosition": 0, "maxResults": 30, "major": 5, "minor": 76}
        strangers = (await client.post(url, json={"AcsEventCond": cond})).json()["AcsEvent"]
        assert [r["serialNo"] for r in strangers["InfoList"]] == [8]
        cond = {"searchID": "b3", "searchResultPosition": 0, "maxResults": 30, "major": 5, "minor": 0}
        cond |= {"beginSerialNo": 3, "endSerialNo": 5}
        ranged = (await client.post(url, json={"AcsEventCond": cond})).json()["AcsEvent"]
        assert [r["serialNo"] for r in ranged["InfoList"]] == [3, 4, 5]
        total = await client.post(
            "/ISAPI/AccessControl/AcsEventTotalNum?format=json",
            json={"AcsEventTotalNumCond": {"major": 5, "minor": 75}},
        )
        assert total.json() == {"AcsEventTotalNum": {"totalNum": 7}}
        cond = {"searchID": "b4", "searchResultPosition": 0, "maxResults": 30, "major": 5, "minor": 0}
        cond |= {"startTime": "2001-01-01T00:00:00+08:00", "endTime": "2001-01-02T00:00:00+08:00"}
        empty = (await client.post(url, json={"AcsEventCond": cond})).json()["AcsEvent"]
        assert empty["responseStatusStrg"] == "NO MATCH" and empty["numOfMatches"] == 0


async def test_isapi_xml_events_when_the_profile_follows_the_host(journal: Journal, people: list[Any]) -> None:
    fw = DS_K1T671TMFW.derive(event_format="xml")
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
            seen.append(head + await reader.readexactly(length))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    sink = await asyncio.start_server(handle, "127.0.0.1", 0)
    rx = Receiver(port=sink.sockets[0].getsockname()[1])
    try:
        async with gate(journal, people, rx, fw) as (device, _):
            device.present_face("W0")
            device.present_face("W1")
            for _ in range(100):
                if len(seen) >= 2:
                    break
                await asyncio.sleep(0.02)
            assert len(seen) == 2
            assert b"<EventNotificationAlert" in seen[0] and b"<subEventType>75</subEventType>" in seen[0]
            assert b"<employeeNoString>W0</employeeNoString>" in seen[0]
            assert b"Connection: keep-alive" in seen[0] and b"Date: " in seen[0]
            pusher = next(iter(device._pushers.values()))
            assert pusher.connects == 1  # both events over one keep-alive connection
    finally:
        sink.close()


async def test_isapi_events_wait_for_a_listening_host(journal: Journal, people: list[Any]) -> None:
    device = IsapiDevice("gate-8", password=PASSWORD, journal=journal, retry_delay=0.05)
    device.enrolled["W0"] = Enrolled("W0", people[0].name, face=people[0].photo)
    await device.start()
    try:
        async with receiver() as rx:
            device.present_face("W0")
            device.present_face(None)
            await asyncio.sleep(0.1)
            assert len(device.outbox) == 2  # no host yet: held, not lost
            async with httpx.AsyncClient(base_url=device.url, auth=httpx.DigestAuth("admin", PASSWORD)) as client:
                await client.put("/ISAPI/Event/notification/httpHosts", content=hosts_xml(rx.port))
            got = await rx.wait_for(2)
            assert [r.inner["serialNo"] for r in got] == [1, 2]
    finally:
        await device.stop()


async def test_isapi_id_card_event(journal: Journal, people: list[Any]) -> None:
    async with receiver() as rx, gate(journal, people, rx) as (device, _):
        info = {"name": people[0].name, "idNum": people[0].id_number, "sex": "male"}
        event = device.swipe_id_card(info, photo=people[0].photo)
        assert event is not None and event.employee_no == "W0"
        got = await rx.wait_for(1)
        assert got[0].event["eventType"] == "IDCardInfoEvent"
        inner = got[0].event["IDCardInfoEvent"]
        assert inner["subEventType"] == 105 and inner["IDCardInfo"]["idNum"] == people[0].id_number
        assert inner["employeeNoString"] == "W0"
