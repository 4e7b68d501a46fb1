"""What a user and an agent see of recall that learns (issue 23): `slm learn status|now|reset|off|on`,
`slm recall --no-learning` and `--explain`, and the MCP face (recall logs the caller's workspace and session and
trains when due; `status` says what was learned). Real stores on both backends, the real model, a real MCP client."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastmcp import Client
from mcp_types import Implementation

from slm import Memory
from slm.mcp import budget
from slm.mcp.engine import Engine
from slm.mcp.replies import learning_out
from slm.mcp.server import build_server
from tests.test_cli import on_a_terminal, run
from tests.test_learning import fill, work
from tests.test_mcp_processes import RawStdioClient

pytestmark = pytest.mark.both_backends

_SCRIPT = Path(sys.executable).with_name("slm")  # the console script the package installs
SLM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from slm.cli.main import main; main()"]


def shown(*args: object) -> str:
    """What the CLI printed for people, its lines as the terminal wrapped them joined again."""
    return " ".join(run(*args).stdout.split())


def run_json(*args: object, code: int = 0) -> dict:
    return json.loads(run(*args, "--json", code=code).stdout)


@pytest.fixture
def learned(store_at) -> dict[int, tuple[str, str]]:
    """A store whose agent's behaviour taught a preference (pytest) and a project (api), not trained yet."""
    with Memory.open(store_at) as mem:
        notes = fill(mem)
        work(mem, notes, 80)
    return notes


# -- the command line ---------------------------------------------------------------------------------------------
def test_learn_status_on_a_fresh_store_says_nothing_is_learned_and_why(store_at, db_arg):
    with Memory.open(store_at) as mem:
        mem.remember("The api runs its tests with pytest.", project="api")
    status = run_json("learn", "status", "--db", db_arg)
    assert status["enabled"] and not status["in_effect"] and status["recalls_since_reset"] == 0
    assert "nothing learned" in status["why"] and "preferences" not in status
    said = shown("learn", "status", "--db", db_arg)
    assert "learning is not in effect" in said and "nothing learned yet" in said
    assert "0 recalls logged" in said and "you prefer" not in said and "held out" not in said


def test_learn_needs_a_store_and_says_so(db_path):
    for command in (["status"], ["now"], ["off"], ["on"], ["reset", "--yes"]):
        failed = run("learn", *command, "--db", db_path / "missing.db", code=1)
        assert "error:" in failed.stderr and "hint:" in failed.stderr, command
        assert not (db_path / "missing.db").exists()
    assert "No such command" in run("learn", "forget", code=2).stderr


def test_off_on_and_reset_round_trip(store_at, db_arg, learned):
    trained = run_json("learn", "now", "--db", db_arg)
    assert trained["in_effect"], trained["why"]
    assert run_json("learn", "off", "--db", db_arg)["enabled"] is False
    off = run("learn", "status", "--db", db_arg)
    assert "learning is off: recall ranks as without it" in off.stdout and "`slm learn on`" in off.stderr
    assert "pytest" in off.stdout  # what it learned is kept, and still shown
    assert "learning is off" in run("learn", "off", "--db", db_arg).stdout
    assert not run_json("learn", "status", "--db", db_arg)["in_effect"]
    assert run_json("learn", "on", "--db", db_arg)["enabled"] is True
    assert run_json("learn", "status", "--db", db_arg)["in_effect"]
    refused = run("learn", "reset", "--db", db_arg, code=2)  # no terminal to ask at: nothing is reset
    assert "confirmation" in refused.stderr and "--yes" in refused.stderr
    assert run_json("learn", "status", "--db", db_arg)["in_effect"]
    reset = run_json("learn", "reset", "--yes", "--db", db_arg)
    assert reset["forgot"] >= 1 and reset["learns_from_recall"] == 81
    status = run_json("learn", "status", "--db", db_arg)
    assert not status["in_effect"] and status["recalls_since_reset"] == 0 and "held_out" not in status
    said = shown("learn", "reset", "-y", "--db", db_arg)
    assert "forgot what recall learned" in said and "recall #81 on" in said


