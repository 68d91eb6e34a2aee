"""SQLite's replay memory (simulator.nonce_book) against a real database file: what the store
remembers survives a restart, a rolled-back transaction leaves no trace, and sightings leave the
window (and memory) with time."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from simulator.store import Store, driver_cursor, nonce_log

WINDOW = 600.0


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nonces.db'}"


def test_a_nonce_is_refused_within_the_window_and_accepted_after_it(url: str) -> None:
    store = Store.open(url)
    assert store.remember_nonce("app", "n1", 1000.0, WINDOW)
    assert not store.remember_nonce("app", "n1", 1000.0 + WINDOW - 1, WINDOW)
    assert store.remember_nonce("other-app", "n1", 1001.0, WINDOW)  # per appid
    assert store.remember_nonce("app", "n1", 1000.0 + WINDOW + 1, WINDOW)
    store.close()


def test_what_was_remembered_is_refused_after_a_restart(url: str) -> None:
    first = Store.open(url)
    assert first.remember_nonce("app", "n1", 1000.0, WINDOW)
    first.close()
    again = Store.open(url)  # a new process's store: memory starts empty and reads the log
    assert not again.remember_nonce("app", "n1", 1010.0, WINDOW)
    assert again.remember_nonce("app", "n2", 1010.0, WINDOW)
    again.close()


def test_a_rolled_back_transaction_leaves_its_nonces_unused(url: str) -> None:
    store = Store.open(url)
    with pytest.raises(RuntimeError), store.tx() as conn:
        assert store.remember_nonce_in(conn, "app", "n1", 1000.0, WINDOW)
        assert not store.remember_nonce_in(conn, "app", "n1", 1000.0, WINDOW)  # the same batch
        raise RuntimeError("the batch failed")
    tx = store.begin()
    assert store.remember_nonce_in(tx.conn, "app", "n2", 1000.0, WINDOW, driver_cursor(tx.conn))
    tx.rollback()
    assert store.remember_nonce("app", "n1", 1001.0, WINDOW)
    assert store.remember_nonce("app", "n2", 1001.0, WINDOW)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(nonce_log)).scalar_one() == 2
    store.close()


def test_expired_sightings_leave_memory(url: str) -> None:
    store = Store.open(url)
    assert store.nonce_book is not None
    for i in range(100):
        assert store.remember_nonce("app", f"n{i}", 1000.0 + i, WINDOW)
    assert len(store.nonce_book) == 100
    assert store.remember_nonce("app", "late", 1000.0 + 2 * WINDOW + 200, WINDOW)
    assert len(store.nonce_book) == 1
    store.close()


def test_a_cleared_book_reads_the_log_again(url: str) -> None:
    """The admin reset deletes the log and clears the book; a reset that rolls back loses nothing."""
    store = Store.open(url)
    assert store.nonce_book is not None
    assert store.remember_nonce("app", "kept", 1000.0, WINDOW)
    with pytest.raises(RuntimeError), store.tx() as conn:
        conn.execute(delete(nonce_log))
        store.nonce_book.clear()
        raise RuntimeError("the reset failed")
    assert not store.remember_nonce("app", "kept", 1001.0, WINDOW)
    with store.tx() as conn:
        conn.execute(delete(nonce_log))
        store.nonce_book.clear()
    assert store.remember_nonce("app", "kept", 1002.0, WINDOW)
    store.close()


def test_remembered_nonces_leave_the_garbage_collector_nothing_to_track(url: str) -> None:
    """Serving remembers thousands of nonces a second; a tracked object kept per nonce (a tuple
    key, say) is one more for every collection to walk until one untracks it
    (benchmarks/README.md). Collections are paused while the objects are counted."""
    store = Store.open(url)
    with store.tx() as conn:  # the book is read from the log on first use
        store.remember_nonce_in(conn, "app", "first", 1000.0, WINDOW)
    gc.disable()
    try:
        gc.collect()
        tracked = {id(o) for o in gc.get_objects()}
        with store.tx() as conn:
            for i in range(5000):
                assert store.remember_nonce_in(conn, "app", f"nonce-{i}", 1000.0 + i / 1000, WINDOW)
        kept = sum(1 for o in gc.get_objects() if id(o) not in tracked)
    finally:
        gc.enable()
    assert kept < 100  # not one per nonce
    store.close()
