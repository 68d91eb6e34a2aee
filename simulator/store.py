"""Persistence for the simulator: one schema (SQLAlchemy Core) on SQLite (default, WAL, a file)
or PostgreSQL. Everything several workers must share lives here: tenants, nonces, rate counters,
sequences, async jobs and the business data."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

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
from sqlalchemy.engine import RootTransaction
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import QueuePool, StaticPool

from simulator.nonce_book import NonceBook
from standard.envelope import compact_json

metadata = MetaData()
# Team numbers are issued after this one: 10 digits, as the real platform issues them (a client
# cuts exactly 10 characters after 已存在班组编号为:).
TEAM_SYS_NO_BASE = 1_000_000_000

tenants = Table(
    "tenants",
    metadata,
    Column("appid", String(64), primary_key=True),
    Column("body", JSON, nullable=False),  # the Tenant as JSON (secret, mode, options)
)
tenant_projects = Table(
    "tenant_projects",
    metadata,
    Column("appid", String(64), primary_key=True),
    Column("project_code", String(32), primary_key=True),
)
nonces = Table(
    "nonces",
    metadata,
    Column("appid", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("seen_at", Float, nullable=False),
    # PostgreSQL's replay memory, shared by worker processes and written on every request; one
    # B-tree rather than a table plus its key index where SQLite is asked to create it
    sqlite_with_rowid=False,
)
# SQLite's replay memory (simulator.nonce_book): appended in time order, read back on first use
nonce_log = Table(
    "nonce_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("appid", String(64), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("seen_at", Float, nullable=False),
    Index("ix_nonce_log_seen_at", "seen_at"),  # upkeep forgets by time
)
rate_hits = Table(
    "rate_hits",
    metadata,
    Column("appid", String(64), primary_key=True),
    Column("window", BigInteger, primary_key=True),
    Column("hits", Integer, nullable=False),
)
sequences = Table(
    "sequences",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
jobs = Table(
    "jobs",
    metadata,
    Column("serial", String(64), primary_key=True),
    Column("appid", String(64), nullable=False),
    Column("method", String(64), nullable=False),
    Column("status", Integer, nullable=False),  # the final status (10 or 20), revealed after ready_at
    Column("result", Text),
    Column("created_at", Float, nullable=False),
    Column("ready_at", Float, nullable=False),
    sqlite_with_rowid=False,  # one B-tree rather than a table plus its key index: written per upload
)
corps = Table(
    "corps",
    metadata,
    Column("corp_code", String(32), primary_key=True),
    Column("body", JSON, nullable=False),
)
projects = Table(
    "projects",
    metadata,
    Column("project_code", String(32), primary_key=True),
    Column("contractor_corp_code", String(32)),
    Column("area_code", String(6)),
    Column("body", JSON, nullable=False),
)
subcontractors = Table(
    "subcontractors",
    metadata,
    Column("project_code", String(32), primary_key=True),
    Column("corp_code", String(32), primary_key=True),
    Column("body", JSON, nullable=False),
)
teams = Table(
    "teams",
    metadata,
    Column("team_sys_no", BigInteger, primary_key=True, autoincrement=False),
    Column("project_code", String(32), nullable=False),
    Column("corp_code", String(32), nullable=False),
    Column("team_name", String(100), nullable=False),
    Column("body", JSON, nullable=False),
    UniqueConstraint("project_code", "team_name"),
)
workers = Table(
    "workers",
    metadata,
    Column("project_code", String(32), primary_key=True),
    Column("id_number", String(32), primary_key=True),
    Column("team_sys_no", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),  # upload order, for stable paging
    Column("body", JSON, nullable=False),
)
entry_exits = Table(
    "entry_exits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_code", String(32), nullable=False),
    Column("id_number", String(32), nullable=False),
    Column("team_sys_no", BigInteger, nullable=False),
    Column("day", String(10), nullable=False),
    Column("type", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_entry_worker", "project_code", "id_number"),
)
contracts = Table(
    "contracts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_code", String(32), nullable=False),
    Column("id_number", String(32), nullable=False),
    Column("corp_code", String(32), nullable=False),
    Column("body", JSON, nullable=False),
)
attendance = Table(
    "attendance",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_code", String(32), nullable=False),
    Column("team_sys_no", BigInteger, nullable=False),
    Column("id_number", String(32), nullable=False),
    Column("moment", String(23), nullable=False),
    Column("day", String(10), nullable=False),
    Column("direction", String(2), nullable=False),
    Column("serial", String(64), nullable=False),
    # For the bureau console: when it happened and when it reached us (epoch seconds), how it was
    # taken (attendType) and a digest of the photo (the same photo for two workers is a red flag).
    Column("at_s", BigInteger),
    Column("received_s", BigInteger),
    Column("attend_type", String(3)),
    Column("image_hash", String(40)),
    Column("body", JSON, nullable=False),
    Index("ix_attendance_day", "project_code", "day"),
    Index("ix_attendance_worker", "id_number", "at_s"),
    Index("ix_attendance_recent", "day", "id_number", "project_code"),  # the console's "recent" scans
)
payrolls = Table(
    "payrolls",
    metadata,
    Column("payroll_code", String(32), primary_key=True),
    Column("project_code", String(32), nullable=False),
    Column("team_sys_no", BigInteger, nullable=False),
    Column("pay_month", String(7), nullable=False),
    Column("body", JSON, nullable=False),
)
trainings = Table(
    "trainings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_code", String(32), nullable=False),
    Column("training_date", String(10), nullable=False),
    Column("body", JSON, nullable=False),
)


def claim_for_serving(url: str) -> IO[bytes] | None:
    """Serving a SQLite file takes an exclusive lock beside it (``<file>.serving``), held until
    the process ends: replays are decided in the serving process's memory (``nonce_book``), so a
    second server on the same file would accept another's nonces. Raises ``FileInUse`` when
    another process holds it; returns the open lock file (keep it open), or None where there is
    nothing to claim (PostgreSQL, memory, no advisory locks)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): the one-server rule is the user's
        return None
    handle = open(url.removeprefix("sqlite:///") + ".serving", "ab")  # held open: the lock lives as long as it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise FileInUse(url) from None
    return handle


