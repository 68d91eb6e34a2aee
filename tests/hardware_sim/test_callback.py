"""The template-driven HTTP-callback terminal: Uniubi WO (device-local API + callbackUrl) and FC
HTTPv2 (keepalive, task pull, multipart records), each against a vendor server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fixtures.fake.people import Person
from hardware_sim.callback import CallbackDevice, TemplateError, load_template, render
from hardware_sim.device import BEIJING, Enrolled
from hardware_sim.journal import Journal
from tests.hardware_sim.peers import serve, wait_until


async def form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


async def multipart(request: Request) -> dict[str, bytes]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + await request.body())
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    return parts


# -- templates ------------------------------------------------------------------------------------
def test_builtin_templates_load() -> None:
    assert load_template("uniubi-wo").local_api is not None
    fc = load_template("fc-httpv2")
    assert fc.keepalive is not None and fc.keepalive.gate_records and fc.transport.retries == 3


def test_template_errors_are_clear(tmp_path: Path) -> None:
    base: dict[str, Any] = {"name": "acme", "records": {"url": "/push", "body": {"who": "{employe_no}"}}}
    with pytest.raises(TemplateError, match=r"records\.body: unknown placeholder \{employe_no\}"):
        load_template(base)
    with pytest.raises(TemplateError, match="pull 'people' is not defined"):
        load_template(
            {
                **base,
                "records": {"url": "/p"},
                "keepalive": {"url": "/k", "triggers": [{"field": "A", "pull": "people"}]},
            }
        )
    with pytest.raises(TemplateError, match=r"records\.encoding"):
        load_template({"name": "x", "records": {"url": "/p", "encoding": "xml"}})
    with pytest.raises(TemplateError, match="neither a built-in"):
        load_template("no-such-template")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_template(bad)
    good = tmp_path / "acme.yaml"
    good.write_text("name: acme\nrecords:\n  url: /push\n  body: {who: '{employee_no}', at: '{time_str}'}\n")
    assert load_template(good).records.body["who"] == "{employee_no}"


def test_render_keeps_types() -> None:
    context = {"n": 7, "s": "x", "none": None}
    assert render({"a": "{n}", "b": "n={n}{s}", "c": "{none}", "d": ["{s}"], "e": 3, "f": "{{lit}}"}, context) == {
        "a": 7,
        "b": "n=7x",
        "c": None,
        "d": ["x"],
        "e": 3,
        "f": "{lit}",
    }


# -- Uniubi WO ------------------------------------------------------------------------------------
@dataclass
class UniubiReceiver:
    callbacks: list[dict[str, str]] = field(default_factory=list)
    heartbeats: list[dict[str, str]] = field(default_factory=list)
    replies: list[Any] = field(default_factory=list)  # consumed one per callback; default OK

    async def callback(self, request: Request) -> Response:
        data = await form(request)
        if self.replies:
            reply = self.replies.pop(0)
            if isinstance(reply, Response):
                return reply
            return JSONResponse(reply)
        self.callbacks.append(data)
        return JSONResponse({"result": 1, "success": True})

    async def heartbeat(self, request: Request) -> Response:
        self.heartbeats.append(await form(request))
        return JSONResponse({"result": 1, "success": True})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/callback", self.callback, methods=["POST"]),
                Route("/heartbeat", self.heartbeat, methods=["POST"]),
            ]
        )


@contextlib.asynccontextmanager
async def uniubi(journal: Journal, **options: Any) -> AsyncIterator[tuple[CallbackDevice, UniubiReceiver, str]]:
    receiver = UniubiReceiver()
    async with serve(receiver.app()) as url:
        device = CallbackDevice(
            "uface-1", template="uniubi-wo", local_port=0, device_sn="84E0F42A1B2C", journal=journal, **options
        )
        device.retry_delay = 0.02
        await device.start()
        try:
            yield device, receiver, url
        finally:
            await device.stop()


async def test_uniubi_local_api_enrols_and_callbacks_arrive(journal: Journal, people: list[Person]) -> None:
    async with uniubi(journal) as (device, receiver, url), httpx.AsyncClient(base_url=device.local_url) as api:
        assert (await api.get("/getDeviceKey")).json()["data"] == "84E0F42A1B2C"
        denied = (await api.post("/setIdentifyCallBack", data={"pass": "wrong", "callbackUrl": "x"})).json()
        assert denied["success"] is False and denied["msg"] == "password error"
        # an event before the callback URL is set waits in the buffer
        device.present_face(None)
        for i, p in enumerate(people[:2], start=1):
            person = json.dumps({"id": str(i), "name": p.name, "idcardNum": p.id_number}, ensure_ascii=False)
            reply = (await api.post("/person/create", data={"pass": "12345678", "person": person})).json()
            assert reply["result"] == 1 and reply["success"] is True
            face = {
                "pass": "12345678",
                "personId": str(i),
                "faceId": f"f{i}",
                "imgBase64": base64.b64encode(p.photo).decode(),
            }
            assert (await api.post("/face/create", data=face)).json()["success"] is True
        dup = (await api.post("/person/create", data={"pass": "12345678", "person": '{"id":"1","name":"x"}'})).json()
        assert dup["success"] is False
        assert device.enrolled["2"].id_number == people[1].id_number and device.enrolled["2"].face == people[1].photo
        found = (await api.post("/person/find", data={"pass": "12345678", "id": "-1"})).json()["data"]
        assert [row["id"] for row in found] == ["1", "2"]

        await asyncio.sleep(0.1)
        assert receiver.callbacks == []
        cb = await api.post("/setIdentifyCallBack", data={"pass": "12345678", "callbackUrl": f"{url}/callback"})
        assert cb.json()["success"] is True
        event = device.present_face("1")
        await wait_until(lambda: len(receiver.callbacks) == 2)
        stranger, face_pass = receiver.callbacks
        assert stranger["personId"] == "STRANGERBABY" and stranger["type"] == "face_2"
        assert event is not None
        assert face_pass["personId"] == "1" and face_pass["type"] == "face_0"
        assert face_pass["deviceKey"] == "84E0F42A1B2C"
        assert int(face_pass["time"]) == int(event.at.timestamp() * 1000)
        assert base64.b64decode(face_pass["imgBase64"]) == people[0].photo

        assert (await api.post("/person/delete", data={"pass": "12345678", "id": "2"})).json()["success"] is True
        assert list(device.enrolled) == ["1"]


async def test_uniubi_unacknowledged_callbacks_are_retried_in_order(journal: Journal, people: list[Person]) -> None:
    async with uniubi(journal) as (device, receiver, url):
        device.set_vars(callback_url=f"{url}/callback")
        receiver.replies = [{"result": 0, "success": False}, PlainTextResponse("oops", 500), "not json at all"]
        device.enrolled["7"] = Enrolled("7", face=people[0].photo)  # a face the camera can recognise
        first = device.present_face("7")
        second = device.present_face(None)
        await wait_until(lambda: len(receiver.callbacks) == 2 and not device.outbox)
        assert [c["personId"] for c in receiver.callbacks] == ["7", "STRANGERBABY"]
        assert first is not None and first.attempts == 4 and second is not None and second.attempts == 1


async def test_uniubi_heartbeat_follows_the_configured_url(journal: Journal) -> None:
    async with uniubi(journal, keepalive_interval=0.05) as (device, receiver, url):
        await asyncio.sleep(0.1)
        assert receiver.heartbeats == []
        async with httpx.AsyncClient(base_url=device.local_url) as api:
            await api.post("/setDeviceHeartBeat", data={"pass": "12345678", "url": f"{url}/heartbeat"})
        await wait_until(lambda: len(receiver.heartbeats) >= 2)
        assert receiver.heartbeats[0]["deviceKey"] == "84E0F42A1B2C"


async def test_uniubi_local_api_survives_garbage(journal: Journal) -> None:
    async with uniubi(journal) as (device, _, _url), httpx.AsyncClient(base_url=device.local_url) as api:
        for path, body in [
            ("/person/create", {"pass": "12345678", "person": "{not json"}),
            ("/face/create", {"pass": "12345678", "personId": "404", "imgBase64": "!!"}),
            ("/setTime", {"pass": "12345678", "timestamp": "soon"}),
        ]:
            reply = await api.post(path, data=body)
            assert reply.status_code == 200 and reply.json()["success"] is False
        raw = await api.post("/person/create", content=b"\xff\xfe{{", headers={"content-type": "application/json"})
        assert raw.status_code == 200 and raw.json()["success"] is False
        ok = await api.post("/setTime", data={"pass": "12345678", "timestamp": "1767225600000"})
        assert ok.json()["success"] is True and device.clock.now().isoformat().startswith("2026-01-01T08:00:00")


# -- FC HTTPv2 -------------------------------------------------------------------------------------
@dataclass
class FcServer:
    success: int = 1
    add: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    keepalives: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    photos: list[bytes] = field(default_factory=list)
    delete_reports: list[dict[str, Any]] = field(default_factory=list)
    record_attempts: int = 0
    fail_records: int = 0  # next N record posts fail
    garbage_keepalives: int = 0

    async def keepalive(self, request: Request) -> Response:
        self.keepalives.append(await request.json())
        if self.garbage_keepalives > 0:
            self.garbage_keepalives -= 1
            return PlainTextResponse("<html>502 bad gateway</html>", 200)
        return JSONResponse(
            {"Success": self.success, "AddPeople": len(self.add), "DeletePeople": len(self.delete), "Remote": 0}
        )

    async def select_pass(self, request: Request) -> Response:
        limit = (await request.json())["Limit"]
        batch, self.add = self.add[:limit], self.add[limit:]
        return JSONResponse({"Success": 1, "Data": batch})

    async def select_delete(self, request: Request) -> Response:
        batch, self.delete = self.delete, []
        return JSONResponse({"Success": 1, "DeleteAll": 0, "DeleteList": batch})

    async def delete_result(self, request: Request) -> Response:
        self.delete_reports.append(await request.json())
        return JSONResponse({"Success": 1})

    async def record(self, request: Request) -> Response:
        self.record_attempts += 1
        if self.fail_records > 0:
            self.fail_records -= 1
            return JSONResponse({"Success": 0, "Message": "db busy"}, status_code=500)
        parts = await multipart(request)
        detail = json.loads(parts["RecordDetail"])
        self.records.append({"SN": parts["SN"].decode(), **detail})
        if "Photo" in parts:
            self.photos.append(parts["Photo"])
        return JSONResponse({"Success": 1})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/Device/Keepalive", self.keepalive, methods=["POST"]),
                Route("/devicePass/selectPassInfo", self.select_pass, methods=["POST"]),
                Route("/devicePass/selectDeleteInfo", self.select_delete, methods=["POST"]),
                Route("/People/DeletePeopleListResult", self.delete_result, methods=["POST"]),
                Route("/Record/UploadIdentifyRecord", self.record, methods=["POST"]),
            ]
        )


@contextlib.asynccontextmanager
async def fc(journal: Journal, server: FcServer, **options: Any) -> AsyncIterator[CallbackDevice]:
    async with serve(server.app()) as url:
        settings: dict[str, Any] = {"keepalive_interval": 0.05, **options}
        device = CallbackDevice(
            "fc-1", template="fc-httpv2", server_url=url, device_sn="FC-8200H-001", journal=journal, **settings
        )
        await device.start()
        try:
            yield device
        finally:
            await device.stop()


def fc_person(i: int, p: Person) -> dict[str, Any]:
    return {"UserID": str(i), "Name": p.name, "IdentityCard": p.id_number, "Photo": base64.b64encode(p.photo).decode()}


async def test_fc_pulls_people_and_pushes_records(journal: Journal, people: list[Person]) -> None:
    server = FcServer(add=[fc_person(i, p) for i, p in enumerate(people[:3], start=1)])
    async with fc(journal, server, direction="out") as device:
        await wait_until(lambda: len(device.enrolled) == 3 and all(p.face for p in device.enrolled.values()))
        assert server.keepalives[0]["SN"] == "FC-8200H-001"
        event = device.present_face("2")
        device.present_face(None)
        await wait_until(lambda: len(server.records) == 2)
        record, stranger = server.records
        assert event is not None
        assert record["SN"] == "FC-8200H-001" and record["RecordID"] == event.serial_no
        assert record["RecordType"] == 3 and record["UserID"] == "2" and record["Name"] == people[1].name
        assert record["IdentityCard"] == people[1].id_number and record["IsEntry"] == 0
        assert record["RecordDate"] == int(event.at.timestamp()) and record["PhotoLen"] == len(people[1].photo)
        assert server.photos == [people[1].photo]
        assert stranger["RecordType"] == 19 and stranger["UserID"] is None

        server.delete = ["1", "3"]
        await wait_until(lambda: list(device.enrolled) == ["2"] and bool(server.delete_reports))
        assert server.delete_reports[0]["DeleteList"] == ["1", "3"]


async def test_fc_failed_record_retries_three_times_then_waits_for_keepalive(journal: Journal) -> None:
    server = FcServer(fail_records=6)
    async with fc(journal, server, keepalive_interval=0.3) as device:
        await wait_until(lambda: device.keepalives_ok >= 1)
        device.present_face(None)
        await wait_until(lambda: server.record_attempts == 4)  # 1 + 3 retries
        await asyncio.sleep(0.1)
        assert server.record_attempts == 4 and not server.records  # asleep until the next keepalive
        await wait_until(lambda: len(server.records) == 1 and not device.outbox)
        assert server.record_attempts == 7


async def test_fc_silenced_by_401_then_backlog_after_good_keepalive(journal: Journal) -> None:
    server = FcServer(success=401)
    async with fc(journal, server) as device:
        await wait_until(lambda: len(server.keepalives) >= 2)
        for _ in range(3):
            device.present_face(None)
        await asyncio.sleep(0.2)
        assert device.silenced and server.records == [] and len(server.keepalives) >= 3
        server.success = 1
        await wait_until(lambda: len(server.records) == 3)
        assert [r["RecordID"] for r in server.records] == [1, 2, 3] and not device.silenced


async def test_fc_backlog_after_network_drop_in_order(journal: Journal) -> None:
    server = FcServer()
    async with fc(journal, server) as device:
        await wait_until(lambda: device.keepalives_ok >= 1)
        device.network_drop(30)
        events = [device.present_face(None) for _ in range(5)]
        await asyncio.sleep(0.15)
        assert server.records == []
        device.network_restore()
        await wait_until(lambda: len(server.records) == 5)
        assert [r["RecordID"] for r in server.records] == [e.serial_no for e in events if e]
        assert all(e is not None and not e.current for e in events)


async def test_fc_garbage_keepalive_replies_never_crash(journal: Journal) -> None:
    server = FcServer(garbage_keepalives=3)
    async with fc(journal, server) as device:
        device.present_face(None)
        await wait_until(lambda: len(server.records) == 1)
        assert len(server.keepalives) >= 4
        assert device._keepalive_task is not None and not device._keepalive_task.done()


def test_the_documented_example_template_is_valid() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "devices" / "callback.md").read_text("utf-8")
    example = doc.split("## Template format", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    template = load_template(yaml.safe_load(example))
    assert template.name == "acme-gate" and template.pulls["people"].action == "add_person"


# -- the gate's verdicts through a template ---------------------------------------------------------
NOW = datetime(2026, 3, 2, 7, 30, tzinfo=BEIJING)


def gate_roster(device: CallbackDevice, people: list[Person]) -> None:
    """1 admitted, 2 issued without a face, 3 not yet valid, 4 expired, 5 blocklisted (cards C1, C5)."""
    device.clock.set(NOW)
    for i, p in enumerate(people[:5], start=1):
        device.enrolled[str(i)] = Enrolled(str(i), p.name, face=None if i == 2 else p.photo, card_no=f"C{i}")
    device.enrolled["3"].valid_from = datetime(2026, 4, 1, tzinfo=BEIJING)
    device.enrolled["4"].valid_to = datetime(2026, 3, 2, 7, 29, 59, tzinfo=BEIJING)
    device.enrolled["5"].blocklisted = True


def present_every_case(device: CallbackDevice) -> list[str]:
    events = [device.present_face(str(i)) for i in range(1, 6)]
    events += [device.swipe_card("C1"), device.swipe_card("C404"), device.swipe_card("C5")]
    return [str(e.kind) if e else "" for e in events]


VERDICTS = [
    "face_pass",
    "stranger",
    "outside_validity",
    "outside_validity",
    "blocklisted",
    "card_pass",
    "card_unknown",
    "blocklisted",
]


async def test_uniubi_callbacks_follow_the_gate_verdicts(journal: Journal, people: list[Person]) -> None:
    async with uniubi(journal) as (device, receiver, url):
        device.set_vars(callback_url=f"{url}/callback")
        gate_roster(device, people)
        assert present_every_case(device) == VERDICTS
        await wait_until(lambda: len(receiver.callbacks) == len(VERDICTS))
    got = [(c["personId"], c["type"]) for c in receiver.callbacks]
    assert got == [
        ("1", "face_0"),
        ("STRANGERBABY", "face_2"),  # enrolled without a face: not recognised
        ("3", "face_1"),  # outside validity, named
        ("4", "face_1"),
        ("5", "face_2"),  # blocklisted: refused, named
        ("1", "card_0"),
        ("STRANGERBABY", "card_2"),
        ("5", "face_2"),
    ]


async def test_fc_records_follow_the_gate_verdicts(journal: Journal, people: list[Person]) -> None:
    server = FcServer()
    async with fc(journal, server) as device:
        gate_roster(device, people)
        assert present_every_case(device) == VERDICTS
        await wait_until(lambda: len(server.records) == len(VERDICTS))
    got = [(r["UserID"], r["RecordType"]) for r in server.records]
    assert got == [("1", 3), (None, 19), ("3", 16), ("4", 16), ("5", 16), ("1", 4), (None, 48), ("5", 16)]


def test_every_local_api_action_a_template_may_name_has_one_handler() -> None:
    from typing import get_args

    from hardware_sim.callback.local_api import ACTIONS
    from hardware_sim.callback.template import LocalAction

    assert set(ACTIONS) == set(get_args(LocalAction))
