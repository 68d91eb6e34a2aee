"""The outbox worker: sends what the store has queued to the platform through the reference
client, in the platform's order, polls every async result, and records each outcome durably.

Enrolment rows go one at a time (a row is sent only after every earlier one is finished);
attendance rows go in batches of up to 20 of one team, in the order they were received, once
their worker's entry record is done. Transport errors, 5xx and -5 are retried by the client
(jittered capped backoff under a deadline) and then again by the outbox with its own capped
backoff; refusals (-1…-4) and async failures (status 10) are recorded and surfaced, never retried.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import urllib.parse
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from platform_client.async_client import AsyncPlatformClient
from platform_client.errors import (
    AsyncFailed,
    ClientError,
    DeadlineExceeded,
    PlatformError,
    RateLimited,
    ValidationFailed,
)
from platform_client.policy import RetryPolicy
from platform_client.protocol import Answer
from standard import envelope, errors, methods, payload, signature
from standard.envelope import BEIJING
from vendor.store import Store, outbox, stages, teams, workers

log = logging.getLogger("jzgr.vendor")

WORKERS_PER_CALL = 5  # ProjectWorker.Add workerList limit
ATTENDANCE_PER_CALL = 20  # WorkerAttendance.Add dataList limit
OVERSIZE = 25  # the oversize-datalist defect's batch
OVERSIZE_GATHER_S = 5.0  # … which waits this long for 25 clock-ins of one team to gather
# A clock-in refused only as "in the future" was stamped by a gate (or host) whose clock runs ahead
# of the platform's: the platform's clock decides, so it is held and sent again, spaced out and a
# bounded number of times (about ten minutes in all), instead of being lost as a refusal.
FUTURE_RETRIES = 15
REFUSED = re.compile(r"已存在")  # "already there": a repeated enrolment write is as good as done
WORKER_EXISTS = re.compile(r"身份证为[:：]\s*([0-9A-Za-z]+)的工人")
TEAM_EXISTS = re.compile(r"已存在班组编号为[:：]\s*(\d+)")

_failed_sends: contextvars.ContextVar[list[int]] = contextvars.ContextVar("failed_sends")


class Dropped(ClientError):
    """drop-on-5xx: the vendor gives up on a batch at the first 5xx."""


@dataclass
class UploadSettings:
    project_code: str
    defects: frozenset[str] = frozenset()
    late_upload_s: float = 3 * 3600.0
    refusal_retry_cap: int = 20  # retry-refusals-forever, bounded so that tests end
    # The day of the roster the workers were enrolled from (YYYY-MM-DD): they were on site by then,
    # so that is their entry date (not the day the vendor first uploads them), never after today
    roster_day: str | None = None
    idle_s: float = 0.1  # the shortest wait when nothing can go
    idle_max_s: float = 1.0  # … and the longest, when nothing wakes the loop
    pollers: int = 8
    backoff: RetryPolicy = field(default_factory=lambda: RetryPolicy(initial=1.0, max_delay=60.0))

    def on(self, name: str) -> bool:
        return name in self.defects


class VendorClient(AsyncPlatformClient):
    """The reference client with the vendor's wire-level hooks: it counts failed sends per task
    (duplicate-after-retry needs to know) and carries the wire defects."""

    defects: frozenset[str] = frozenset()

    async def _send(self, form: dict[str, str]) -> Answer:
        if "signs-url-encoded" in self.defects:
            form = {**form, "sign": _url_encoded_sign(form, self.creds.secret)}
        answer = await super()._send(form)
        if answer.error is not None or answer.status >= 500:
            counter = _failed_sends.get(None)
            if counter is not None:
                counter.append(answer.status)
            if "drop-on-5xx" in self.defects and answer.status >= 500:
                raise Dropped(f"HTTP {answer.status}")
        return answer


def _url_encoded_sign(form: dict[str, str], secret: str) -> str:
    """signs-url-encoded: the sign string built from percent-encoded values."""
    encoded = {k: urllib.parse.quote(v, safe="") for k, v in form.items() if k != "sign"}
    return signature.compute_sign(encoded, secret)


def beijing_day(now: float) -> str:
    return datetime.fromtimestamp(now, BEIJING).date().isoformat()


class Uploader:
    def __init__(
        self, store: Store, client: VendorClient, settings: UploadSettings, clock: Callable[[], float]
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self.clock = clock
        self.client.defects = settings.defects
        self.wake = asyncio.Event()
        self._polls: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(settings.pollers)
        self._stopping = False

    # ---- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Send until stopped (call ``recover`` first, before anything new is queued)."""
        while not self._stopping:
            try:
                sent = await self.step()
            except Exception:  # a bug must not stop the uploads: log it and go on
                log.exception("outbox step failed")
                sent = False
            if not sent:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), self._idle_for(self.clock()))
                except TimeoutError:
                    pass

    def _idle_for(self, now: float) -> float:
        """How long to wait for a wake-up when nothing can go now: until the next row falls due
        (backoff, a held clock-in), at most ``idle_max_s``. Whatever else unblocks rows — a new
        clock-in, an enrolment, a poll finishing — wakes the loop, so a vendor serving hundreds of
        sites does not query each of their stores ten times a second."""
        with self.store.engine.connect() as conn:
            due = conn.execute(
                select(func.min(outbox.c.due_s)).where(outbox.c.state == "pending", outbox.c.due_s > now)
            ).scalar_one()
        wait = self.settings.idle_max_s if due is None else min(self.settings.idle_max_s, due - now)
        return max(self.settings.idle_s, wait)

    async def stop(self) -> None:
        self._stopping = True
        self.wake.set()
        for task in list(self._polls):
            task.cancel()
        await asyncio.gather(*self._polls, return_exceptions=True)

    async def recover(self) -> None:
        """After a restart: rows caught mid-send are resolved, sent rows polled again."""
        if self.settings.on("volatile-outbox"):  # the bug: what was queued lived only in memory
            with self.store.tx() as conn:
                lost = conn.execute(
                    update(outbox)
                    .where(outbox.c.state.in_(("pending", "sending", "sent")))
                    .values(state="lost", error="volatile-outbox: lost on restart")
                ).rowcount
            log.warning("volatile-outbox: %d queued uploads forgotten", lost)
            return
        self._rebase_due_times()
        with self.store.engine.connect() as conn:
            caught = [dict(r) for r in conn.execute(select(outbox).where(outbox.c.state == "sending")).mappings()]
            sent = [dict(r) for r in conn.execute(select(outbox).where(outbox.c.state == "sent")).mappings()]
        attendance = [r for r in caught if r["kind"] == "attendance"]
        records = [r for r in caught if r["kind"] == "enrol" and r["method"] in RECORDS]
        with self.store.tx() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.state == "sending", outbox.c.kind == "enrol")
                .where(outbox.c.id.not_in([r["id"] for r in records]))
                .values(state="pending")  # sent again: a repeated team or worker is refused as "already exists"
            )
        if attendance or records:
            self._background(self._reconcile_until_done(attendance, records))
        by_batch: dict[str, list[dict[str, Any]]] = {}
        for row in sent:
            by_batch.setdefault(row["batch"] or str(row["id"]), []).append(row)
        for rows in by_batch.values():
            self._poll_later(rows, rows[0]["method"], rows[0]["serial"])

    def _rebase_due_times(self) -> None:
        """A row queued "after" this process's now proves the clock went back (an NTP step, a VM
        restored): waits measured on the old clock are moved back by as much, or the queue would
        stand still until the new clock caught up."""
        now = self.clock()
        with self.store.tx() as conn:
            latest = conn.execute(select(func.max(outbox.c.created_s)).where(outbox.c.state == "pending")).scalar()
            if latest is None or latest <= now:
                return
            back = float(latest) - now
            conn.execute(update(outbox).where(outbox.c.state == "pending").values(due_s=outbox.c.due_s - back))
        log.warning("the clock is %.1f s behind the queue's: pending uploads' waits moved back by as much", back)

    async def _reconcile_until_done(self, attendance: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
        """Reconcile when the platform answers (they stay ``sending``, not sent, until then)."""
        attempt = 0
        while not self._stopping:
            try:
                if records:
                    await self._reconcile_records(records)
                    records = []
                if attendance:
                    await self._reconcile(attendance)
                self.wake.set()
                return
            except ClientError as exc:
                log.warning("cannot look up the uploads in flight before the restart yet: %s", exc)
                await asyncio.sleep(self.settings.backoff.delay(attempt))
                attempt += 1

    async def _reconcile(self, rows: list[dict[str, Any]]) -> None:
        """Clock-ins that went out just before a crash: those the platform stored are done, the
        others go back to the queue (so a crash neither loses nor duplicates one)."""
        stored: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for row in rows:
            key = (row["id_number"], row["payload"]["date"][:10])
            if key in stored:
                continue
            query = {
                "projectCode": self.settings.project_code,
                "date": key[1],
                "idCardType": "01",
                "idCardNumber": key[0],
            }
            found: set[tuple[str, str]] = set()
            async for r in self.client.query_all("WorkerAttendance.Query", query):
                found.add((str(r.get("date")), str(r.get("direction"))))
            stored[key] = found
        done = [
            r["id"]
            for r in rows
            if (r["payload"]["date"], r["payload"]["direction"]) in stored[(r["id_number"], r["payload"]["date"][:10])]
        ]
        with self.store.tx() as conn:
            if done:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(done))
                    .values(state="done", done_s=self.clock(), error="found on the platform after a restart")
                )
            # only these rows: others may be on their way out from this process already
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r["id"] for r in rows]), outbox.c.state == "sending")
                .values(state="pending")
            )
        log.info("after restart: %d of %d in-flight clock-ins were already stored", len(done), len(rows))

    async def _reconcile_records(self, rows: list[dict[str, Any]]) -> None:
        """Entry and contract writes that went out just before a crash. No rule refuses either
        sent twice (the platform would keep two entries, two contracts), so the platform is asked:
        a write whose every record it holds is done (and unlocks what follows), the others are sent
        again. The platform stores a write whole or not at all."""
        for row in rows:
            list_key, query_method, fields = RECORDS[row["method"]]
            payload = row["payload"]
            held = True
            for item in payload[list_key]:
                query = {
                    "projectCode": payload["projectCode"],
                    "idCardType": "01",
                    "idCardNumber": item["idCardNumber"],
                }
                want = tuple(str(item[f]) for f in fields)
                found = [tuple(str(r.get(f)) for f in fields) async for r in self.client.query_all(query_method, query)]
                held = held and want in found
            if held:
                self._done([row], row["method"], None, note="found on the platform after a restart")
            else:
                with self.store.tx() as conn:
                    conn.execute(update(outbox).where(outbox.c.id == row["id"]).values(state="pending"))
        log.info("after restart: %d entry or contract writes in flight were looked up", len(rows))

    # ---- choosing what to send ------------------------------------------------------------

    async def step(self) -> bool:
        """Send the next unit of work; False when there is nothing to send now."""
        now = self.clock()
        with self.store.engine.connect() as conn:
            unit = self._next_enrolment(conn, now) or self._next_attendance(conn, now)
        if unit is None:
            return False
        rows, method, data = unit
        await self._send(rows, method, data)
        return True

    def _next_enrolment(self, conn: Connection, now: float) -> tuple[list[dict[str, Any]], str, Any] | None:
        row = (
            conn.execute(
                select(outbox)
                .where(outbox.c.kind == "enrol", outbox.c.state.in_(("pending", "sending", "sent")))
                .order_by(outbox.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
        if row is None or row["state"] != "pending" or row["due_s"] > now:
            return None  # the earliest enrolment write is still on its way: the next one waits
        return [dict(row)], row["method"], row["payload"]

    def _next_attendance(self, conn: Connection, now: float) -> tuple[list[dict[str, Any]], str, Any] | None:
        limit = OVERSIZE if self.settings.on("oversize-datalist") else ATTENDANCE_PER_CALL
        query = (
            select(outbox, workers.c.team_name, teams.c.team_sys_no.label("team_no"), stages.c.state.label("entry"))
            .join(workers, workers.c.id_number == outbox.c.id_number)
            .join(teams, teams.c.team_name == workers.c.team_name)
            .join(stages, (stages.c.id_number == outbox.c.id_number) & (stages.c.stage == "entered"))
            .where(outbox.c.kind == "attendance", outbox.c.state == "pending")
            .where(teams.c.team_sys_no.is_not(None))
            .order_by(outbox.c.id)
            .limit(500)
        )
        if not self.settings.on("skip-entry"):  # entry recorded before attendance
            query = query.where(stages.c.state == "done")
        picked: list[dict[str, Any]] = []
        team: int | None = None
        for row in conn.execute(query).mappings():
            if row["due_s"] > now:
                break  # an earlier clock-in waits (backoff, held): later ones wait behind it, in order
            if team is None:
                team = row["team_no"]
            if row["team_no"] == team:
                picked.append(dict(row))
                if len(picked) == limit:
                    break
        if not picked:
            return None
        if limit == OVERSIZE and len(picked) < OVERSIZE and picked[0]["created_s"] > now - OVERSIZE_GATHER_S:
            return None  # the defect buffers a full 25, so its oversized list goes out however the timing falls
        data = {
            "projectCode": self.settings.project_code,
            "teamSysNo": team,
            "dataList": [r["payload"] for r in picked],
        }
        return picked, "WorkerAttendance.Add", data

    # ---- sending and polling --------------------------------------------------------------

    async def _send(self, rows: list[dict[str, Any]], method: str, data: Any) -> None:
        ids = [r["id"] for r in rows]
        batch = uuid.uuid4().hex
        attempts = max(r["attempts"] for r in rows) + 1
        with self.store.tx() as conn:  # committed before the request: a crash now is reconciled
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(state="sending", batch=batch, attempts=attempts, team_sys_no=data.get("teamSysNo"))
            )
        failed_sends: list[int] = []
        token = _failed_sends.set(failed_sends)
        try:
            wire = self._wire(method, data)
            result = await self.client.write(method, wire, wait=False)
        except Dropped as exc:  # drop-on-5xx: the batch is believed done
            self._finish(ids, "done", f"dropped: {exc}")
            return
        except RateLimited as exc:
            self._retry_later(ids, attempts, str(exc))
            return
        except PlatformError as exc:  # -1…-4: refused; sending it again cannot help
            if errors.only_future_now(exc.message) and attempts < FUTURE_RETRIES:
                self._retry_later(ids, attempts, str(exc), delay=_future_delay(attempts))
                return
            if self.settings.on("retry-refusals-forever") and attempts < self.settings.refusal_retry_cap:
                self._retry_later(ids, attempts, str(exc), delay=0.05)
                return
            self._failed(rows, method, str(exc))
            return
        except ValidationFailed as exc:
            if all(e.kind == "future" for e in exc.errors) and attempts < FUTURE_RETRIES:
                self._retry_later(ids, attempts, str(exc), delay=_future_delay(attempts))
                return
            self._failed(rows, method, str(exc))
            return
        except (DeadlineExceeded, ClientError) as exc:  # no final answer: the outbox tries again later
            self._retry_later(ids, attempts, str(exc))
            return
        finally:
            _failed_sends.reset(token)
        with self.store.tx() as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(state="sent", serial=result.serial))
            if self.settings.on("duplicate-after-retry") and failed_sends:
                for r in rows:  # the bug: the retried batch is queued once more
                    self.store.enqueue(
                        conn, r["method"], r["kind"], r["ref"], r["payload"], self.clock(), id_number=r["id_number"]
                    )
        sent_rows = [{**r, "serial": result.serial} for r in rows]
        if self.settings.on("no-async-poll") and method != "Team.Add":  # the bug: accepted is taken for done
            # (Team.Add is still polled: without its teamSysNo nothing else could be sent)
            self._done(sent_rows, method, None)
            return
        self._poll_later(sent_rows, method, result.serial)

    def _wire(self, method: str, data: Any) -> Any:
        """What goes out as ``data``: plaintext for the client to validate and encrypt, or, under
        two defects, text the client sends as it is."""
        if self.settings.on("forgets-to-encrypt-id"):  # the bug: no AES on the ID numbers
            return envelope.dump_data(data)
        spec = methods.get(method)
        if self.settings.on("oversize-datalist") and spec and len(data.get("dataList") or ()) > ATTENDANCE_PER_CALL:
            # the bug: the list limit is not known, so nothing stops the oversized list going out
            return envelope.dump_data(payload.encrypt(spec.request, data, self.client.creds.secret))
        return data

    def _poll_later(self, rows: list[dict[str, Any]], method: str, serial: str) -> None:
        self._background(self._poll(rows, method, serial))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._polls.add(task)
        task.add_done_callback(self._polls.discard)
        task.add_done_callback(lambda _: self.wake.set())  # a finished poll may unblock the next write

    async def _poll(self, rows: list[dict[str, Any]], method: str, serial: str) -> None:
        async with self._slots:
            while not self._stopping:
                try:
                    result = await self.client.wait(serial, method)
                except AsyncFailed as exc:
                    self._failed(rows, method, exc.message, serial=serial)
                    return
                except ClientError as exc:  # still pending or no answer: poll again later
                    log.warning("%s %s: %s; polling again", method, serial, exc)
                    await asyncio.sleep(self.settings.backoff.delay(1))
                    continue
                self._done(rows, method, result)
                self.wake.set()
                return

    # ---- outcomes -------------------------------------------------------------------------

    def _retry_later(self, ids: list[int], attempts: int, error: str, delay: float | None = None) -> None:
        wait = self.settings.backoff.delay(attempts - 1) if delay is None else delay
        with self.store.tx() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(state="pending", error=error, due_s=self.clock() + wait, batch=None)
            )
        log.warning("upload of %d rows not answered (%s); again in %.1f s", len(ids), error, wait)

    def _finish(self, ids: list[int], state: str, error: str | None = None) -> None:
        with self.store.tx() as conn:
            conn.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(state=state, error=error, done_s=self.clock())
            )

    def _failed(self, rows: list[dict[str, Any]], method: str, message: str, serial: str | None = None) -> None:
        """A refusal or an async failure: as good as done when it says the record already exists
        (enrolment written twice), otherwise recorded, logged and shown by ``/status``."""
        if method == "ProjectWorker.Add" and REFUSED.search(message):
            self._some_registered(rows[0], message)
            return
        if rows[0]["kind"] == "enrol" and REFUSED.search(message):
            existing = TEAM_EXISTS.search(message)
            self._done(rows, method, {"teamSysNo": int(existing.group(1))} if existing else None, note=message)
            return
        log.error("%s failed%s: %s", method, f" ({serial})" if serial else "", message)
        with self.store.tx() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r["id"] for r in rows]))
                .values(state="failed", error=message, done_s=self.clock())
            )
            if method in FOLLOWS:
                self.store.set_stage(conn, _ids_of(rows[0]), FOLLOWS[method], "failed", message)

    def _some_registered(self, row: dict[str, Any], message: str) -> None:
        """ProjectWorker.Add refused because some of its workers are already in the project (sent
        before a crash): those count as registered, the others are sent again on their own."""
        known = set(WORKER_EXISTS.findall(message))
        payload = row["payload"]
        there = [w for w in payload["workerList"] if w["idCardNumber"] in known]
        missing = [w for w in payload["workerList"] if w["idCardNumber"] not in known]
        now = self.clock()
        with self.store.tx() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row["id"]).values(state="done", done_s=now, error=message))
            if there:
                self._follow_up(
                    conn, {**row, "payload": {**payload, "workerList": there}}, "ProjectWorker.Add", None, now
                )
            if missing:
                ref = ",".join(w["idCardNumber"] for w in missing)
                self.store.enqueue(conn, "ProjectWorker.Add", "enrol", ref, {**payload, "workerList": missing}, now)

    def _done(self, rows: list[dict[str, Any]], method: str, result: Any, note: str | None = None) -> None:
        now = self.clock()
        with self.store.tx() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r["id"] for r in rows]))
                .values(state="done", done_s=now, error=note)
            )
            if rows[0]["kind"] == "enrol":
                self._follow_up(conn, rows[0], method, result, now)

    # ---- what an enrolment write unlocks --------------------------------------------------

    def _follow_up(self, conn: Connection, row: dict[str, Any], method: str, result: Any, now: float) -> None:
        payload = row["payload"]
        if method == "Team.Add":
            sys_no = result.get("teamSysNo") if isinstance(result, dict) else None
            if sys_no is None:
                log.error("Team.Add %s: no teamSysNo in the result %r", payload["teamName"], result)
                return
            conn.execute(update(teams).where(teams.c.team_name == payload["teamName"]).values(team_sys_no=int(sys_no)))
            self.enqueue_workers(conn, payload["teamName"], now)
        elif method == "ProjectWorker.Add":
            numbers = [w["idCardNumber"] for w in payload["workerList"]]
            self.store.set_stage(conn, numbers, "registered", "done")
            if self.settings.on("skip-entry"):  # the bug: no entry record, straight to the contracts
                self._enqueue_contracts(conn, payload, numbers, now)
                return
            entry = {
                "projectCode": payload["projectCode"],
                "corpCode": payload["corpCode"],
                "corpName": payload["corpName"],
                "teamSysNo": payload["teamSysNo"],
                "workerList": [
                    {"idCardType": "01", "idCardNumber": n, "date": day, "type": 1}
                    for n, day in self._entry_days(conn, numbers, now).items()
                ],
            }
            self.store.enqueue(conn, "WorkerEntryExit.Add", "enrol", ",".join(numbers), entry, now)
        elif method == "WorkerEntryExit.Add":
            numbers = [w["idCardNumber"] for w in payload["workerList"]]
            self.store.set_stage(conn, numbers, "entered", "done")
            self._enqueue_contracts(conn, payload, numbers, now)
        elif method == "WorkerContract.Add":
            self.store.set_stage(conn, [c["idCardNumber"] for c in payload["contractList"]], "contracted", "done")

    def _entry_days(self, conn: Connection, numbers: list[str], now: float) -> dict[str, str]:
        """Each worker's entry date: the roster's day for people enrolled from it, else today."""
        today = beijing_day(now)
        if self.settings.roster_day is None:
            return dict.fromkeys(numbers, today)
        rows = conn.execute(select(workers.c.id_number, workers.c.source).where(workers.c.id_number.in_(numbers)))
        sources = {str(n): str(src) for n, src in rows}
        roster_day = min(self.settings.roster_day, today)
        return {n: roster_day if sources.get(n) == "dataset" else today for n in numbers}

    def enqueue_workers(self, conn: Connection, team_name: str, now: float) -> None:
        """ProjectWorker.Add for the team's workers not yet registered, five per call."""
        team = self.store.team(conn, team_name)
        if team["team_sys_no"] is None:
            return  # Team.Add not done yet: its follow-up will do this
        pending = {
            r[0]
            for r in conn.execute(
                select(stages.c.id_number).where(stages.c.stage == "registered", stages.c.state == "pending")
            )
        }
        queued = {
            n
            for (ref,) in conn.execute(
                select(outbox.c.ref).where(
                    outbox.c.method == "ProjectWorker.Add", outbox.c.state.in_(("pending", "sending", "sent"))
                )
            )
            for n in ref.split(",")
        }
        todo = [w for w in self.store.team_workers(conn, team_name) if w["id_number"] in pending - queued]
        body = team["payload"]
        for i in range(0, len(todo), WORKERS_PER_CALL):
            chunk = todo[i : i + WORKERS_PER_CALL]
            data = {
                "projectCode": body["projectCode"],
                "corpCode": body["corpCode"],
                "corpName": body["corpName"],
                "teamSysNo": team["team_sys_no"],
                "teamName": team_name,
                "workerList": [w["item"] for w in chunk],
            }
            self.store.enqueue(conn, "ProjectWorker.Add", "enrol", ",".join(w["id_number"] for w in chunk), data, now)

    def _enqueue_contracts(self, conn: Connection, payload: dict[str, Any], numbers: list[str], now: float) -> None:
        start = beijing_day(now)
        end = f"{int(start[:4]) + 1}{start[4:]}" if start[5:] != "02-29" else f"{int(start[:4]) + 1}-02-28"
        data = {
            "projectCode": payload["projectCode"],
            "contractList": [
                {
                    "corpCode": payload["corpCode"],
                    "corpName": payload["corpName"],
                    "idCardType": "01",
                    "idCardNumber": n,
                    "contractPeriodType": 1,
                    "startDate": start,
                    "endDate": end,
                    "unit": 81,
                    "unitPrice": 45.0,
                }
                for n in numbers
            ],
        }
        self.store.enqueue(conn, "WorkerContract.Add", "enrol", ",".join(numbers), data, now)


def _future_delay(attempts: int) -> float:
    return float(min(2 ** (attempts - 1), 60))


# Writes the platform would store twice if sent twice: their list, the query that finds a record
# again, and the fields that identify it (looked up after a crash, not sent blindly again).
RECORDS = {
    "WorkerEntryExit.Add": ("workerList", "WorkerEntryExit.Query", ("date", "type")),
    "WorkerContract.Add": ("contractList", "WorkerContract.Query", ("corpCode", "startDate")),
}

# the worker stage a failed enrolment write leaves failed
FOLLOWS = {"ProjectWorker.Add": "registered", "WorkerEntryExit.Add": "entered", "WorkerContract.Add": "contracted"}


def _ids_of(row: dict[str, Any]) -> list[str]:
    return [n for n in str(row["ref"]).split(",") if n]
