"""What a group commit costs per write on SQLite, and how much of it remembering nonces costs.

Batches of single-record attendance writes as the writer issues them (nonce, attendance row, job;
one ``executemany`` per table), into a store already holding ``--prefill`` writes. Prints the CPU
per write of the statements and of COMMIT (which writes every dirtied page to the WAL and fsyncs
it) for three ways of remembering the nonce: the store's (the nonce book: in memory, logged in
time order), and an upsert into the ``nonces`` B-tree (what PostgreSQL does, and SQLite did
before) with random nonces (UUIDs, as clients send them) and with sequential ones.

    taskset -c 0 .venv/bin/python benchmarks/sim_commit.py [--prefill 50000] [--batches 60]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from simulator.store import Store, driver_cursor, insert_attendance

APPID = "37140220190101001"
INSERT_JOB = "INSERT INTO jobs (serial, appid, method, status, result, created_at, ready_at) VALUES (?,?,?,?,?,?,?)"
BODY = json.dumps({"idCardType": "01", "idCardNumber": "x" * 18, "date": "2026-11-30 08:00:00", "direction": "01"})


class Batches:
    def __init__(self, store: Store, nonce: Callable[[int], str], book: bool) -> None:
        self.store, self.nonce, self.book, self.count = store, nonce, book, 0

    def run(self, size: int) -> tuple[float, float]:
        """One batch of ``size`` writes; CPU seconds of its statements and of its COMMIT."""
        tx = self.store.begin()
        cur = driver_cursor(tx.conn)
        started = time.process_time()
        rows, jobs = [], []
        for _ in range(size):
            i, now = self.count, time.time()
            self.count += 1
            if self.book:
                self.store.remember_nonce_in(tx.conn, APPID, self.nonce(i), now, 600, cur)
            else:
                cur.execute(self.store.upsert_nonce_sql, (APPID, self.nonce(i), now, now - 600))
                cur.fetchone()
            serial = f"attendance-add-2026113008-1-{i:09d}"
            worker = f"3701021990{i % 20:08d}"
            moment, day = "2026-11-30 08:00:00", "2026-11-30"
            rows.append((APPID, 100000001, worker, moment, day, "01", serial, now, int(now), None, None, BODY))
            jobs.append((serial, APPID, "WorkerAttendance.Add", 20, None, now, now + 1))
        insert_attendance(tx.conn, rows, cur)
        cur.executemany(INSERT_JOB, jobs)
        statements = time.process_time() - started
        tx.commit()
        return statements, time.process_time() - started - statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefill", type=int, default=50_000)
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    kinds: dict[str, tuple[Callable[[int], str], bool]] = {
        "nonce book, random nonces": (lambda _i: uuid.uuid4().hex, True),
        "B-tree upsert, random nonces (UUID hex)": (lambda _i: uuid.uuid4().hex, False),
        "B-tree upsert, sequential nonces": (lambda i: f"{i:032d}", False),
    }
    for name, (nonce, book) in kinds.items():
        store = Store.open(f"sqlite:///{Path(tempfile.mkdtemp()) / 'commit.db'}")
        batches = Batches(store, nonce, book)
        for _ in range(args.prefill // 128):
            batches.run(128)
        for size in (16, 128):
            spent = [batches.run(size) for _ in range(args.batches)]
            statements = sum(s for s, _ in spent) / args.batches / size * 1e6
            commit = sum(c for _, c in spent) / args.batches
            print(
                f"{name}, batches of {size}: statements {statements:.0f} µs per write, "
                f"COMMIT {commit * 1e3:.2f} ms per batch = {commit / size * 1e6:.0f} µs per write"
            )
        store.close()


if __name__ == "__main__":
    main()
