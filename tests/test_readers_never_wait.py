"""A recall takes no write lock, so it answers while a writer (another agent, a bulk import) holds one."""

from __future__ import annotations

from contextlib import ExitStack

import apsw
import pytest

from slm import Memory
from slm.storage import connection, postgres
from slm.storage.db import open_db

pytestmark = pytest.mark.both_backends


@pytest.fixture
def writer_holding_the_lock(backend, store_at):
    with Memory.open(store_at) as mem:
        mem.remember("Deploys go out on Tuesdays after the staging soak.")
    with ExitStack() as held:
        if backend == "sqlite":
            other = apsw.Connection(str(store_at))
            other.execute("BEGIN IMMEDIATE")
            held.callback(other.close)
            held.callback(other.execute, "ROLLBACK")
            other.execute("INSERT INTO settings(key, value) VALUES ('held', 'yes')")  # a write in progress
        else:
            other = open_db(store_at)
            held.callback(other.close)
            held.enter_context(other.write_transaction())  # the advisory lock every writer takes, held
            other.execute("INSERT INTO settings(key, value) VALUES ('held', 'yes')")
        yield


def test_a_fresh_recall_answers_while_another_connection_writes(store_at, writer_holding_the_lock, monkeypatch):
    # a recall that waited for the lock would fail here
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", 300)
    monkeypatch.setattr(postgres, "WAIT_SECONDS", 1)
    with Memory.open(store_at) as mem:
        hits = mem.recall("when do deploys go out?", k=1)
    assert hits and "Tuesdays" in hits[0].text
