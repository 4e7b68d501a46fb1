"""Where a store lives (`slm.storage.db.StoreLocation`): a SQLite file or a PostgreSQL URL, by the API and by `--db`
/ `SLM_DB` alike, and the local files found through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from slm import Memory
from slm.cli.main import app
from slm.errors import InvalidInput
from slm.storage.db import StoreLocation, locate, server_location


def test_memory_open_takes_a_postgresql_url(pg_database, slm_home):
    with Memory.open(pg_database) as mem:
        mem.remember("The team's store runs on PostgreSQL.", project="ops")
        assert mem.location.on_server and mem.store.conn.backend == "postgres"
    with Memory.open(pg_database.replace("postgresql://", "postgres://", 1)) as mem:
        assert [m.content for m in mem.list(project="ops")] == ["The team's store runs on PostgreSQL."]


def test_the_cli_takes_one_in_db_and_in_slm_db(pg_database, slm_home):
    with Memory.open(pg_database) as mem:
        mem.remember("Deploys need two approvals.", project="ops")
    for args, env in ((["stats", "--json", "--db", pg_database], None), (["stats", "--json"], {"SLM_DB": pg_database})):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
        stats = json.loads(result.output)
        assert stats["memories"] == 1 and stats["path"] == pg_database and stats["size_bytes"] > 0


def test_an_unreachable_server_is_an_error_that_says_what_to_check(slm_home):
    url = "postgresql://slm:s3cret@127.0.0.1:1/team?connect_timeout=2"
    result = CliRunner().invoke(app, ["stats", "--db", url])
    said = " ".join(result.output.split())  # the terminal's width wraps it
    assert result.exit_code == 1 and "Traceback" not in said
    assert "cannot connect to PostgreSQL at postgresql://slm:***@127.0.0.1:1/team" in said
    assert "s3cret" not in said and "server runs" in said


def test_a_server_store_keeps_its_local_files_in_a_folder_of_its_own(slm_home):
    one = locate("postgresql://slm:first@db.internal:5432/team")
    assert one.on_server and one.folder.parent == Path(slm_home) / "postgres"
    assert locate("postgresql://slm:changed@db.internal:5432/team").folder == one.folder  # a new password: one store
    assert locate("postgresql://slm@db.internal:5432/other").folder != one.folder
    for same in ("postgresql://slm@db.internal/team", "postgres://slm@DB.internal:5432/team?connect_timeout=5",
                 "postgresql:///team?host=db.internal&user=slm&sslmode=require"):  # fmt: skip
        assert locate(same).folder == one.folder, same
    for other in ("postgresql://slm@db.internal:5433/team", "postgresql://admin@db.internal/team",
                  "postgresql://slm@db.internal/team?options=-csearch_path%3Dother"):  # fmt: skip
        assert locate(other).folder != one.folder, other
    assert one.shown == "postgresql://slm:***@db.internal:5432/team"
    with pytest.raises(InvalidInput, match="not a PostgreSQL URL"):
        server_location("mysql://db.internal/team")


def test_local_files_are_found_through_the_location(tmp_path, slm_home):
    real = tmp_path / "real" / "team.db"
    real.parent.mkdir()
    link = tmp_path / "link.db"
    with Memory.open(real) as mem:
        mem.remember("The deploy runbook lives in ops/deploy.md.")
    link.symlink_to(real)
    location = locate(link)
    assert location == StoreLocation(real.resolve())
    assert location.folder == real.parent.resolve()
    assert location.behavior_db == real.parent.resolve() / "team.behavior.db"
    assert location.beside(".vectors") == real.parent.resolve() / "team.db.vectors"
    assert location.beside(".erasing", hidden=True).name == ".team.db.erasing"
    with Memory.open(link) as mem:
        assert mem.store.location == location and mem.path == real.resolve()


def test_no_location_is_the_default_store(slm_home):
    assert locate(None).database == (Path(slm_home) / "memory.db").resolve()


def with_password(url: str, password: str) -> str:
    """`url` with `password` as its user's (the test server trusts local connections: it is sent and not needed)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':', 1)[0]}:{password}@{host}"


def test_a_password_in_the_url_is_never_shown(pg_database, slm_home, tmp_path):
    """Whatever a command prints (tables, JSON, errors, doctor, an export's file), the password is not in it; where
    the store is named it is the URL with *** for the password."""
    secret = "s3cret-hunter2"
    url = with_password(pg_database, secret)
    shown = with_password(pg_database, "***")
    exported = tmp_path / "export.jsonl"
    commands = [
        ["remember", "The billing service retries webhooks three times.", "--project", "billing"],
        ["recall", "webhook retries"],
        ["list"],
        ["show", "1"],
        ["show", "999"],  # an error names no store, but must not leak it either
        ["events"],
        ["stats"],
        ["model"],
        ["project", "list"],
        ["agent", "list"],
        ["doctor"],
        ["export", "--include-behavior", "--output", str(exported)],
    ]
    said = []
    for args in commands:
        for json_flag in ([], ["--json"]):
            result = CliRunner().invoke(app, [*args, *json_flag, "--db", url])
            assert result.exit_code == (2 if args[1:] == ["999"] else 0) and "Traceback" not in result.output, (
                args,
                result.output,
            )
            said.append(result.output)
    everything = "\n".join(said)
    assert secret not in everything and secret not in exported.read_text()
    assert json.loads(CliRunner().invoke(app, ["stats", "--json"], env={"SLM_DB": url}).output)["path"] == shown
    with Memory.open(url) as mem:
        stats = mem.stats()  # what the MCP status tool shows too
        assert stats["path"] == shown and stats["behavior_path"] == f"{shown} (schema behavior)"


def test_a_password_in_the_query_is_hidden_too(slm_home):
    """libpq also takes `?password=`: hidden like the user's, and changing it keeps the store's local folder."""
    one = locate("postgresql://slm@db.internal:5432/team?sslmode=require&password=first")
    assert "first" not in one.shown and one.shown.startswith("postgresql://slm@db.internal:5432/team?")
    assert "sslmode=require" in one.shown
    assert locate("postgresql://slm@db.internal:5432/team?sslmode=require&password=changed").folder == one.folder


def test_locate_keeps_a_url_and_names_its_folder_by_server_and_database(slm_home):
    url = "  postgresql://slm@db.internal:5432/team  "
    location = locate(url)
    assert location == server_location(url) and location.url == url.strip() and location.exists()
    assert location.database.name == "memory.db" and not location.database.exists()  # a name, never a file
    assert locate(url.strip().replace("postgresql://", "POSTGRES://", 1)).on_server
    assert not locate("postgresql-notes.db").on_server  # a file whose name starts like a scheme is a file