def answered_at_a_terminal(answer: str, *args: str) -> subprocess.CompletedProcess:
    """`slm ARGS` run for real with a terminal on standard input, where `answer` has been typed."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())
        return subprocess.run([*SLM, *args], stdin=terminal, capture_output=True, timeout=120)
    finally:
        os.close(terminal)
        os.close(controller)


def test_reset_at_a_terminal_asks_first(db_arg, learned):
    assert run_json("learn", "now", "--db", db_arg)["in_effect"]
    kept = answered_at_a_terminal("n", "learn", "reset", "--db", db_arg)
    assert kept.returncode == 0 and b"Forget what recall learned of you" in kept.stderr
    assert b"nothing was reset" in kept.stderr and b"Traceback" not in kept.stderr
    assert run_json("learn", "status", "--db", db_arg)["in_effect"]
    reset = answered_at_a_terminal("y", "learn", "reset", "--db", db_arg)
    assert reset.returncode == 0 and b"forgot what recall learned" in reset.stdout
    assert not run_json("learn", "status", "--db", db_arg)["in_effect"]


def test_learn_now_trains_and_status_says_what_was_learned_in_words(db_arg, learned):
    before = run_json("learn", "status", "--db", db_arg)
    assert not before["in_effect"] and before["recalls_since_reset"] == 80  # 80 recalls: not trained until asked
    trained = run_json("learn", "now", "--db", db_arg)
    assert trained["in_effect"] and trained["trained"]["recalls"] > 0
    assert any(p["prefers"].lower() == "pytest" for p in trained["preferences"]), trained["preferences"]
    assert trained["projects"][0]["project"] == "api"
    said = shown("learn", "status", "--db", db_arg)
    assert "learning is in effect" in said and "you prefer" in said and "pytest" in said
    assert "projects you work on" in said and "api" in said and "% of your recalls" in said
    held = trained["held_out"]
    assert f"{held['without_learning']:.3f} without learning, {held['with_learning']:.3f} with it" in said
    assert "last trained" in said and f"on {trained['trained']['recalls']} recalls" in said
    assert "learning is in effect" in shown("learn", "now", "--db", db_arg)


def test_recall_without_learning_and_explained(store_at, db_arg, learned):
    assert run_json("learn", "now", "--db", db_arg)["in_effect"]
    with Memory.open(store_at) as mem:
        plain = [h.id for h in mem.recall("what runs our tests", 5, learning=False)]
    without = run_json("recall", "what runs our tests", "-k", 5, "--no-learning", "--db", db_arg)
    assert [h["id"] for h in without] == plain and not any("learned" in h["channels"] for h in without)
    hits = run_json("recall", "what runs our tests", "-k", 5, "--db", db_arg)
    assert all(set(h["channels"]["learned"]["parts"]) == {"preference", "project", "workflow"} for h in hits)
    moved = [h for n, h in enumerate(hits, 1) if h["channels"]["learned"]["rank"] != n]
    assert moved  # the api's pytest notes rose: learning moved what this store's plain recall showed
    explained = shown("recall", "what runs our tests", "-k", 5, "--explain", "--db", db_arg)
    assert "learned" in explained and "before learning): preference +" in explained
    for n, hit in enumerate(hits, 1):
        if hit in moved:
            assert f"#{hit['id']} ranked {n} ({hit['channels']['learned']['rank']} before learning)" in explained
    assert "before learning" not in shown("recall", "what runs our tests", "--explain", "--no-learning", "--db", db_arg)
    run("learn", "off", "--db", db_arg)
    assert [h["id"] for h in run_json("recall", "what runs our tests", "-k", 5, "--db", db_arg)] == plain


# -- the MCP face -------------------------------------------------------------------------------------------------
def git(*args: str, cwd: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True, env=env | {"HOME": str(cwd)})


@pytest.fixture
def shop(tmp_path) -> Path:
    """A repository the MCP client works in: project `shop` once something is written from it."""
    top = tmp_path / "shop"
    top.mkdir()
    git("init", "-q", cwd=top)
    git("remote", "add", "origin", "git@github.com:Acme/shop.git", cwd=top)
    return top


def client(memory: Memory, workspace: Path | None = None) -> Client:
    server = build_server(memory, workspace=workspace)
    return Client(server, client_info=Implementation(name="claude-code", version="1.0"))


async def call(c: Client, tool: str, **args) -> dict:
    return (await c.call_tool(tool, args)).structured_content


@pytest.mark.anyio
async def test_mcp_recall_logs_the_workspace_and_the_session(store_at, shop):
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        async with client(memory, shop) as c:
            before = await call(c, "recall", query="how do we deploy")  # nothing written from the folder yet
            stored = await call(c, "remember", content="Deploys run from the release branch every Tuesday")
            await call(c, "recall", query="how do we deploy")
            await call(c, "recall", query="how do we deploy", project="ops")  # it names one: no workspace
            await call(c, "recall", query="release day")
        async with client(memory) as c:  # no folder: no workspace
            await call(c, "recall", query="how do we deploy")
        recalls = memory.existing_behavior().recalls_since()
    assert stored["project"] == "shop" and before["memories"] == []
    assert [r.workspace for r in recalls] == [None, "shop", None, "shop", None]
    assert [r.project for r in recalls] == [None, None, "ops", None, None]
    session = stored["session"]
    assert session is not None and [r.session for r in recalls[:4]] == [session] * 4
    assert recalls[4].session not in (None, session)  # another connection is another conversation


@pytest.mark.anyio
async def test_the_recall_context_prompt_logs_the_workspace_and_the_session(store_at, shop):
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        async with client(memory, shop) as c:
            stored = await call(c, "remember", content="Deploys run from the release branch every Tuesday")
            prompt = await c.get_prompt("recall_context", {"task": "deploy the release"})
        last = memory.existing_behavior().recalls_since()[-1]
    assert "Tuesday" in prompt.messages[0].content.text
    assert (last.query, last.workspace, last.session) == ("deploy the release", "shop", stored["session"])


@pytest.mark.anyio
async def test_mcp_status_says_what_recall_learned(store_at):
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        async with client(memory) as c:
            fresh = (await call(c, "status"))["learning"]
        assert fresh["enabled"] and not fresh["in_effect"] and "nothing learned" in fresh["why"]
        assert set(fresh) == {"enabled", "in_effect", "why"}
        notes = fill(memory)
        work(memory, notes, 79)
        async with client(memory) as c:  # the 80th recall makes training due: it runs after the reply
            await call(c, "recall", query="how do I run the tests")
        trained = memory.learning.status()  # the client's end waited for the training
        assert trained["in_effect"] and trained["trained"]["recalls"] > 0, trained["why"]
        async with client(memory) as c:
            learning = (await call(c, "status"))["learning"]
            small = await call(c, "status", max_tokens=budget.MIN_MAX_TOKENS)
    assert learning == json.loads(json.dumps(learning_out(trained)))
    assert learning["in_effect"] and any(p.split(" over ")[0].lower() == "pytest" for p in learning["preferences"])
    assert len(learning["preferences"]) <= 3 and len(learning.get("patterns", [])) <= 3
    assert learning["projects"][0]["project"] == "api" and 0 < learning["projects"][0]["share"] <= 1
    assert budget.estimate_tokens(small) <= budget.MIN_MAX_TOKENS and "learning" in small["left_out"]


@pytest.mark.anyio
async def test_mcp_recall_does_not_train_before_it_is_due(store_at):
    with Memory.open(store_at, protocol="mcp-stdio") as memory:
        notes = fill(memory)
        work(memory, notes, 10)
        async with client(memory) as c:
            await call(c, "recall", query="how do I run the tests")
        status = memory.learning.status()
    assert status["recalls_since_reset"] == 11 and "trained" not in status and not status["in_effect"]


def test_a_real_stdio_server_trains_after_the_recall_that_makes_it_due_and_ends_when_it_is_done(store_at, db_arg):
    with Memory.open(store_at) as mem:
        work(mem, fill(mem), 79)
    server = RawStdioClient(db_arg)  # `slm mcp --db …`, as a client starts it
    server.initialize("claude-code")
    found = server.call("recall", query="how do I run the tests")
    assert not found["isError"] and found["structuredContent"]["memories"]
    leftover, logged = server.close()  # the client goes away: the server waits for the training, then exits
    assert leftover == b"" and server.proc.returncode == 0 and "Traceback" not in logged
    with Memory.open(store_at) as mem:
        status = mem.learning.status()
    assert status["in_effect"] and status["trained"]["recalls"] > 0, status["why"]


def test_the_lifecycle_timer_trains_a_server_no_recall_reaches(store_at):
    """Recalls another process logged (another assistant's server) are trained on by this one's timer."""
    with Memory.open(store_at) as other:
        work(other, fill(other), 20)
    with Memory.open(store_at, protocol="mcp-stdio") as memory, Memory.open(store_at) as watching:
        engine = Engine(memory, None)
        stop = engine.start_lifecycle_timer(0.05)
        deadline = time.monotonic() + 60
        while "trained" not in watching.learning.status() and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for thread in threading.enumerate():
            if thread.name == "slm-lifecycle":
                thread.join()
        engine.settle()
        assert watching.learning.status()["trained"]["recalls"] > 0


@pytest.mark.parametrize(("seconds", "drawn"), [(0.1, False), (1.6, True)])
def test_slow_work_gets_a_spinner_after_a_second(seconds, drawn):
    """`slm learn now` trains under `out.slow`: a spinner on a terminal's stderr once a second has gone by, none for
    the quick training most stores need."""
    code = f"import time\nfrom slm.cli import output\nwith output.slow('training…'):\n    time.sleep({seconds})\n"
    proc, shown = on_a_terminal([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == 0 and proc.stdout == b""
    assert ("training…".encode() in shown) is drawn, shown
