"""What the hook tests of every client share: a home folder of their own, a git checkout, a small store, and the
real `slm` process that must never print a traceback. Test modules load the fixtures with
`pytest_plugins = ["tests.hook_fixtures"]`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.claude_transcripts import git_checkout, shop_store
from tests.test_cli import SLM


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home folder of its own, no client variable set: every client's user configuration is read from it."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    for variable in ("CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME", "CODEX_HOME", "COPILOT_HOME"):
        monkeypatch.delenv(variable, raising=False)
    return folder


@pytest.fixture
def repo(tmp_path) -> Path:
    return git_checkout(tmp_path / "checkout")


@pytest.fixture
def store(db_path) -> Path:
    return shop_store(db_path)


def slm(*args: object, cwd: Path | None = None, input: bytes | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([*SLM, *map(str, args)], input=input, capture_output=True, timeout=120, cwd=cwd,
                          env=dict(os.environ), stdin=None if input is not None else subprocess.DEVNULL)  # fmt: skip
    assert b"Traceback" not in done.stderr, done.stderr
    return done
