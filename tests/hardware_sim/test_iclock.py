"""The ZKTeco PUSH (iclock) device against a small vendor-side iclock server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixtures.fake.people import Person
from hardware_sim.device import BEIJING
from hardware_sim.iclock import IclockDevice, parse_fields, parse_options
from hardware_sim.journal import Journal
from tests.hardware_sim.peers import serve, wait_until

SN = "ZK-SIM-0001"


@dataclass
class ZkServer:
    """What a vendor's iclock endpoint does, reduced to what the tests look at."""

    options: dict[str, str] = field(default_factory=lambda: {"Delay": "1", "ErrorDelay": "2", "TimeZone": "8"})
    stamp: str = "None"
    commands: list[str] = field(default_factory=list)
    attlog_batches: list[list[str]] = field(default_factory=list)
    idcard_lines: list[str] = field(default_factory=list)
    operlog_lines: list[str] = field(default_factory=list)
    photos: list[tuple[str, bytes]] = field(default_factory=list)
    results: list[dict[str, str]] = field(default_factory=list)
    result_extras: list[str] = field(default_factory=list)
    handshakes: list[dict[str, str]] = field(default_factory=list)
    handshake_headers: list[dict[str, str]] = field(default_factory=list)
    polls: list[dict[str, str]] = field(default_factory=list)
    pings: int = 0
    attlog_replies: list[tuple[int, str]] = field(default_factory=list)  # consumed one per ATTLOG post
    refuse_handshakes: int = 0
    server_time: datetime | None = None  # a wrong server clock, if set
    getrequest_body: Callable[[], str] | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    cmd_seq: int = 0

    def queue(self, command: str) -> str:
        self.cmd_seq += 1
        cmd_id = f"{self.cmd_seq}"
        self.commands.append(f"C:{cmd_id}:{command}")
        return cmd_id

    def attlog(self) -> list[list[str]]:
        return [line.split("\t") for batch in self.attlog_batches for line in batch]

    def _headers(self) -> dict[str, str]:
        now = self.server_time or datetime.now(UTC)
        return {"Date": format_datetime(now.astimezone(UTC), usegmt=True)}

    def reply(self, text: str, status: int = 200) -> Response:
        # Chinese-language firmware reads GB2312: a vendor server has to encode its replies so
        return Response(text.encode("gb18030"), status_code=status, headers=self._headers(), media_type="text/plain")

    async def cdata(self, request: Request) -> Response:
        q = dict(request.query_params)
        if request.method == "GET":
            if self.refuse_handshakes > 0:
                self.refuse_handshakes -= 1
                return self.reply("unknown device", 403)
            self.handshakes.append(q)
            self.handshake_headers.append(dict(request.headers))
            lines = [
                f"GET OPTION FROM: {q['SN']}",
                f"ATTLOGStamp={self.stamp}",
                "OPERLOGStamp=9999",
                "ATTPHOTOStamp=None",
                "Realtime=1",
                "TransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser",
            ]
            lines += [f"{k}={v}" for k, v in self.options.items()]
            return self.reply("\n".join(lines) + "\n")
        body = await request.body()
        table = q.get("table", "")
        if table == "ATTPHOTO":
            head, _, jpeg = body.partition(b"\0")
            self.photos.append((head.decode(), jpeg))
            return self.reply("OK")
        text = body.decode("utf-8" if table == "IDCARD" else "gb18030")  # ID-card fields are UTF-8
        lines = [line for line in text.split("\n") if line.strip()]
        if table == "ATTLOG":
            if self.attlog_replies:
                status, reply = self.attlog_replies.pop(0)
                if reply != "OK" or status != 200:
                    return self.reply(reply, status)
            self.attlog_batches.append(lines)
            self.stamp = q.get("Stamp", self.stamp)
        elif table == "IDCARD":
            self.idcard_lines += lines
        elif table == "OPERLOG":
            self.operlog_lines += lines
        return self.reply(f"OK: {len(lines)}")

    async def getrequest(self, request: Request) -> Response:
        self.polls.append(dict(request.query_params))
        if self.getrequest_body is not None:
            return self.reply(self.getrequest_body())
        if not self.commands:
            return self.reply("OK")
        text = "\n".join(self.commands) + "\n"
        self.commands.clear()
        return self.reply(text)

    async def devicecmd(self, request: Request) -> Response:
        for line in (await request.body()).decode("gb18030").split("\n"):
            if line.startswith("ID="):
                self.results.append(dict(part.split("=", 1) for part in line.split("&")))
            elif line.strip():
                self.result_extras.append(line)
        return self.reply("OK")

    async def ping(self, request: Request) -> Response:
        self.pings += 1
        return self.reply("OK")

    async def file(self, request: Request) -> Response:
        data = self.files.get(request.path_params["name"])
        return Response(data, media_type="image/jpeg") if data else Response(status_code=404)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/iclock/cdata", self.cdata, methods=["GET", "POST"]),
                Route("/iclock/getrequest", self.getrequest),
                Route("/iclock/devicecmd", self.devicecmd, methods=["POST"]),
                Route("/iclock/ping", self.ping),
                Route("/photos/{name}", self.file),
            ]
        )


