"""The reference vendor's own database (SQLAlchemy Core, SQLite or PostgreSQL): workers, teams,
enrolment stages, the clock-ins devices delivered, and the durable outbox of uploads to make.

Every state change the platform or a device is told about is committed here first: a clock-in is
acknowledged to its device only after its row and its outbox row are committed, and an outbox
row is marked done only after the platform's async result says so."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

metadata = MetaData()

teams = Table(
    "vendor_teams",
    metadata,
    Column("team_name", String(128), primary_key=True),
    Column("payload", JSON, nullable=False),  # the Team.Add data
    Column("team_sys_no", BigInteger),  # from Team.Add's async result; null until then
)
workers = Table(
    "vendor_workers",
    metadata,
    Column("id_number", String(32), primary_key=True),
    Column("employee_no", String(32), nullable=False, unique=True),  # the person id on the gates
    Column("name", String(64), nullable=False),
    Column("team_name", String(128), nullable=False),
    Column("item", JSON, nullable=False),  # the ProjectWorker.Add workerList item (plaintext)
    Column("photo", Text),  # base64 JPEG for the gates
    Column("source", String(16), nullable=False),  # dataset | idreader
)
# enrolment state of each worker per stage (registered, entered, contracted): pending, done, failed
stages = Table(
    "vendor_stages",
    metadata,
    Column("id_number", String(32), primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("state", String(8), nullable=False),
    Column("detail", Text),
)
clockins = Table(
    "vendor_clockins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False),
    Column("serial_no", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # face_pass, stranger, liveness_fail, card_pass …
    Column("employee_no", String(32)),
    Column("id_number", String(32)),  # null when the person is not ours
    Column("moment", String(19), nullable=False),  # device time, Beijing, yyyy-MM-dd HH:mm:ss
    Column("direction", String(2), nullable=False),  # 01 in, 02 out
    Column("current", Integer, nullable=False),  # 0 for a device's replay
    Column("received_s", Float, nullable=False),
    Column("outcome", String(16), nullable=False),  # queued, ignored (not uploaded and why)
    UniqueConstraint("device_id", "serial_no", name="uq_vendor_clockin"),
)
outbox = Table(
    "vendor_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("method", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # enrol | attendance
    Column("ref", String(128), nullable=False),  # what it is about (team name, id number, …)
    Column("payload", JSON, nullable=False),  # plaintext data (attendance: one dataList item)
    Column("team_sys_no", BigInteger),  # attendance: the team the batch goes to
    Column("id_number", String(32)),  # attendance: whose clock-in
    Column("state", String(8), nullable=False),  # pending, sending, sent, done, failed, dropped
    Column("attempts", Integer, nullable=False, default=0),
    Column("batch", String(40)),  # the send this row went out in
    Column("serial", String(64)),  # requestSerialCode of that send
    Column("error", Text),
    Column("due_s", Float, nullable=False),  # not before (backoff, a held upload)
    Column("created_s", Float, nullable=False),
    Column("done_s", Float),
    Index("ix_vendor_outbox_state", "state", "id"),
)

OPEN_STATES = ("pending", "sending", "sent")


def engine_for(url: str) -> Engine:
    """SQLite: WAL and synchronous=FULL, so that a commit survives a kill; PostgreSQL via psycopg."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        pooling: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pooling)

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cur = conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=4, max_overflow=4, pool_pre_ping=True)


