"""Opening an older store upgrades it, and says so: the engine reports each stage to a progress callback, the CLI
shows bars and a final line on stderr (stdout stays JSON), the MCP server logs lines on stderr (issue 20)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.upgrade import to_schema_6
from slm import Memory
from slm.core import upgrades
from slm.facts import validity
from slm.storage import migrations
from slm.storage.connection import open_connection
from tests.test_cli import run

SLM = str(Path(sys.executable).with_name("slm"))
LONG = " ".join(f"Step {i} of the billing runbook restarts the ledger worker and checks its queue." for i in range(60))
NOTES = [
    ("api-gateway uses PostgreSQL", "claude-code"),
    ("api-gateway uses MySQL", "cursor"),  # a contradiction: the check stage has work
    ("The search indexer is written in Rust.", "cursor"),
    ("Thanks, that works!", "user"),  # no claim
    (LONG, "user"),  # several chunks: a Gaussian to backfill from schema 5
]
LATEST = len(migrations.load_migrations())
CLAIM_STAGES = ["finding claims", "placing claims", "checking for contradictions"]


@pytest.fixture(scope="module")
def schema_6(slm_home, tmp_path_factory) -> Path:
    """A small store as slm at schema 6 left it."""
    db = tmp_path_factory.mktemp("schema6") / "store" / "memory.db"
    with Memory.open(db) as mem:
        for text, agent in NOTES:
            mem.remember(text, agent=agent)
    to_schema_6(db)
    return db


@pytest.fixture
def old(schema_6, tmp_path) -> Path:
    shutil.copytree(schema_6.parent, tmp_path / "store")
    return tmp_path / "store" / schema_6.name


class Heard:
    """What a progress callback was told: (stage, done, total) in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.calls.append((stage, done, total))

    def stages(self) -> list[str]:
        return list(dict.fromkeys(stage for stage, _, _ in self.calls))

    def of(self, stage: str) -> list[tuple[int, int]]:
        return [(done, total) for s, done, total in self.calls if s == stage]


def finished_in_order(heard: list[tuple[int, int]], total: int) -> bool:
    dones = [done for done, _ in heard]
    return {t for _, t in heard} == {total} and dones == sorted(dones) and dones[0] == 0 and dones[-1] == total


def test_an_upgrade_from_schema_6_reports_each_stage_with_its_total(old):
    heard = Heard()
    with Memory.open(old, progress=heard) as mem:
        keys = mem.conn.execute(  # only keys whose current claims hold two values are checked: no other can change
            "SELECT count(*) FROM (SELECT 1 FROM claims WHERE valid_to IS NULL GROUP BY subject, attribute, project "
            "HAVING count(DISTINCT value || '/' || polarity) > 1)"
        )
        key_count = keys.fetchone()[0]
        every_key = mem.conn.execute("SELECT count(DISTINCT subject || '/' || attribute) FROM claims").fetchone()[0]
        assert mem.contradictions()  # the claims were placed and checked
    assert heard.stages() == [upgrades.MIGRATING, *CLAIM_STAGES]
    assert heard.of(upgrades.MIGRATING) == [(n, LATEST - 6) for n in range(LATEST - 6 + 1)]  # 7, 8, ...
    assert finished_in_order(heard.of("finding claims"), len(NOTES))
    assert finished_in_order(heard.of("placing claims"), len(NOTES))
    assert 1 < key_count < every_key and finished_in_order(heard.of("checking for contradictions"), key_count)


def test_a_schema_5_store_reports_its_gaussians_in_chunks(old):
    conn = open_connection(old)
    chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    conn.execute("DROP TABLE memory_gaussians")
    conn.execute("DROP TABLE memory_lifecycle")
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    heard = Heard()
    Memory.open(old, progress=heard).close()
    assert heard.stages() == [upgrades.MIGRATING, upgrades.GAUSSIANS, *CLAIM_STAGES]
    assert heard.of(upgrades.MIGRATING)[-1] == (LATEST - 5, LATEST - 5)
    assert chunks > len(NOTES) and heard.of(upgrades.GAUSSIANS)[-1] == (chunks, chunks)


def test_a_new_or_current_store_reports_nothing(tmp_path, slm_home):
    heard = Heard()
    Memory.open(tmp_path / "new" / "memory.db", progress=heard).close()  # created, not upgraded
    Memory.open(tmp_path / "new" / "memory.db", progress=heard).close()
    assert heard.calls == []


def test_the_cli_says_it_upgraded_on_stderr_and_keeps_json_on_stdout(old):
    done = run("list", "--db", old, "--json")
    assert len(json.loads(done.stdout)) == len(NOTES)
    assert f"upgraded {old.resolve()} for this slm in" in done.stderr.replace("\n", "")
    assert f"finding claims ({len(NOTES)})" in done.stderr
    again = run("list", "--db", old, "--json")
    assert json.loads(again.stdout) == json.loads(done.stdout) and "upgraded" not in again.stderr


def test_the_mcp_server_logs_the_upgrade_on_stderr_and_nothing_on_stdout(old):
    served = subprocess.run([SLM, "mcp", "--db", str(old)], input=b"", capture_output=True, timeout=120)
    log = served.stderr.decode()
    assert served.returncode == 0, log
    assert served.stdout == b""
    for stage in (upgrades.MIGRATING, *CLAIM_STAGES):
        assert f"slm: upgrading the store: {stage} done in" in log
    assert f"slm: upgrading the store: finding claims 0/{len(NOTES)}" in log


def test_claims_found_by_worker_processes_are_those_found_in_one(old, tmp_path, monkeypatch):
    """A backfill of many memories extracts their claims in a process pool; it must place exactly the same."""
    shutil.copytree(old.parent, tmp_path / "serial")
    monkeypatch.setattr(validity, "PARALLEL_FROM", 2)  # pooled from two statements on, as from 5,000 otherwise
    monkeypatch.setattr(validity, "PART", 2)  # several parts, so their order matters
    heard = Heard()
    with Memory.open(old, progress=heard) as pooled:
        in_pool = claims_and_validity(pooled)
    assert heard.of("finding claims") == [(0, 5), (2, 5), (4, 5), (5, 5)]
    monkeypatch.setattr(validity, "PARALLEL_FROM", 10**9)
    with Memory.open(tmp_path / "serial" / old.name) as serial:
        assert claims_and_validity(serial) == in_pool and in_pool[0]


def claims_and_validity(mem: Memory) -> tuple[list, list]:
    return (
        mem.conn.execute("SELECT * FROM claims ORDER BY id").fetchall(),
        mem.conn.execute("SELECT id, valid_from, valid_to FROM memories ORDER BY id").fetchall(),
    )
