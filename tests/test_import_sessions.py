"""`slm import --from claude-code|chatgpt|claude`: what users already have, captured by the same rules as a live
session, idempotent, from files written in each export's documented format (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm import Memory
from slm.storage.db import StoreLocation
from tests.claude_transcripts import Transcript, a_working_session
from tests.test_cli import cli

pytestmark = pytest.mark.both_backends  # each import writes into a store: a SQLite file, or a PostgreSQL database

CHATGPT = [
    {
        "id": "c-1", "title": "Dog care", "create_time": 1717000000.0, "current_node": "n3",
        "mapping": {
            "root": {"id": "root", "message": None, "parent": None, "children": ["n1"]},
            "n1": {"id": "n1", "parent": "root", "children": ["n2"], "message": {
                "author": {"role": "user"}, "create_time": 1717000000.0,
                "content": {"content_type": "text", "parts": ["I took Lola to the vet last week and the fee was $50."]},
            }},
            "n2": {"id": "n2", "parent": "n1", "children": ["n3", "n2b"], "message": {
                "author": {"role": "assistant"}, "create_time": 1717000010.0,
                "content": {"content_type": "text", "parts": ["That is a fair price for a consultation visit."]},
            }},
            "n2b": {"id": "n2b", "parent": "n2", "children": [], "message": {  # a branch the user left
                "author": {"role": "user"}, "create_time": 1717000020.0,
                "content": {"content_type": "text", "parts": ["I moved to Denver in 2019 with my two dogs."]},
            }},
            "n3": {"id": "n3", "parent": "n2", "children": [], "message": {
                "author": {"role": "user"}, "create_time": 1717000030.0,
                "content": {"content_type": "text", "parts": ["We decided to switch Lola to a grain-free diet."]},
            }},
        },
    },
    {"id": "broken", "title": "no mapping"},
]  # fmt: skip
CLAUDE_AI = [
    {
        "uuid": "k-1", "name": "Trip", "created_at": "2024-05-01T10:00:00Z",
        "chat_messages": [
            {"uuid": "m1", "sender": "human", "text": "I visited Lisbon in March with my sister Ana.",
             "created_at": "2024-05-01T10:00:00Z", "content": []},
            {"uuid": "m2", "sender": "assistant", "text": "", "created_at": "2024-05-01T10:00:05Z",
             "content": [{"type": "text", "text": "Lisbon in spring is lovely for walking."}]},
            {"uuid": "m3", "sender": "human", "text": "", "created_at": "2024-05-01T10:01:00Z",
             "content": [{"type": "text", "text": "I prefer trains over planes for trips under six hours."}]},
        ],
    },
]  # fmt: skip


def imported(source: str, path: Path, db: str, *extra: str) -> dict:
    done = cli("import", "--from", source, str(path), "--db", db, "--json", *extra)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def contents(db: Path | StoreLocation) -> dict[str, str]:
    with Memory.open(db, create=False) as mem:
        return {row.content: row.kind for row in mem.list(limit=200)}


def test_a_chatgpt_export_keeps_the_branch_that_was_kept_and_imports_once(tmp_path, store_at, db_arg):
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(CHATGPT))
    first = imported("chatgpt", tmp_path, db_arg)
    assert first["conversations"] == 1 and first["skipped"] == 1 and first["projects"] == ["chatgpt"]
    kept = contents(store_at)
    assert kept["I took Lola to the vet last week and the fee was $50."] == "fact"
    assert kept["We decided to switch Lola to a grain-free diet."] == "decision"
    assert not any("Denver" in text for text in kept)  # the abandoned branch
    again = imported("chatgpt", export, db_arg)
    assert again["stored"] == 0 and contents(store_at) == kept


def test_a_claude_ai_export_reads_text_or_content_blocks(tmp_path, store_at, db_arg):
    (tmp_path / "conversations.json").write_text(json.dumps(CLAUDE_AI))
    report = imported("claude", tmp_path, db_arg, "-p", "travel")
    assert report["projects"] == ["travel"]
    kept = contents(store_at)
    assert kept["I visited Lisbon in March with my sister Ana."] == "fact"
    assert kept["I prefer trains over planes for trips under six hours."] == "preference"


def test_claude_code_transcripts_go_to_the_project_they_ran_in(tmp_path, db_arg):
    folder = tmp_path / "projects" / "-work-shop"
    folder.mkdir(parents=True)
    repo = tmp_path / "shop"
    repo.mkdir()
    a_working_session(Transcript(folder / "4c1d.jsonl", "4c1d", repo))
    first = imported("claude-code", tmp_path / "projects", db_arg)
    assert first["conversations"] == 1 and first["projects"] == ["shop"] and first["stored"] >= 6
    assert imported("claude-code", tmp_path / "projects", db_arg)["stored"] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{not json", b"not JSON"), (b'{"a": 1}', b"list of conversations")],
    ids=["broken", "not a list"],
)
def test_a_bad_export_is_refused_with_a_clear_message(tmp_path, db_arg, content, message):
    (tmp_path / "conversations.json").write_bytes(content)
    done = cli("import", "--from", "chatgpt", str(tmp_path), "--db", db_arg)
    assert done.returncode == 2 and message in done.stderr and b"Traceback" not in done.stderr


def test_nothing_at_the_path_says_what_to_name(tmp_path, db_arg):
    done = cli("import", "--from", "claude-code", str(tmp_path / "nowhere"), "--db", db_arg)
    assert done.returncode == 2 and b"nothing at" in done.stderr