class FileInUse(Exception):
    """Another server is serving this SQLite file."""


def engine_for(url: str) -> Engine:
    """SQLite files get WAL and synchronous=FULL (an answer is sent only after a durable commit)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        # Pooled connections: opening one (and re-running the pragmas) per transaction cost more
        # than the transaction itself.
        pooling: dict[str, Any] = (
            {"poolclass": StaticPool} if memory else {"poolclass": QueuePool, "pool_size": 4, "max_overflow": 4}
        )
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pooling)

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling would let a SAVEPOINT open the transaction and
            # its RELEASE commit it (one fsync per savepoint); SQLAlchemy emits BEGIN instead.
            conn.isolation_level = None
            cur = conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)


@dataclass
class Transaction:
    """An open write transaction; ``commit`` or ``rollback`` ends it, in any thread, once."""

    conn: Connection
    _trans: RootTransaction
    _lock: threading.Lock | None
    _book: NonceBook | None = None

    def commit(self) -> None:
        committed = False
        try:
            self._trans.commit()
            committed = True
        finally:
            self._end(committed)

    def rollback(self) -> None:
        try:
            self._trans.rollback()
        finally:
            self._end(False)

    def _end(self, committed: bool) -> None:
        try:
            if self._book is not None:
                self._book.settle(committed)
            self.conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()


@dataclass
class Store:
    engine: Engine

    def __post_init__(self) -> None:
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        # SQLite: replays decided in memory under the write lock (one serving process per file)
        self.nonce_book = NonceBook() if self._write_lock is not None else None
        # the driver's placeholder, for the raw statements of the request path
        self.param = "%s" if self.engine.dialect.name == "postgresql" else "?"
        p = self.param
        self.upsert_nonce_sql = (
            f"INSERT INTO nonces (appid, nonce, seen_at) VALUES ({p}, {p}, {p}) ON CONFLICT (appid, nonce) "
            f"DO UPDATE SET seen_at = excluded.seen_at WHERE nonces.seen_at < {p} RETURNING seen_at"
        )

    @classmethod
    def open(cls, url: str) -> Store:
        store = cls(engine_for(url))
        metadata.create_all(store.engine)
        with store.tx() as conn:
            for name, start in (
                ("team_sys_no", TEAM_SYS_NO_BASE),
                ("serial", 0),
                ("payroll", 0),
                ("worker", 0),
                ("project", 0),
            ):
                try:
                    with conn.begin_nested():
                        conn.execute(insert(sequences).values(name=name, value=start))
                except IntegrityError:
                    pass
            # A database made before team numbers had 10 digits: continue above the base and above
            # every stored team (bulk-loaded teams bring their own numbers).
            floor = max(TEAM_SYS_NO_BASE, conn.execute(select(func.max(teams.c.team_sys_no))).scalar() or 0)
            conn.execute(
                update(sequences)
                .where(sequences.c.name == "team_sys_no", sequences.c.value < floor)
                .values(value=floor)
            )
        return store

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction; SQLite writers are serialised in-process (its single-writer model).
        Ended by ``Transaction`` as every write transaction is (the lock, the nonce book)."""
        tx = self.begin()
        try:
            yield tx.conn
        except BaseException:
            tx.rollback()
            raise
        tx.commit()

    def begin(self) -> Transaction:
        """A transaction to be finished later, possibly by another thread: group commit runs the
        statements on the event loop and waits for COMMIT's fsync in a thread."""
        if self._write_lock is not None:
            self._write_lock.acquire()
        try:
            conn = self.engine.connect()
            return Transaction(conn, conn.begin(), self._write_lock, self.nonce_book)
        except BaseException:
            if self._write_lock is not None:
                self._write_lock.release()
            raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # ---- shared counters ------------------------------------------------------------------

    @staticmethod
    def next_value(conn: Connection, name: str) -> int:
        row = conn.execute(
            update(sequences)
            .where(sequences.c.name == name)
            .values(value=sequences.c.value + 1)
            .returning(sequences.c.value)
        ).one()
        return int(row[0])

    def remember_nonce(self, appid: str, nonce: str, now: float, window: float) -> bool:
        """True when the nonce is new (or last seen outside the window); its own transaction."""
        with self.tx() as conn:
            return self.remember_nonce_in(conn, appid, nonce, now, window)

    def remember_nonce_in(
        self,
        conn: Connection,
        appid: str,
        nonce: str,
        now: float,
        window: float,
        cursor: Any = None,
        log: list[Any] | None = None,
    ) -> bool:
        """The same inside a caller's transaction (a write pays one commit, not two). SQLite: the
        nonce book (in memory, logged append-only). PostgreSQL, shared by worker processes: one
        upsert, inserted or re-accepted once the old sighting left the window; RETURNING says
        which (psycopg reports rowcount -1 here); raw SQL because building the statement through
        SQLAlchemy cost ten times its execution on the request path. ``log``: on SQLite, the
        book's log rows are appended there for the caller to insert (``nonce_book.LOG_INSERT``)
        before committing."""
        cur = cursor or driver_cursor(conn)
        if self.nonce_book is not None:
            return self.nonce_book.remember(cur, appid, nonce, now, window, log)
        cur.execute(self.upsert_nonce_sql, (appid, nonce, now, now - window))
        return cur.fetchone() is not None

    def hit(self, appid: str, window: int) -> int:
        """Count one request in the tenant's rate window; return the count so far."""
        with self.tx() as conn:
            updated = conn.execute(
                update(rate_hits)
                .where(rate_hits.c.appid == appid, rate_hits.c.window == window)
                .values(hits=rate_hits.c.hits + 1)
                .returning(rate_hits.c.hits)
            ).first()
            if updated is not None:
                return int(updated[0])
            try:
                with conn.begin_nested():
                    conn.execute(insert(rate_hits).values(appid=appid, window=window, hits=1))
                return 1
            except IntegrityError:
                return int(
                    conn.execute(
                        update(rate_hits)
                        .where(rate_hits.c.appid == appid, rate_hits.c.window == window)
                        .values(hits=rate_hits.c.hits + 1)
                        .returning(rate_hits.c.hits)
                    ).scalar_one()
                )


