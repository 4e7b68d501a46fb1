"""Where a store lives (`slm.storage.db.StoreLocation`): the database, and the local files found through it; a
PostgreSQL URL is refused clearly until issue 24 lands, by the API and by `--db` / `SLM_DB` alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from slm import Memory
from slm.cli.main import app
from slm.errors import InvalidInput
from slm.storage.db import StoreLocation, locate

NOT_YET = "PostgreSQL stores are not supported yet (issue 24)"
URLS = ["postgresql://slm@db.internal/team", "postgres://localhost/slm", "PostgreSQL://u:p@h:5432/d"]


@pytest.mark.parametrize("url", URLS)
def test_memory_open_refuses_a_postgresql_url(url, slm_home):
    with pytest.raises(InvalidInput, match=r"not supported yet \(issue 24\)"):
        Memory.open(url)


@pytest.mark.parametrize("url", URLS[:2])
def test_the_cli_refuses_one_in_db_and_in_slm_db(url, slm_home):
    for args, env in ((["stats", "--db", url], None), (["stats"], {"SLM_DB": url})):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, result.output
        assert NOT_YET in result.output and "Traceback" not in result.output


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
