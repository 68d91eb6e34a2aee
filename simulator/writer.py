"""The write path: an accepted upload is applied and committed before it is answered, and many
uploads share one commit (group commit: one fsync for a whole batch of concurrent requests).

``WorkerAttendance.Add`` — the morning peak — runs its rule (``rules.attendance``) on cached
membership (team, worker in project, first entry) and raw driver statements; every other method
runs its rule handler in a savepoint. Replays are decided here (``Writer.fresh``).
The caches hold only facts that never become false (a worker once in a project stays in it; the
first entry day never moves), so several worker processes can share one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, update

from simulator import nonce_book, rules
from simulator.checks import NONCE, REPLAYED, Verified
from simulator.config import Settings
from simulator.faults import Fault
from simulator.store import Store, driver_cursor, dumps, insert_attendance, sequences, workers
from standard import envelope
from standard.envelope import Code, Envelope
from standard.models.base import WireModel
from standard.requirements import enforced

log = logging.getLogger("jzgr.simulator")
SERIAL_BLOCK = 1000  # sequence numbers taken from the database at a time
TEAM_TTL = 5.0  # seconds a cached team body is trusted (Team.Update may rename it)


@dataclass
class Unit:
    """One accepted write waiting for its transaction."""

    req: Verified
    model: WireModel
    data: dict[str, Any]  # the model as on the wire (``model.wire()``, made once)
    fault: Fault | None = None  # async_stuck / async_fail, decided before the transaction


@dataclass
class Written:
    status: int  # the async status the job will reveal (20 or 10), or -1 for a replayed nonce
    serial: str | None = None


@dataclass
class Deferred:
    """The attendance rows, job rows and (SQLite) nonce-log rows of a batch's writes, inserted
    together when the batch's statements are done: one ``executemany`` per table instead of
    three statements per write."""

    insert_job: str
    cursor: Any
    attendance: list[tuple[Any, ...]] = field(default_factory=list)
    jobs: list[tuple[Any, ...]] = field(default_factory=list)
    nonces: list[tuple[Any, ...]] = field(default_factory=list)

    def flush(self, conn: Connection) -> None:
        if self.nonces:
            self.cursor.executemany(nonce_book.LOG_INSERT, self.nonces)
            self.nonces = []
        if self.attendance:
            insert_attendance(conn, self.attendance, self.cursor)
            self.attendance = []
        if self.jobs:
            self.cursor.executemany(self.insert_job, self.jobs)
            self.jobs = []


class SerialNumbers:
    """requestSerialCode sequence numbers, taken from the shared ``sequences`` row a block at a
    time (one UPDATE per thousand writes; unique across worker processes). The block is taken in
    the caller's transaction (SQLite has one writer); if that transaction rolls back, so does the
    block (``forget``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._end = 0

    def take(self, conn: Connection) -> int:
        with self._lock:
            if self._next >= self._end:
                top = conn.execute(
                    update(sequences)
                    .where(sequences.c.name == "serial")
                    .values(value=sequences.c.value + SERIAL_BLOCK)
                    .returning(sequences.c.value)
                ).scalar_one()
                self._next, self._end = int(top) - SERIAL_BLOCK + 1, int(top) + 1
            value = self._next
            self._next += 1
            return value

    def forget(self) -> None:
        with self._lock:
            self._next = self._end = 0


@dataclass
class Memo:
    """Positive-only caches for the attendance rules."""

    teams: dict[tuple[str, int], tuple[float, dict[str, Any]]] = field(default_factory=dict)
    workers: dict[str, set[str]] = field(default_factory=dict)
    first_entry: dict[tuple[str, str], str] = field(default_factory=dict)

    def clear(self) -> None:
        self.teams.clear()
        self.workers.clear()
        self.first_entry.clear()


class Writer:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.serials = SerialNumbers()
        self.memo = Memo()
        p = store.param
        self._insert_job = (
            f"INSERT INTO jobs (serial, appid, method, status, result, created_at, ready_at) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})"
        )
        self._select_team = f"SELECT body FROM teams WHERE team_sys_no = {p} AND project_code = {p}"
        self._committer: GroupCommit | None = None

    # -- entry points ---------------------------------------------------------------------------
    def run_sync(self, unit: Unit) -> Written:
        """In the caller's thread, its own transaction (in-process use and tests)."""
        try:
            with self.store.tx() as conn:
                return self.apply_batch(conn, [unit])[0]
        except Exception:
            self._rolled_back()
            raise

    async def run(self, unit: Unit) -> Written:
        """Through the group committer: answered after the batch it joined is committed."""
        if self._committer is None:
            self._committer = GroupCommit(self.store, self.apply_batch, self._rolled_back)
        return await self._committer.submit(unit)

    def stats(self) -> dict[str, Any]:
        """Group-commit figures for /healthz: batches committed and writes in them."""
        c = self._committer
        return {"commits": c.batches, "writes": c.units} if c is not None else {"commits": 0, "writes": 0}

    def _rolled_back(self) -> None:
        """What the caches and the serial block hold may come from the rolled-back transaction."""
        self.memo.clear()
        self.serials.forget()

    # -- replay -----------------------------------------------------------------------------------
    def fresh(self, conn: Connection, req: Verified, cursor: Any = None, log: list[Any] | None = None) -> bool:
        """REQ-NONCE-01, the one place a replay is decided: False when the request's nonce was seen
        from its tenant inside the window; otherwise True, and the nonce is remembered in the
        caller's transaction (the write's own, so a write and its nonce commit together)."""
        window = req.nonce_window
        if window is None:
            return True
        return self.store.remember_nonce_in(conn, req.tenant.appid, req.form["nonce"], req.ts, window, cursor, log)

    def fresh_alone(self, req: Verified) -> bool:
        """The same in a transaction of its own: for the methods that write nothing (queries)."""
        if req.nonce_window is None:
            return True
        with self.store.tx() as conn:
            return self.fresh(conn, req)

    # -- writes inside a transaction -----------------------------------------------------------
    def apply_batch(self, conn: Connection, units: list[Unit]) -> list[Written]:
        """Apply ``units`` in order in the caller's transaction (which commits or rolls back)."""
        # one driver cursor for the batch: getting one costs as much as a statement
        later = Deferred(self._insert_job, driver_cursor(conn))
        results = [self.apply(conn, unit, later) for unit in units]
        later.flush(conn)
        return results

    def apply(self, conn: Connection, unit: Unit, later: Deferred) -> Written:
        req = unit.req
        method = req.method.name
        if not self.fresh(conn, req, later.cursor, later.nonces):
            return Written(-1)
        sequence = self.serials.take(conn)
        serial = envelope.request_serial_code(method, req.now, sequence % 10000, node=sequence // 10000 + 1)
        ready_at = req.ts + self.settings.async_delay
        fault = unit.fault
        if fault is not None and fault.kind == "async_fail":
            outcome = rules.Outcome.fail(fault.message)  # failed: nothing is applied
        elif fault is not None:  # async_stuck: never processed, status 0 for ever
            outcome, ready_at = rules.Outcome.fail("stuck"), 1e18
        elif method == "WorkerAttendance.Add":  # the morning peak: the rule on cached facts
            facts = CachedFacts(self.memo, conn, self._select_team)
            rows = rules.attendance(facts, self.settings, unit.data, serial, req.now)
            if isinstance(rows, str):
                outcome = rules.Outcome.fail(rows)
            else:
                later.attendance.extend(rows)
                outcome = rules.Outcome.ok()
        else:
            later.flush(conn)  # a rule handler reads the tables: earlier writes of the batch first
            ctx = rules.WriteContext(conn, req.tenant, self.settings, req.now.replace(tzinfo=None), serial)
            outcome = rules.apply(ctx, method, unit.model)
        later.jobs.append(
            (
                serial,
                req.tenant.appid,
                method,
                outcome.status,
                _dumps_result(outcome.result),
                req.ts,
                ready_at,
            )
        )
        return Written(outcome.status, serial)


class CachedFacts:
    """The attendance rule's facts (``rules.AttendanceFacts``) from the writer's positive-only
    caches, read in the transaction of the write being applied when not cached. The workers and
    entries a batch writes go straight to their tables, so no deferred row is missed."""

    __slots__ = ("conn", "memo", "select_team")

    def __init__(self, memo: Memo, conn: Connection, select_team: str) -> None:
        self.memo = memo
        self.conn = conn
        self.select_team = select_team

    def team(self, project_code: str, sys_no: int) -> dict[str, Any] | None:
        key = (project_code, sys_no)
        hit = self.memo.teams.get(key)
        if hit is not None and time.monotonic() - hit[0] < TEAM_TTL:
            return hit[1]
        cur = driver_cursor(self.conn)
        cur.execute(self.select_team, (sys_no, project_code))
        row = cur.fetchone()
        if row is None:
            return None
        body = row[0] if isinstance(row[0], dict) else json.loads(row[0])
        self.memo.teams[key] = (time.monotonic(), body)
        return body

    def known_workers(self, project_code: str, ids: list[str]) -> set[str]:
        cached = self.memo.workers.setdefault(project_code, set())
        unknown = [n for n in ids if n not in cached]
        if unknown:
            found = self.conn.execute(
                workers.select()
                .with_only_columns(workers.c.id_number)
                .where(workers.c.project_code == project_code, workers.c.id_number.in_(unknown))
            ).scalars()
            cached.update(found)
        return cached

    def first_entries(self, project_code: str, ids: list[str]) -> dict[str, str]:
        memo = self.memo.first_entry
        unknown = [n for n in ids if (project_code, n) not in memo]
        if unknown:
            for number, day in rules.first_entries(self.conn, project_code, unknown).items():
                memo[(project_code, number)] = day
        return {n: memo[(project_code, n)] for n in ids if (project_code, n) in memo}


ACCEPTED = enforced("REQ-ASYNC-01")  # an accepted write answers 0 with its requestSerialCode


def answer_for(written: Written) -> tuple[Envelope, str]:
    """The synchronous answer to an accepted write, and the deciding check id."""
    if written.status == -1:
        return Envelope.error(Code.BAD_PARAMETER, REPLAYED), NONCE
    return Envelope.success({"requestSerialCode": written.serial}), ACCEPTED


def _dumps_result(value: Any) -> str | None:
    return None if value is None else dumps(value)


# ---- group commit -----------------------------------------------------------------------------


class GroupCommit:
    """Batches the writes that arrive together into one transaction.

    The first write of a batch schedules a flush for the loop's next turn; every request whose
    bytes arrived meanwhile is checked and joins it. The flush runs the batch's statements on the
    event loop (on one core a writer thread would wait for the interpreter lock), then hands
    COMMIT — mostly the fsync, which releases the lock — to a thread, so the loop goes on reading
    and checking the next requests meanwhile; they form the next batch, flushed when the commit
    is done (one writer at a time). Each write is answered only after its batch's COMMIT. If a
    batch fails as a whole, each write is retried alone so one bad request cannot take the others
    down."""

    def __init__(
        self,
        store: Store,
        apply: Callable[[Connection, list[Unit]], list[Written]],
        on_rollback: Callable[[], None] = lambda: None,
        max_batch: int = 512,
    ) -> None:
        self.store = store
        self.apply = apply
        self.on_rollback = on_rollback
        self.max_batch = max_batch
        self._pending: list[tuple[Unit, asyncio.Future[Written]]] = []
        self._scheduled = False
        self._committing = False
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="jzgr-commit")
        self.batches = 0
        self.units = 0

    def submit(self, unit: Unit) -> asyncio.Future[Written]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Written] = loop.create_future()
        self._pending.append((unit, future))
        if not self._scheduled and not self._committing:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._scheduled = False
        if self._committing or not self._pending:
            return
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        self.batches += 1
        self.units += len(batch)
        tx = self.store.begin()
        try:
            results = self.apply(tx.conn, [unit for unit, _ in batch])
        except Exception:
            tx.rollback()
            self._failed(batch)
            self._next()
            return
        self._committing = True
        done = asyncio.get_running_loop().run_in_executor(self._committer, tx.commit)
        done.add_done_callback(lambda f: self._committed(f, batch, results))

    def _committed(
        self, done: asyncio.Future[None], batch: list[tuple[Unit, asyncio.Future[Written]]], results: list[Written]
    ) -> None:
        self._committing = False
        if done.exception() is not None:
            self._failed(batch)
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # the client may have gone; the write stands
                    future.set_result(result)
        self._next()

    def _next(self) -> None:
        if self._pending and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _failed(self, batch: list[tuple[Unit, asyncio.Future[Written]]]) -> None:
        """The batch rolled back: what the caches hold may come from it; retry each write alone
        (synchronously: the rare path)."""
        self.on_rollback()
        for unit, future in batch:
            try:
                with self.store.tx() as conn:
                    result = self.apply(conn, [unit])[0]
            except Exception:
                self.on_rollback()
                log.exception("write failed")
                if not future.done():
                    future.set_exception(RuntimeError("write failed"))
                continue
            if not future.done():
                future.set_result(result)