@dataclass
class Store:
    engine: Engine

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # one writer at a time (SQLite; harmless on PostgreSQL)

    @classmethod
    def open(cls, url: str) -> Store:
        store = cls(engine_for(url))
        metadata.create_all(store.engine)
        return store

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self._lock, self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # ---- enrolment ------------------------------------------------------------------------

    def add_team(self, conn: Connection, name: str, payload: dict[str, Any]) -> bool:
        """A team we manage; False when it is already known."""
        if conn.execute(select(teams.c.team_name).where(teams.c.team_name == name)).first():
            return False
        conn.execute(insert(teams).values(team_name=name, payload=payload))
        return True

    def add_worker(
        self, conn: Connection, item: dict[str, Any], team_name: str, photo: str | None, source: str
    ) -> str | None:
        """A worker; returns the employee number given to the gates (None if already known)."""
        number = item["idCardNumber"]
        if conn.execute(select(workers.c.id_number).where(workers.c.id_number == number)).first():
            return None
        count = conn.execute(select(func.count()).select_from(workers)).scalar_one()
        employee_no = str(1001 + count)
        conn.execute(
            insert(workers).values(
                id_number=number,
                employee_no=employee_no,
                name=item["workerName"],
                team_name=team_name,
                item=item,
                photo=photo,
                source=source,
            )
        )
        for stage in ("registered", "entered", "contracted"):
            conn.execute(insert(stages).values(id_number=number, stage=stage, state="pending"))
        return employee_no

    def set_stage(self, conn: Connection, numbers: list[str], stage: str, state: str, detail: str = "") -> None:
        conn.execute(
            update(stages)
            .where(stages.c.id_number.in_(numbers), stages.c.stage == stage)
            .values(state=state, detail=detail or None)
        )

    def team(self, conn: Connection, name: str) -> dict[str, Any]:
        row = conn.execute(select(teams).where(teams.c.team_name == name)).mappings().one()
        return dict(row)

    def all_teams(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(teams)).mappings()]

    def all_workers(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(workers).order_by(workers.c.employee_no)).mappings()]

    def worker_by_employee_no(self, conn: Connection, employee_no: str) -> dict[str, Any] | None:
        row = conn.execute(select(workers).where(workers.c.employee_no == employee_no)).mappings().first()
        return dict(row) if row else None

    def team_workers(self, conn: Connection, name: str) -> list[dict[str, Any]]:
        query = select(workers).where(workers.c.team_name == name).order_by(workers.c.employee_no)
        return [dict(r) for r in conn.execute(query).mappings()]

    def entered(self, conn: Connection, numbers: list[str]) -> set[str]:
        query = select(stages.c.id_number).where(
            stages.c.id_number.in_(numbers), stages.c.stage == "entered", stages.c.state == "done"
        )
        return {r[0] for r in conn.execute(query)}

    # ---- clock-ins and the outbox ---------------------------------------------------------

    def add_clockin(self, conn: Connection, **row: Any) -> bool:
        """Record a delivered event; False when this device already delivered this serial."""
        try:
            with conn.begin_nested():
                conn.execute(insert(clockins).values(**row))
        except IntegrityError:
            return False
        return True

    def enqueue(
        self, conn: Connection, method: str, kind: str, ref: str, payload: Any, now: float, **extra: Any
    ) -> int:
        result = conn.execute(
            insert(outbox).values(
                method=method,
                kind=kind,
                ref=ref,
                payload=payload,
                state="pending",
                attempts=0,
                due_s=extra.pop("due_s", now),
                created_s=now,
                **extra,
            )
        )
        key = result.inserted_primary_key
        return int(key[0]) if key else 0

    def status(self) -> dict[str, Any]:
        """Counts per stage, the outbox backlog and every failure (``GET /status``)."""
        with self.engine.connect() as conn:
            stage_counts: dict[str, dict[str, int]] = {}
            for stage, state, n in conn.execute(
                select(stages.c.stage, stages.c.state, func.count()).group_by(stages.c.stage, stages.c.state)
            ):
                stage_counts.setdefault(stage, {})[state] = int(n)
            box: dict[str, dict[str, int]] = {}
            for kind, state, n in conn.execute(
                select(outbox.c.kind, outbox.c.state, func.count()).group_by(outbox.c.kind, outbox.c.state)
            ):
                box.setdefault(kind, {})[state] = int(n)
            events: dict[str, int] = {
                outcome: int(n)
                for outcome, n in conn.execute(select(clockins.c.outcome, func.count()).group_by(clockins.c.outcome))
            }
            failures = [
                dict(r)
                for r in conn.execute(
                    select(outbox.c.id, outbox.c.method, outbox.c.ref, outbox.c.serial, outbox.c.error, outbox.c.state)
                    .where(outbox.c.state.in_(("failed", "dropped")))
                    .order_by(outbox.c.id)
                    .limit(200)
                ).mappings()
            ]
            backlog = conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.state.in_(OPEN_STATES))
            ).scalar_one()
            teams_known = conn.execute(select(func.count()).select_from(teams)).scalar_one()
            workers_known = conn.execute(select(func.count()).select_from(workers)).scalar_one()
        return {
            "teams": int(teams_known),
            "workers": int(workers_known),
            "stages": stage_counts,
            "clockins": events,
            "outbox": box,
            "backlog": int(backlog),
            "failures": failures,
        }