ATTENDANCE_COLUMNS = (
    "project_code",
    "team_sys_no",
    "id_number",
    "moment",
    "day",
    "direction",
    "serial",
    "at_s",
    "received_s",
    "attend_type",
    "image_hash",
    "body",
)
_INSERT_ATTENDANCE = {
    dialect: f"INSERT INTO attendance ({', '.join(ATTENDANCE_COLUMNS)}) "
    f"VALUES ({', '.join([p] * (len(ATTENDANCE_COLUMNS) - 1))}, {body})"  # the body last, JSON-cast
    for dialect, p, body in (("sqlite", "?", "?"), ("postgresql", "%s", "%s::json"))
}


def insert_attendance(conn: Connection, rows: list[tuple[Any, ...]], cursor: Any = None) -> None:
    """Clock-in rows, values in ``ATTENDANCE_COLUMNS`` order with the body as JSON text, through
    the driver (the morning peak's statement); ``cursor``: the transaction's driver cursor."""
    (cursor or driver_cursor(conn)).executemany(_INSERT_ATTENDANCE[conn.dialect.name], rows)


def driver_cursor(conn: Connection) -> Any:
    """A driver cursor inside the connection's open transaction: the hot statements skip
    SQLAlchemy's per-execute bookkeeping (three times the cost of the statement itself)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def dumps(value: Any) -> str:
    return compact_json(value)