@contextlib.asynccontextmanager
async def running(zk: ZkServer, journal: Journal, **options: Any) -> AsyncIterator[IclockDevice]:
    async with serve(zk.app(), date_header=False, server_header=False) as url:
        settings: dict[str, Any] = {"time_scale": 0.02, "batch_size": 62, **options}
        device = IclockDevice("gate-1", server_url=url, serial_number=SN, journal=journal, **settings)
        await device.start()
        try:
            yield device
        finally:
            await device.stop()


def userinfo(pin: str, person: Person) -> str:
    fields = f"PIN={pin}\tName={person.name}\tPri=0\tPasswd=\tCard=[0000A1B2]\tGrp=1\tTZ=0000000100000000"
    return f"DATA UPDATE USERINFO {fields}"


def biophoto(pin: str, photo: bytes) -> str:
    content = base64.b64encode(photo).decode()
    return (
        f"DATA UPDATE BIOPHOTO PIN={pin}\tType=9\tSize={len(content)}\tContent={content}\tFormat=0\tPostBackTmpFlag=0"
    )


async def enrol(zk: ZkServer, device: IclockDevice, people: list[Person], count: int) -> None:
    for i, person in enumerate(people[:count], start=1):
        zk.queue(userinfo(str(i), person))
        zk.queue(biophoto(str(i), person.photo))
    await wait_until(lambda: sum(1 for p in device.enrolled.values() if p.face) == count)


def test_option_and_field_parsers() -> None:
    assert parse_options("GET OPTION FROM: X\r\nDelay = 5\r\njunk\nTransFlag=TransData AttLog\tOpLog\n") == {
        "Delay": "5",
        "TransFlag": "TransData AttLog\tOpLog",
    }
    assert parse_fields("PIN=1\tName=张 三\tCard=") == {"PIN": "1", "Name": "张 三", "Card": ""}
    assert parse_fields("PIN=1 Name=Li Si Grp=1") == {"PIN": "1", "Name": "Li Si", "Grp": "1"}


