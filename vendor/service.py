"""The reference vendor system put together: its store, its enrolment, its HTTP listener (ISAPI
event pushes, the ZKTeco ``/iclock`` server, ``/status``) and the outbox uploader, run on one
event loop by ``jzgr vendor serve``."""

from __future__ import annotations

import base64
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.responses import JSONResponse, Response

from fixtures.fake import dataset as datasets
from hardware_sim.site import Site
from platform_client.policy import PollPolicy, RetryPolicy
from standard.envelope import BEIJING
from vendor import idcard, isapi, uniubi
from vendor.store import Store, clockins, outbox, workers
from vendor.uploader import Uploader, UploadSettings, VendorClient

log = logging.getLogger("jzgr.vendor")

PASSES = {"face_pass", "card_pass"}  # recognised workers; strangers and liveness failures are not uploaded
DIRECTION = {"in": "01", "out": "02"}
SWAPPED = {"01": "02", "02": "01"}


@dataclass(frozen=True)
class Tenant:
    appid: str
    secret: str
    project_code: str
    corp_key: str | None = None


@dataclass
class Config:
    platform: str
    tenant: Tenant
    site: Site
    db: str = "sqlite:///vendor.db"
    listen: tuple[str, int] = ("127.0.0.1", 9080)
    dataset: Path | None = None
    defects: frozenset[str] = frozenset()
    late_upload_s: float = 3 * 3600.0
    refusal_retry_cap: int = 20
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(deadline=30.0))
    poll: PollPolicy = field(default_factory=PollPolicy)
    provision: bool = True  # issue roster and faces to the ISAPI gates at start

    @property
    def base_url(self) -> str:
        return f"http://{self.listen[0]}:{self.listen[1]}"


def load_tenant(path: Path, project_code: str) -> Tenant:
    """The tenant of ``project_code`` in a ``jzgr sim serve --credentials-out`` file (a project
    key preferred); ValueError saying what is missing."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    entries = doc.get("tenants", []) if isinstance(doc, dict) else []
    mine = [t for t in entries if isinstance(t, dict) and t.get("projectCode") == project_code]
    mine.sort(key=lambda t: t.get("mode") != "project")
    if not mine:
        raise ValueError(f"{path}: no tenant for project {project_code} (the site file's project_code)")
    t = mine[0]
    return Tenant(str(t["appid"]), str(t["appsecret"]), project_code, t.get("corpKey"))


def roster(config: Config) -> datasets.Dataset:
    """The people to enrol: ``--dataset``, else the site file's roster."""
    if config.dataset is not None:
        return _dataset(config.dataset.resolve())
    source = config.site.roster
    if source is None:
        raise ValueError("the site file has no roster: give --dataset")
    if source.dataset is not None:
        return _dataset(source.dataset.resolve())
    assert source.generate is not None
    g = source.generate
    return datasets.generate(g.seed, g.workers, today=g.today, project_count=g.project_count)


@functools.lru_cache(maxsize=4)  # the sites of one vendor often share one dataset: read it once
def _dataset(path: Path) -> datasets.Dataset:
    return datasets.load(path)


