"""A recall takes no write lock, so it answers while a writer (another agent, a bulk import) holds one."""

from __future__ import annotations

import apsw
import pytest

from slm import Memory
from slm.storage import connection


@pytest.fixture
def writer_holding_the_lock(db_path):
    with Memory.open(db_path) as mem:
        mem.remember("Deploys go out on Tuesdays after the staging soak.")
    other = apsw.Connection(str(db_path))
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO settings(key, value) VALUES ('held', 'yes')")  # a write in progress
    yield
    other.execute("ROLLBACK")
    other.close()


def test_a_fresh_recall_answers_while_another_connection_writes(db_path, writer_holding_the_lock, monkeypatch):
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", 300)  # a recall that waited for the lock would fail here
    with Memory.open(db_path) as mem:
        hits = mem.recall("when do deploys go out?", k=1)
    assert hits and "Tuesdays" in hits[0].text
