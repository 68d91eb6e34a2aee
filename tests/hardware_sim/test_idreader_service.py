"""The virtual ID-card reader's local services over real sockets on 127.0.0.1: the HTTP
``/cgi-bin/readCard`` shape, the ``ws://…:1919`` WebSocket shape, the 华视-style service, the control
API, the remove-before-next-read rule and malformed input."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from fixtures.fake.people import Person
from hardware_sim import kinds
from hardware_sim.device import DeviceClock
from hardware_sim.idreader import card as c
from hardware_sim.idreader.reader import BAD_REQUEST, NO_CARD, NO_DEVICE, NOT_REMOVED, ReadError, VirtualReader
from hardware_sim.journal import Journal

INFO_KEYS = {
    "certType",
    "name",
    "sex",
    "nation",
    "birthday",
    "address",
    "idCode",
    "department",
    "startDate",
    "endDate",
    "Photo",
}


@pytest.fixture
async def reader(journal: Journal) -> AsyncIterator[VirtualReader]:
    device = VirtualReader("idr-1", journal=journal, hx_port=0)
    await device.start()
    try:
        yield device
    finally:
        await device.stop()


@pytest.fixture
async def http(reader: VirtualReader) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=reader.urls["http"], timeout=5) as client:
        yield client


async def read_card(http: httpx.AsyncClient, **kwargs: Any) -> dict[str, Any]:
    response = await http.post("/cgi-bin/readCard", **kwargs)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_ports_are_bound_on_localhost(reader: VirtualReader) -> None:
    assert all(p and p > 0 for p in (reader.http_port, reader.ws_port, reader.hx_port))
    assert reader.urls["readCard"] == f"http://127.0.0.1:{reader.http_port}/cgi-bin/readCard"
    assert reader.urls["ws"] == f"ws://127.0.0.1:{reader.ws_port}"


async def test_http_read_without_card(http: httpx.AsyncClient, reader: VirtualReader) -> None:
    data = await read_card(http)
    assert data["result"] == {"resultFlag": NO_CARD, "errorMsg": "未放卡或读卡失败"}
    assert data["info"] == {}
    assert reader.journal.entries("idr-1", "id_card_read")[-1]["ok"] is False


async def test_http_read_with_card(http: httpx.AsyncClient, reader: VirtualReader, people: list[Person]) -> None:
    p = people[0]
    reader.place(p)
    data = await read_card(http)
    assert data["result"] == {"resultFlag": 0, "errorMsg": ""}
    info = data["info"]
    assert INFO_KEYS <= set(info)
    assert info["certType"] == "1" and info["cardTypeFlag"] == " "
    assert info["name"] == p.name and info["idCode"] == p.id_number and info["address"] == p.address
    assert info["sex"] == ("男" if p.male else "女") and info["sexCode"] == ("1" if p.male else "2")
    assert info["gender"] == p.gender and info["nation"] == p.nation and info["nationCode"]
    assert info["birthday"] == f"{p.birth:%Y%m%d}" and info["department"] == p.grant_org
    assert info["startDate"] == f"{p.valid_from:%Y%m%d}"
    assert info["endDate"] == (p.valid_to if p.valid_to == "长期" else p.valid_to.replace("-", ""))
    assert base64.b64decode(info["Photo"])[:2] == b"\xff\xd8"  # JPEG
    assert "raw" not in info
    entry = reader.journal.entries("idr-1", "id_card_read")[-1]
    assert entry["ok"] is True and entry["number"] == p.id_number and entry["service"] == "http"


async def test_card_must_leave_the_field_before_the_next_read(
    http: httpx.AsyncClient, reader: VirtualReader, people: list[Person]
) -> None:
    reader.place(people[1])
    assert (await read_card(http))["result"]["resultFlag"] == 0
    again = await read_card(http)
    assert again["result"]["resultFlag"] == NOT_REMOVED and again["info"] == {}
    reader.remove()
    assert (await read_card(http))["result"]["resultFlag"] == NO_CARD
    reader.place(people[1])
    assert (await read_card(http))["result"]["resultFlag"] == 0
    assert reader.reads == 2 and reader.failed_reads == 2


async def test_removal_rule_can_be_switched_off(people: list[Person]) -> None:
    device = VirtualReader("idr-2", require_removal=False, ws_port=None)
    await device.start()
    try:
        device.place(people[2])
        async with httpx.AsyncClient(base_url=device.urls["http"]) as client:
            for _ in range(3):
                assert (await read_card(client))["result"]["resultFlag"] == 0
    finally:
        await device.stop()
    assert "ws" not in device.urls


async def test_raw_frame_and_bmp_photo(people: list[Person]) -> None:
    device = VirtualReader("idr-3", photo_format="bmp", ws_port=None)
    await device.start()
    try:
        card = device.place(people[3])
        async with httpx.AsyncClient(base_url=device.urls["http"]) as client:
            info = (await read_card(client, json={"raw": True}))["info"]
    finally:
        await device.stop()
    frame = base64.b64decode(info["raw"])
    parsed = c.parse_sam_frame(frame)
    assert parsed.text == c.encode(card) and len(parsed.photo) == 1024
    assert len(base64.b64decode(info["Photo"])) == 38_862 and info["photoFormat"] == "bmp"


async def test_read_waits_for_a_card_when_asked(reader: VirtualReader, people: list[Person]) -> None:
    async def place_later() -> None:
        await asyncio.sleep(0.05)
        reader.place(people[0])

    task = asyncio.create_task(place_later())
    card = await reader.read(wait=2)
    await task
    assert card.number == people[0].id_number
    with pytest.raises(ReadError) as info:
        await reader.read(wait=0.05)  # the same card is still there, already read
    assert info.value.code == NOT_REMOVED


async def test_websocket_read(reader: VirtualReader, people: list[Person]) -> None:
    async with connect(reader.urls["ws"]) as ws:
        await ws.send(json.dumps({"type": 4}))
        empty = json.loads(await ws.recv())
        assert empty["fun"] == "OnAfterGWQ_ReadID" and empty["ErrorCode"] == NO_CARD and empty["JsonData"] == {}
        reader.place(people[4])
        await ws.send(json.dumps({"type": 4}))
        got = json.loads(await ws.recv())
        assert got["ErrorCode"] == 0
        assert INFO_KEYS <= set(got["JsonData"])
        assert got["JsonData"]["idCode"] == people[4].id_number
        await ws.send('{"type": "4"}')
        assert json.loads(await ws.recv())["ErrorCode"] == NOT_REMOVED
    assert [e["service"] for e in reader.journal.entries("idr-1", "id_card_read")] == ["ws", "ws", "ws"]


async def test_websocket_json_data_as_string(people: list[Person]) -> None:
    device = VirtualReader("idr-4", json_data_as_string=True)
    await device.start()
    try:
        device.place(c.foreign_card(1))
        async with connect(f"{device.urls['ws']}/any/path") as ws:
            await ws.send(json.dumps({"type": 4}))
            got = json.loads(await ws.recv())
    finally:
        await device.stop()
    data = json.loads(got["JsonData"])
    assert data["certType"] == "Y" and data["idCode"] == c.foreign_card(1).permit_number


@pytest.mark.parametrize("message", ["not json", "[4]", '{"kind": 4}', '{"type": 7}', b"\x00\x01"])
async def test_websocket_malformed_messages(reader: VirtualReader, message: str | bytes) -> None:
    async with connect(reader.urls["ws"]) as ws:
        await ws.send(message)
        got = json.loads(await ws.recv())
        assert got["fun"] == "OnError" and got["ErrorCode"] == BAD_REQUEST
        await ws.send(json.dumps({"type": 4}))  # the connection survives
        assert json.loads(await ws.recv())["ErrorCode"] == NO_CARD


async def test_hx_service(reader: VirtualReader, people: list[Person]) -> None:
    async with httpx.AsyncClient(base_url=reader.urls["hx"]) as client:
        assert (await client.get("/OpenDevice")).json() == {"resultFlag": 0, "errorMsg": ""}
        assert (await client.post("/readCard")).json()["resultFlag"] == NO_CARD
        reader.place(people[5])
        content = (await client.get("/readCard")).json()["resultContent"]
        assert content["partyName"] == people[5].name and content["certNumber"] == people[5].id_number
        assert len(base64.b64decode(content["identityPic"])) == 38_862
        assert (await client.get("/nothing")).status_code == 404


async def test_control_endpoints(http: httpx.AsyncClient, reader: VirtualReader, people: list[Person]) -> None:
    placed = (await http.post("/control/place", json={"person": 1})).json()
    assert placed["ok"] is True and placed["card"]["id_number"] == people[1].id_number
    assert reader.card is not None and reader.card.number == people[1].id_number
    status = (await http.get("/control/status")).json()
    assert status["card"]["id_number"] == people[1].id_number and status["card_read"] is False
    assert status["kind"] == "idreader" and status["device"] == "idr-1"

    foreign = (await http.post("/control/place", json={"generate": "foreign", "seed": 2, "version": "2017"})).json()
    assert foreign["card"]["permit_number"] == c.foreign_card(2, version="2017").permit_number
    hmt = (await http.post("/control/place", json={"generate": "hmt", "seed": 2, "region": "MO"})).json()
    assert hmt["card"]["id_number"].startswith("820000")
    info = (await read_card(http))["info"]
    assert info["certType"] == "J" and info["passNumber"].startswith("M")

    card_json = c.card_to_json(c.resident_from_person(people[3]))
    assert (await http.post("/control/place", json={"card": card_json})).json()["ok"] is True
    assert (await read_card(http))["info"]["name"] == people[3].name

    assert (await http.post("/control/remove")).json() == {"ok": True}
    assert reader.card is None
    kinds_logged = [e["kind"] for e in reader.journal.entries("idr-1")]
    assert kinds_logged.count("card_placed") == 4 and "card_removed" in kinds_logged


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "exactly one"),
        ({"person": 1, "card": {}}, "exactly one"),
        ({"person": -1}, "fixture index"),
        ({"person": "0"}, "fixture index"),
        ({"generate": "passport"}, "generate"),
        ({"generate": "foreign", "version": "1999"}, "version"),
        ({"generate": "hmt", "region": "XX"}, "region"),
        ({"generate": "hmt", "seed": "x"}, "seed"),
        ({"card": {"type": "resident", "name": "张三"}}, "required"),
        ({"card": "张三"}, "JSON object"),
    ],
)
async def test_control_place_rejects_bad_bodies(http: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    response = await http.post("/control/place", json=body)
    assert response.status_code == 400
    data = response.json()
    assert data["ok"] is False and message in data["error"]


async def test_malformed_http_requests_get_json_errors(http: httpx.AsyncClient, reader: VirtualReader) -> None:
    headers = {"content-type": "application/json"}
    bad = await http.post("/cgi-bin/readCard", content=b"{not json", headers=headers)
    assert bad.status_code == 400 and bad.json()["result"]["resultFlag"] == BAD_REQUEST
    array = await http.post("/cgi-bin/readCard", content=b"[1]", headers=headers)
    assert array.status_code == 400 and array.json()["result"]["resultFlag"] == BAD_REQUEST
    form = await http.post("/cgi-bin/readCard", data={"a": "b"})  # other bodies are ignored, as services do
    assert form.status_code == 200 and form.json()["result"]["resultFlag"] == NO_CARD
    wrong_method = await http.get("/cgi-bin/readCard")
    assert wrong_method.status_code == 405 and wrong_method.json()["result"]["resultFlag"] == BAD_REQUEST
    missing = await http.post("/cgi-bin/nothing")
    assert missing.status_code == 404 and missing.json()["result"]["resultFlag"] == BAD_REQUEST
    invalid_utf8 = await http.post("/control/place", content=b"\xff\xfe{", headers=headers)
    assert invalid_utf8.status_code == 400 and invalid_utf8.json()["ok"] is False
    assert (await read_card(http))["result"]["resultFlag"] == NO_CARD  # still serving


async def test_cors_for_browser_pages(http: httpx.AsyncClient) -> None:
    preflight = await http.options(
        "/cgi-bin/readCard",
        headers={
            "Origin": "https://realname.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://realname.example.com")
    assert preflight.headers["access-control-allow-private-network"] == "true"
    response = await http.post("/cgi-bin/readCard", headers={"Origin": "https://realname.example.com"})
    assert response.headers["access-control-allow-origin"] == "*"


async def test_powered_off_reader(http: httpx.AsyncClient, reader: VirtualReader, people: list[Person]) -> None:
    reader.place(people[0])
    reader.power_off()
    assert (await read_card(http))["result"]["resultFlag"] == NO_DEVICE
    reader.power_on()
    assert (await read_card(http))["result"]["resultFlag"] == 0


async def test_registry_builds_the_reader_with_device_kwargs(journal: Journal) -> None:
    cls = kinds.resolve("idreader")
    assert cls is VirtualReader
    device = cls(
        "idr-5",
        host="127.0.0.1",
        port=0,  # the fleet passes the device's port as ``port``
        ws_port=0,
        journal=journal,
        clock=DeviceClock(drift_ppm=5),
        direction="out",
        buffer_limit=10,
        batch_size=5,
        retry_delay=0.1,
    )
    await device.start()
    assert device.port == device.http_port > 0
    await device.stop()
    await device.stop()  # idempotent
    assert [e["kind"] for e in journal.entries("idr-5")] == ["started", "stopped"]
    with pytest.raises(NotImplementedError):
        await device.deliver([])