class Vendor:
    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.store = Store.open(config.db)
        t = config.tenant
        self.client = VendorClient(
            config.platform, t.appid, t.secret, corp_key=t.corp_key, retry=config.retry, poll=config.poll
        )
        self.uploader = Uploader(
            self.store,
            self.client,
            UploadSettings(
                t.project_code,
                config.defects,
                late_upload_s=config.late_upload_s,
                refusal_retry_cap=config.refusal_retry_cap,
            ),
            clock,
        )
        self.gates = {d.id: d for d in config.site.expanded()}  # the site's devices: their direction decides in/out
        self.iclock_queue: dict[str, list[str]] = {}

    def on(self, name: str) -> bool:
        return name in self.config.defects

    # ---- enrolment ------------------------------------------------------------------------

    def enrol(self, data: datasets.Dataset) -> int:
        """Queue the site's organisations, teams and workers in the platform's order (only what
        this store does not have yet); returns how many workers are new."""
        code = self.config.tenant.project_code
        project = next((p for p in data.projects if p.code == code), None)
        if project is None:
            raise ValueError(f"the roster has no project {code}")
        now = self.clock()
        self.uploader.settings.roster_day = data.today.isoformat()
        new = 0
        with self.store.tx() as conn:
            fresh = (
                conn.execute(select(func.count()).select_from(outbox).where(outbox.c.kind == "enrol")).scalar_one() == 0
            )
            if fresh:
                taking_part = {s["corpCode"] for s in project.subcontractors}
                for corp in data.corps:
                    if corp["corpCode"] in taking_part:
                        self.store.enqueue(conn, "Corp.Upload", "enrol", corp["corpCode"], corp, now)
                for sub in project.subcontractors:
                    self.store.enqueue(conn, "ProjectSubContractor.Add", "enrol", sub["corpCode"], sub, now)
            for team in project.teams:
                body = {k: v for k, v in team.payload.items() if k != "teamSysNo"}
                if self.store.add_team(conn, team.name, body):
                    self.store.enqueue(conn, "Team.Add", "enrol", team.name, body, now)
                for w in team.workers:
                    item = {**w.item(), "isTeamLeader": w.is_team_leader}
                    photo = base64.b64encode(w.person.photo).decode()
                    if self.store.add_worker(conn, item, team.name, photo, "dataset") is not None:
                        new += 1
                self.uploader.enqueue_workers(conn, team.name, now)
        return new

    async def enrol_id_card(self, body: dict[str, Any]) -> Response:
        """``POST /enrol/id-card`` ``{"reader": URL, "cellPhone": …, "team"?: …, "workType"?: …}``:
        read the card on the reader, create the worker, queue their upload, issue them to the gates."""
        try:
            reader, phone = str(body["reader"]), str(body["cellPhone"])
        except (KeyError, TypeError):
            return JSONResponse({"error": 'send JSON {"reader": URL, "cellPhone": "139…"}'}, status_code=400)
        try:
            info = await idcard.read_card(reader)
        except (idcard.CardNotRead, httpx.HTTPError, ValueError) as exc:
            return JSONResponse({"error": f"the card could not be read: {exc}"}, status_code=409)
        teams_known = self.store.all_teams()
        if not teams_known:
            return JSONResponse({"error": "no team yet: enrol a roster first"}, status_code=409)
        team_name = str(body.get("team") or teams_known[0]["team_name"])
        if team_name not in {t["team_name"] for t in teams_known}:
            return JSONResponse({"error": f"no team {team_name!r}"}, status_code=400)
        now = self.clock()
        with self.store.tx() as conn:
            mates = self.store.team_workers(conn, team_name)
            work_type = str(body.get("workType") or (mates[0]["item"]["workType"] if mates else "900"))
            try:
                item = idcard.worker_item(info, work_type=work_type, cell_phone=phone)
            except idcard.CardNotRead as exc:
                return JSONResponse({"error": str(exc)}, status_code=409)
            employee_no = self.store.add_worker(conn, item, team_name, info["Photo"], "idreader")
            if employee_no is None:
                return JSONResponse({"error": "this person is already enrolled"}, status_code=409)
            self.uploader.enqueue_workers(conn, team_name, now)
        self.uploader.wake.set()
        await self.provision_gates([{"employee_no": employee_no, "name": item["workerName"], "photo": info["Photo"]}])
        return JSONResponse({"employeeNo": employee_no, "name": item["workerName"], "team": team_name})

    async def provision_gates(self, people: list[dict[str, Any]] | None = None) -> None:
        """Issue workers (all by default) with their faces to each ISAPI gate, pointing it at our
        receiver, and queue them for the iclock devices."""
        if people is None:
            people = [
                {"employee_no": w["employee_no"], "name": w["name"], "photo": w["photo"], "id_number": w["id_number"]}
                for w in self.store.all_workers()
            ]
        for queue in self.iclock_queue.values():
            queue.extend(_iclock_commands(people))
        receiver = self.config.base_url + "/isapi/events"
        for device in self.gates.values():
            if device.kind != "isapi" or not device.url:
                continue
            options = device.options
            gate = isapi.Gate(
                device.id,
                device.url,
                device.direction,
                str(options.get("username", "admin")),
                str(options.get("password", "hik12345")),
            )
            try:
                await isapi.provision(gate, receiver, people)
            except Exception as exc:  # an unreachable gate must not stop the others
                log.error("%s: could not issue the roster: %s", device.id, exc)
        for device in self.gates.values():
            if device.kind != "callback" or device.options.get("template") != "uniubi-wo" or not device.url:
                continue
            password = str((device.options.get("vars") or {}).get("password", "12345678"))
            terminal = uniubi.Terminal(device.id, device.url, password)
            try:
                await uniubi.provision(terminal, self.config.base_url + "/callback/uniubi", people)
            except Exception as exc:  # an unreachable terminal must not stop the others
                log.error("%s: could not issue the roster: %s", device.id, exc)

    # ---- clock-ins ------------------------------------------------------------------------

    def record(
        self,
        device_id: str,
        serial_no: int,
        kind: str,
        employee_no: str | None,
        moment: str,
        direction_hint: str | None,
        current: bool,
    ) -> bool:
        """Keep one delivered event and queue its upload, in one transaction (committed before
        the device is answered); False when it is a repeat of one already kept."""
        device = self.gates.get(device_id)
        direction = DIRECTION[device.direction] if device else (direction_hint or "01")
        if self.on("swap-direction"):  # the bug: in and out confused
            direction = SWAPPED[direction]
        now = self.clock()
        with self.store.tx() as conn:
            worker = self.store.worker_by_employee_no(conn, employee_no) if employee_no else None
            upload = worker is not None and kind in PASSES
            if not upload and self.on("upload-strangers"):  # the bug: whoever was last seen at the gate
                worker = worker or self._last_seen(conn, device_id)
                upload = worker is not None
            outcome = "queued" if upload else ("stranger" if worker is None else f"not-uploaded:{kind}")
            fresh = self.store.add_clockin(
                conn,
                device_id=device_id,
                serial_no=serial_no,
                kind=kind,
                employee_no=employee_no,
                id_number=worker["id_number"] if worker else None,
                moment=moment,
                direction=direction,
                current=int(current),
                received_s=now,
                outcome=outcome,
            )
            if fresh and upload and worker is not None:
                item = {
                    "idCardType": "01",
                    "idCardNumber": worker["id_number"],
                    "date": moment,
                    "direction": direction,
                    "attendType": "001",
                    "channel": device_id[:50],
                }
                # Not before the moment it records, when that is only a moment away: a gate's clock
                # may run a little ahead of the platform's, which refuses a clock-in after its own now
                # ([dataList][0][date]不能大于当前时间!). Only briefly, since our own clock may be the
                # one behind; a refusal as "future" is held and sent again by the uploader.
                due = now + min(max(0.0, _epoch(moment) + CLOCK_MARGIN_S - now), MAX_HOLD_S)
                if self.on("late-upload"):  # the bug: uploads held back for hours
                    due = _epoch(moment) + self.config.late_upload_s
                self.store.enqueue(
                    conn,
                    "WorkerAttendance.Add",
                    "attendance",
                    f"{device_id}#{serial_no}",
                    item,
                    now,
                    id_number=worker["id_number"],
                    due_s=due,
                )
        if fresh:
            self.uploader.wake.set()
        return fresh

    def _last_seen(self, conn: Any, device_id: str) -> dict[str, Any] | None:
        row = (
            conn.execute(
                select(workers)
                .join(clockins, clockins.c.id_number == workers.c.id_number)
                .where(clockins.c.device_id == device_id)
                .order_by(clockins.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    # ---- what the listener asks ---------------------------------------------------------

    def iclock_device(self, sn: str) -> str | None:
        """The id of our iclock device with serial number ``sn``."""
        for device in self.gates.values():
            if device.kind == "iclock" and str(device.options.get("serial_number", device.id)) == sn:
                return device.id
        return None

    def callback_device(self, key: str) -> str | None:
        """The id of our callback terminal reporting as ``key``."""
        for device in self.gates.values():
            if device.kind == "callback" and str(device.options.get("device_sn", device.id)) == key:
                return device.id
        return None

    def iclock_users(self) -> list[str]:
        return _iclock_commands(
            [
                {"employee_no": w["employee_no"], "name": w["name"], "photo": w["photo"]}
                for w in self.store.all_workers()
            ]
        )

    def people(self) -> dict[str, Any]:
        """What this site's gates are issued: each worker's employee number and ID number."""
        return {
            "project": self.config.tenant.project_code,
            "devices": sorted(self.gates),
            "people": [
                {"employeeNo": w["employee_no"], "idCardNumber": w["id_number"], "team": w["team_name"]}
                for w in self.store.all_workers()
            ],
        }

    def status(self) -> dict[str, Any]:
        doc = self.store.status()
        doc["defects"] = sorted(self.config.defects)
        doc["project"] = self.config.tenant.project_code
        return doc

    def close(self) -> None:
        self.store.close()


def _iclock_commands(people: list[dict[str, Any]]) -> list[str]:
    """The ZKTeco commands that issue people with their faces (DATA UPDATE USERINFO / BIOPHOTO)."""
    commands = []
    for p in people:
        no = p["employee_no"]
        commands.append(
            f"DATA UPDATE USERINFO PIN={no}\tName={p['name']}\tPri=0\tPasswd=\tCard=\tGrp=1"
            "\tTZ=0000000100000000\tVerify=0\tViceCard="
        )
        if p.get("photo"):
            commands.append(f"DATA UPDATE BIOPHOTO PIN={no}\tType=9\tSize={len(p['photo'])}\tContent={p['photo']}")
    return commands


CLOCK_MARGIN_S = 1.0  # how far past a clock-in's own time its upload waits (the platform's clock may lag ours)
MAX_HOLD_S = 2.0  # the longest a clock-in is held for that reason (our clock, not the gate's, may be wrong)


def _epoch(moment: str) -> float:
    return datetime.strptime(moment, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).timestamp()


__all__ = ["Config", "Tenant", "Vendor", "load_tenant", "roster", "workers"]