async def test_handshake_enrols_users_and_faces(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    async with running(zk, journal) as device:
        await wait_until(lambda: bool(zk.handshakes))
        hs = zk.handshakes[0]
        assert hs["SN"] == SN and hs["options"] == "all" and hs["pushver"] == "2.4.1" and hs["language"] == "83"
        assert zk.handshake_headers[0]["user-agent"] == "iClock Proxy/1.09"
        await wait_until(lambda: bool(zk.polls))
        assert zk.polls[0]["INFO"].split(",")[1] == "0"  # first poll reports users = 0
        assert device.poll_delay == pytest.approx(0.02) and device.error_delay == pytest.approx(0.04)

        await enrol(zk, device, people, 2)
        zk.files["p3.jpg"] = people[2].photo
        zk.queue(userinfo("3", people[2]))
        zk.queue("DATA UPDATE BIOPHOTO PIN=3\tType=9\tFormat=1\tUrl=/photos/p3.jpg")
        await wait_until(lambda: device.enrolled.get("3") is not None and device.enrolled["3"].face is not None)
        await wait_until(lambda: len(zk.results) == 6)
        assert {r["Return"] for r in zk.results} == {"0"} and {r["CMD"] for r in zk.results} == {"DATA"}
        assert device.enrolled["1"].name == people[0].name  # GB2312 / GB18030 round trip
        assert device.enrolled["1"].card_no == str(0xA1B2)
        assert device.enrolled["3"].face == people[2].photo

        zk.queue("DATA DELETE USERINFO PIN=2")
        await wait_until(lambda: "2" not in device.enrolled)
        await wait_until(lambda: len(zk.results) == 7)
    assert journal.entries("gate-1", "handshake_ok")


async def test_attendance_lines_have_pin_time_status_verify_and_photos(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    async with running(zk, journal, direction="out") as device:
        await enrol(zk, device, people, 2)
        device.enrolled["2"].card_no = "123456"
        face = device.present_face("1")
        card = device.swipe_card("123456")
        device.present_face(None)  # a stranger is not an attendance record
        device.present_face("1", spoof=True)  # nor a liveness failure
        assert face is not None and card is not None
        await wait_until(lambda: len(zk.attlog()) == 2 and len(zk.photos) == 1 and not device.outbox)
        first, second = zk.attlog()
        assert first == ["1", face.at.strftime("%Y-%m-%d %H:%M:%S"), "1", "15", "0", "0", "0"]
        assert second[:4] == ["2", card.at.strftime("%Y-%m-%d %H:%M:%S"), "1", "4"]
        head, jpeg = zk.photos[0]
        assert head.startswith(f"PIN={face.at.strftime('%Y%m%d%H%M%S')}-1.jpg\nSN={SN}\nsize={len(people[0].photo)}")
        assert jpeg == people[0].photo
        assert device.stamps["ATTLOG"] == card.serial_no


async def test_backlog_after_network_drop_is_batched_in_order(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    async with running(zk, journal, batch_size=5, upload_photos=False) as device:
        await enrol(zk, device, people, 3)
        device.network_drop(30)
        events = [device.present_face(str(1 + i % 3)) for i in range(12)]
        await asyncio.sleep(0.1)
        assert not zk.attlog_batches and len(device.outbox) == 12
        device.network_restore()
        await wait_until(lambda: len(zk.attlog()) == 12)
        assert [len(b) for b in zk.attlog_batches] == [5, 5, 2]
        pins = [line[0] for line in zk.attlog()]
        assert pins == [e.employee_no for e in events if e is not None]
        assert all(e is not None and not e.current for e in events)


async def test_error_replies_leave_records_unacknowledged_and_resent(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer(attlog_replies=[(200, "ERROR: database down"), (500, "Internal Server Error"), (200, "OK")])
    async with running(zk, journal, upload_photos=False) as device:
        await enrol(zk, device, people, 1)
        event = device.present_face("1")
        await wait_until(lambda: len(zk.attlog()) == 1 and not device.outbox)
        assert zk.attlog()[0][0] == "1" and event is not None and event.attempts == 3
        assert len(journal.entries("gate-1", "attlog_unacknowledged")) == 2


async def test_resumes_from_the_servers_stamp_after_check(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    async with running(zk, journal, upload_photos=False, batch_size=1) as device:
        await enrol(zk, device, people, 1)
        events = [device.present_face("1") for _ in range(3)]
        await wait_until(lambda: len(zk.attlog()) == 3)
        # the server lost the last two records: it rewinds its stamp and asks the device to CHECK
        zk.stamp = str(events[0].serial_no if events[0] else 0)
        zk.queue("CHECK")
        await wait_until(lambda: len(zk.attlog()) == 5)
        assert [b[0].split("\t")[1] for b in zk.attlog_batches[3:]] == [
            e.at.strftime("%Y-%m-%d %H:%M:%S") for e in events[1:] if e
        ]
        assert len(zk.handshakes) == 2
        assert journal.entries("gate-1", "iclock_resume")[0]["requeued"] == 2


async def test_clock_follows_the_server_date_header_and_timezone(journal: Journal) -> None:
    wrong = datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)  # the server's clock is off by months
    zk = ZkServer(server_time=wrong)
    async with running(zk, journal) as device:
        await wait_until(lambda: bool(zk.handshakes) and bool(journal.entries("gate-1", "clock_sync")))
        assert abs((device.clock.now().replace(tzinfo=None) - datetime(2026, 3, 1, 8, 0, 0)).total_seconds()) < 3
    zk = ZkServer(server_time=wrong, options={"Delay": "1", "ErrorDelay": "2", "TimeZone": "420"})  # minutes
    async with running(zk, journal, clock_sync="handshake") as device:
        await wait_until(lambda: bool(zk.handshakes) and device.status()["registered"])
        assert device.clock.now().replace(tzinfo=None) - datetime(2026, 3, 1, 7, 0, 0) < timedelta(seconds=3)


async def test_unknown_sn_refused_then_accepted(journal: Journal) -> None:
    zk = ZkServer(refuse_handshakes=3)
    async with running(zk, journal, time_scale=0.002) as device:
        await wait_until(lambda: bool(zk.handshakes) and bool(zk.polls))
        assert len(journal.entries("gate-1", "handshake_refused")) == 3
        assert device.status()["registered"]


async def test_garbage_and_unknown_commands_never_crash(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    garbage = iter(
        [
            "\x00\xff not a command\nC::\nC:9\n",
            "C:1:FROBNICATE NOW\nC:2:DATA UPDATE USERINFO Name=nobody\nC:3:DATA UPDATE BIOPHOTO PIN=7\tContent=!!\n"
            "C:4:SHELL rm -rf /\nC:5:DATA UPDATE BIOPHOTO PIN=1\tContent=aGVsbG8=\nC:6:DATA\n",
        ]
    )
    zk.getrequest_body = lambda: next(garbage, "OK")
    async with running(zk, journal) as device:
        zk.queue(userinfo("1", people[0]))
        await wait_until(lambda: len(zk.results) >= 6)
        codes = {r["ID"]: r["Return"] for r in zk.results}
        assert codes == {"1": "-1002", "2": "-1", "3": "-10", "4": "-1002", "5": "-10", "6": "-1002"}
        zk.getrequest_body = None
        zk.queue(userinfo("1", people[0]))
        zk.queue("DATA UPDATE BIOPHOTO PIN=1\tType=9\tContent=aGVsbG8=")  # "hello" is no face
        await wait_until(lambda: len(zk.results) >= 8)
        assert zk.results[-1]["Return"] == "-1"
        assert device._runner is not None and not device._runner.done()
    assert journal.entries("gate-1", "iclock_bad_command_line")


async def test_garbage_server_replies_keep_records_buffered(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer(attlog_replies=[(200, "<html>proxy error</html>"), (302, "moved"), (200, "OK")])
    async with running(zk, journal, upload_photos=False) as device:
        await enrol(zk, device, people, 1)
        device.present_face("1")
        await wait_until(lambda: len(zk.attlog()) == 1 and not device.outbox)


async def test_capacity_full_returns_minus_1001(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    async with running(zk, journal, max_users=1) as device:
        zk.queue(userinfo("1", people[0]))
        zk.queue(userinfo("2", people[1]))
        await wait_until(lambda: len(zk.results) == 2)
        assert [r["Return"] for r in zk.results] == ["0", "-1001"]
        assert list(device.enrolled) == ["1"]


async def test_info_query_clear_and_reboot(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    async with running(zk, journal, upload_photos=False) as device:
        await enrol(zk, device, people, 1)
        device.present_face("1")
        device.present_face("1")
        await wait_until(lambda: len(zk.attlog()) == 2)
        zk.queue("INFO")
        zk.queue("DATA QUERY ATTLOG StartTime=2000-01-01 00:00:00\tEndTime=2099-01-01 00:00:00")
        zk.queue("DATA QUERY USERINFO PIN=1")
        await wait_until(lambda: len(zk.results) >= 5)
        by_cmd = {r["ID"]: r for r in zk.results}
        assert by_cmd["3"]["CMD"] == "INFO" and "UserCount=1" in zk.result_extras
        assert by_cmd["4"]["Return"] == "2" and len(zk.attlog()) == 4
        assert zk.operlog_lines[0].startswith("USER PIN=1\tName=")
        zk.queue("CLEAR LOG")
        zk.queue("REBOOT")
        await wait_until(lambda: len(zk.handshakes) == 2)
        assert device.attlog == [] and device.reboots == 1
        assert [r["CMD"] for r in zk.results[-2:]] == ["CLEAR_LOG", "REBOOT"]


async def test_id_card_and_device_enrolment(journal: Journal, people: list[Person]) -> None:
    zk = ZkServer()
    async with running(zk, journal, upload_photos=False) as device:
        await enrol(zk, device, people, 1)
        device.enrolled["1"].id_number = people[0].id_number
        device.read_id_card(people[0].card_json())
        device.enroll_on_device("99", "现场登记")
        await wait_until(lambda: bool(zk.idcard_lines) and len(zk.attlog()) == 1 and len(zk.operlog_lines) == 2)
        fields = parse_fields(zk.idcard_lines[0].removeprefix("IDCARD "))
        assert fields["PIN"] == "1" and fields["IDNum"] == people[0].id_number and fields["Name"] == people[0].name
        assert fields["Gender"] == ("1" if people[0].male else "2")
        assert fields["Birthday"] == people[0].birth.strftime("%Y%m%d")
        assert zk.attlog()[0][-2:] == [people[0].id_number, "0"]
        assert zk.operlog_lines[0].startswith("USER PIN=99\tName=现场登记")
        assert zk.operlog_lines[1].startswith("OPLOG 30\t")


async def test_power_cycle_handshakes_again_and_rtc_reset_is_corrected(journal: Journal) -> None:
    zk = ZkServer()
    async with running(zk, journal) as device:
        await wait_until(lambda: len(zk.handshakes) == 1 and bool(zk.polls))
        device.power_off()
        device.power_on(rtc_reset=True)
        assert device.clock.now().year == 2000
        await wait_until(lambda: len(zk.handshakes) == 2)
        await wait_until(lambda: device.clock.now().year == datetime.now().year)


async def test_gate_records_only_granted_passes_and_id_card_refusals(journal: Journal, people: list[Person]) -> None:
    """A face is recognised only if enrolled with a face, inside the validity window, not
    blocklisted; refused faces and cards leave no ATTLOG line, refused ID cards a Type 1 line."""
    zk = ZkServer(server_time=datetime(2026, 3, 2, 7, 30, tzinfo=BEIJING))  # the device takes its clock from here
    async with running(zk, journal, upload_photos=False) as device:
        await enrol(zk, device, people, 4)
        zk.queue(userinfo("5", people[4]))  # issued without a face
        await wait_until(lambda: "5" in device.enrolled)
        assert device.clock.now().date() == date(2026, 3, 2)
        # the attendance protocol issues no validity window nor blocklist: the device's own settings
        device.enrolled["2"].valid_from = datetime(2026, 4, 1, tzinfo=BEIJING)
        device.enrolled["3"].valid_to = datetime(2026, 3, 1, 23, 59, 59, tzinfo=BEIJING)
        device.enrolled["4"].blocklisted = True
        for pin in ("3", "4"):
            device.enrolled[pin].id_number = people[int(pin) - 1].id_number
        device.enrolled["1"].card_no = "123456"
        kinds = [
            device.present_face("1"),
            device.present_face("5", photo=people[4].photo),  # enrolled without a face: a stranger
            device.present_face("2"),  # before the window opens
            device.present_face("3"),  # after it closed
            device.present_face("4"),  # blocklisted
            device.swipe_card("123456"),
            device.swipe_card("999"),  # never issued
            device.read_id_card(people[3].card_json()),  # the blocklisted person's ID card
            device.read_id_card(people[2].card_json()),  # the expired person's
        ]
        assert [e.kind if e else None for e in kinds] == [
            "face_pass",
            "stranger",
            "outside_validity",
            "outside_validity",
            "blocklisted",
            "card_pass",
            "card_unknown",
            "blocklisted",
            "outside_validity",
        ]
        await wait_until(lambda: len(zk.attlog()) == 4 and len(zk.idcard_lines) == 2 and not device.outbox)
    lines = zk.attlog()
    assert [line[0] for line in lines] == ["1", "1", "4", "3"]
    assert lines[0][2:4] == ["0", "15"] and lines[1][2:4] == ["0", "4"]  # check-in by face, by card
    assert lines[2][2:4] == ["2", "0"] and lines[2][-2:] == [people[3].id_number, "1"]  # verification: blacklist
    assert lines[3][2:4] == ["1", "0"] and lines[3][-2:] == [people[2].id_number, "1"]  # verification: failure
    skipped = [v for e in journal.entries("gate-1", "iclock_not_uploaded") for v in e["verdicts"]]
    assert skipped == ["stranger", "outside_validity", "outside_validity", "blocklisted", "card_unknown"]


@pytest.mark.parametrize(
    ("command", "code", "cmd"),
    [
        ("CHECK", "0", "CHECK"),
        ("LOG", "0", "LOG"),
        ("REBOOT", "0", "REBOOT"),
        ("ac_unlock", "0", "AC_UNLOCK"),
        ("AC_UNALARM", "0", "AC_UNALARM"),
        ("RELOAD  OPTIONS", "0", "RELOAD_OPTIONS"),
        ("SET OPTION Delay=7", "0", "SET_OPTION"),
        ("SET OPTION", "-1", "SET_OPTION"),
        ("CLEAR PHOTO", "0", "CLEAR_PHOTO"),
        ("CLEAR ALL USERINFO", "0", "CLEAR_ALL_USERINFO"),
        ("CLEAR NOTHING", "-1002", "CLEAR_NOTHING"),
        ("DATA UPDATE USERINFO PIN=7\tName=张三", "0", "DATA"),
        ("data update user PIN=8", "0", "DATA"),
        ("DATA USER PIN=9", "0", "DATA"),
        ("DATA DEL_USER PIN=9", "0", "DATA"),
        ("DATA DELETE USERINFO", "-1", "DATA"),
        ("DATA UPDATE BIODATA PIN=7\tType=9", "-30", "DATA"),
        ("DATA UPDATE WORKCODE PIN=7", "0", "DATA"),
        ("DATA FROB", "-1002", "DATA"),
        ("DATA", "-1002", "DATA"),
        ("UPGRADE checksum=1", "-1002", "UPGRADE"),
    ],
)
async def test_the_command_registry_answers_as_the_firmware_does(command: str, code: str, cmd: str) -> None:
    from hardware_sim.iclock import commands

    device = IclockDevice("zk-unit", server_url="http://127.0.0.1:9")
    result = await commands.execute(device, "1", command)
    assert (result.code, result.cmd) == (code, cmd)
    if command.startswith("SET OPTION Delay"):
        assert device.server_delay == 7
    if command.startswith("DATA UPDATE USERINFO"):
        assert device.enrolled["7"].name == "张三"


async def test_verify_sum_and_info_read_the_device() -> None:
    from hardware_sim.iclock import commands

    device = IclockDevice("zk-unit", server_url="http://127.0.0.1:9", max_users=5)
    info = await commands.execute(device, "2", "INFO")
    assert "MaxUserCount=5" in info.extra and "~DeviceName=zk-unit" in info.extra
    total = await commands.execute(device, "3", "VERIFY SUM ATTLOG StartTime=2026-01-01 00:00:00")
    assert total.extra == ["AttlogSum=0"]
