"""The outbox after a restart on a clock that went back (NTP step, restored VM, libfaketime's
per-process clock): uploads queued on the old clock are not held until the new one catches up."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from vendor.store import Store, outbox
from vendor.uploader import Uploader, UploadSettings, VendorClient


def _outbox_due(store: Store) -> list[float]:
    with store.engine.connect() as conn:
        return [float(r[0]) for r in conn.execute(select(outbox.c.due_s).order_by(outbox.c.id))]


async def _recover(store: Store, now: float) -> None:
    client = VendorClient("http://127.0.0.1:9/open.api", "appid", "secret")
    await Uploader(store, client, UploadSettings("371428202611243708"), lambda: now).recover()


async def test_waits_queued_on_a_clock_that_went_back_are_moved_back_by_as_much(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'v.db'}")
    with store.tx() as conn:
        store.enqueue(conn, "WorkerAttendance.Add", "attendance", "a", {}, 1_000.0, due_s=1_001.0)
        store.enqueue(conn, "WorkerAttendance.Add", "attendance", "b", {}, 1_030.0, due_s=1_032.0)
    await _recover(store, 1_005.0)  # the new clock is 25 s behind the last row queued
    assert _outbox_due(store) == [976.0, 1_007.0]
    store.close()


async def test_a_restart_on_a_sound_clock_keeps_the_waits(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'v.db'}")
    with store.tx() as conn:
        store.enqueue(conn, "WorkerAttendance.Add", "attendance", "a", {}, 1_000.0, due_s=1_060.0)
    await _recover(store, 1_010.0)
    assert _outbox_due(store) == [1_060.0]
    store.close()
