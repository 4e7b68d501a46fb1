"""Cursor's, GitHub Copilot CLI's and Cline's hooks end to end, and slm's Claude Code hooks run by Cursor and Copilot
CLI: the real `slm hooks install|uninstall|status --client …` in a temporary home, beside the user's own hooks and
files; the real `slm hook …` processes (and Cline's installed scripts) fed each client's documented stdin JSON and
answering in the shape that client reads (issue 22).

Sources of the shapes: cursor.com/docs/hooks (hooks.json `{"version": 1, "hooks": {event: [{command, timeout}]}}`,
the common input `conversation_id`, `workspace_roots`, `cursor_version`, …; sessionStart's `additional_context`)
and cursor.com/docs/reference/third-party-hooks (Cursor runs Claude Code's hooks); docs.github.com
copilot/reference/hooks-reference (camelCase `sessionStart` / `userPromptSubmitted` payloads, the PascalCase "VS
Code compatible" snake_case ones, `timeoutSec`, `bash` / `powershell`); docs.cline.bot customization/hooks and
cline/cline src/core/hooks (one executable per hook, `clineVersion`, `taskId`, `workspaceRoots`,
`userPromptSubmit.prompt`, `{"cancel": false, "contextModification": …}`)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from slm import Memory
from tests.hook_fixtures import slm

pytest_plugins = ["tests.hook_fixtures"]  # home, repo, store

RELEVANT = "how many times do we retry stripe webhooks?"
UNRELATED = "write a haiku about autumn leaves"
CURSOR_USER = {
    "version": 1,
    "hooks": {
        "sessionStart": [{"command": "./session-init.sh"}],
        "stop": [{"command": "./audit.sh", "loop_limit": 10}],
        "beforeSubmitPrompt": [{"command": "./check.sh", "timeout": 5, "failClosed": False}],
    },
}
BLOCKING = {"continue", "decision", "followup_message", "permissionDecision", "behavior"}  # never in slm's answers


def run(command: list[str], given: dict, db: Path) -> subprocess.CompletedProcess:
    """An installed hook command as the client runs it: the event's JSON on stdin, the store through SLM_DB."""
    done = subprocess.run(command, input=json.dumps(given).encode(), capture_output=True, timeout=120,
                          env=dict(os.environ, SLM_DB=str(db)))  # fmt: skip
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    return done


def replied(done: subprocess.CompletedProcess) -> dict:
    reply = json.loads(done.stdout)
    assert isinstance(reply, dict) and not set(reply) & BLOCKING and reply.get("cancel", False) is False
    return reply


def cursor_event(name: str, repo: Path, **extra) -> dict:
    return {"conversation_id": "cv-1", "generation_id": "g-1", "model": "claude-4-sonnet", "model_id": "m",
            "hook_event_name": name, "cursor_version": "1.7.2", "workspace_roots": [str(repo)], "user_email": None,
            "transcript_path": None, **extra}  # fmt: skip


def copilot_event(repo: Path, **extra) -> dict:  # camelCase: slm's own copilot-cli hooks
    return {"sessionId": "cp-1", "timestamp": 1767225600000, "cwd": str(repo), **extra}


def copilot_vscode_event(name: str, repo: Path, **extra) -> dict:  # PascalCase events in .claude/settings.json
    return {"hook_event_name": name, "session_id": "cp-1", "timestamp": "2026-12-01T10:30:00.000Z", "cwd": str(repo),
            **extra}  # fmt: skip


def cline_event(hook: str, repo: Path, **extra) -> dict:
    return {"clineVersion": "3.36.0", "hookName": hook, "timestamp": "1767225600000", "taskId": "task-1",
            "workspaceRoots": [str(repo)], "userId": "u-1", **extra}  # fmt: skip


# --- install, status, uninstall ---------------------------------------------------------------------------------


def test_cursor_gets_a_flat_session_start_handler_beside_the_users_and_uninstall_restores_the_file(home):
    settings = home / ".cursor/hooks.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(CURSOR_USER))
    for _ in range(2):  # a second install replaces slm's handler, it does not add it twice
        done = slm("hooks", "install", "--client", "cursor", "--json")
        assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["settings"] == str(settings) and said["events"] == ["sessionStart"]
    written = json.loads(settings.read_text())
    assert written["version"] == 1 and written["hooks"]["stop"] == CURSOR_USER["hooks"]["stop"]
    first, ours = written["hooks"]["sessionStart"]
    assert first == CURSOR_USER["hooks"]["sessionStart"][0]
    assert set(ours) == {"command", "timeout"} and ours["timeout"] == 10  # no inner `hooks` list, seconds
    assert ours["command"].endswith(" hook session-start --client cursor")
    assert written["hooks"]["beforeSubmitPrompt"] == CURSOR_USER["hooks"]["beforeSubmitPrompt"]  # it takes no context
    status = json.loads(slm("hooks", "status", "--client", "cursor", "--json").stdout)
    assert status["user"]["commands"] == [ours["command"]]
    assert json.loads(slm("hooks", "uninstall", "--client", "cursor", "--json").stdout)["removed"] == 1
    assert json.loads(settings.read_text()) == CURSOR_USER


def test_cursor_file_made_by_slm_gets_version_1(home):
    slm("hooks", "install", "--client", "cursor")
    assert json.loads((home / ".cursor/hooks.json").read_text())["version"] == 1


def test_copilot_gets_a_file_of_slms_own_that_uninstall_removes(home):
    hooks = home / ".copilot/hooks"
    hooks.mkdir(parents=True)
    theirs = {"version": 1, "hooks": {"preToolUse": [{"type": "command", "bash": "./guard.sh", "timeoutSec": 5}]}}
    (hooks / "mine.json").write_text(json.dumps(theirs))
    done = slm("hooks", "install", "--client", "copilot-cli", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["settings"] == str(hooks / "slm.json")
    written = json.loads((hooks / "slm.json").read_text())
    assert written["version"] == 1 and set(written["hooks"]) == {"sessionStart", "userPromptSubmitted"}
    for event, ours in (("sessionStart", "session-start"), ("userPromptSubmitted", "user-prompt-submit")):
        (handler,) = written["hooks"][event]
        assert handler["type"] == "command" and handler["timeoutSec"] == 10
        assert handler["bash"].endswith(f" hook {ours} --client copilot-cli")
        assert handler["powershell"] == "& " + handler["bash"]  # PowerShell runs a (quoted) path only after `&`
    assert len(json.loads(slm("hooks", "status", "--client", "copilot-cli", "--json").stdout)["user"]["commands"]) == 2
    assert json.loads(slm("hooks", "uninstall", "--client", "copilot-cli", "--json").stdout)["removed"] == 2
    assert not (hooks / "slm.json").exists() and json.loads((hooks / "mine.json").read_text()) == theirs


def test_copilot_file_keeps_what_the_user_added_to_it(home, tmp_path, monkeypatch):
    monkeypatch.setenv("COPILOT_HOME", str(tmp_path / "cp"))  # the folder itself: $COPILOT_HOME/hooks/slm.json
    slm("hooks", "install", "--client", "copilot-cli")
    ours = tmp_path / "cp/hooks/slm.json"
    written = json.loads(ours.read_text())
    written["disableAllHooks"] = True
    written["hooks"]["sessionEnd"] = [{"type": "command", "bash": "./bye.sh"}]
    ours.write_text(json.dumps(written))
    assert "disableAllHooks" in json.loads(slm("hooks", "status", "--client", "copilot-cli", "--json").stdout)["user"][
        "off"]  # fmt: skip
    slm("hooks", "uninstall", "--client", "copilot-cli")
    kept = {"version": 1, "disableAllHooks": True, "hooks": {"sessionEnd": [{"type": "command", "bash": "./bye.sh"}]}}
    assert json.loads(ours.read_text()) == kept
    assert not (home / ".copilot").exists()


def test_cline_gets_one_executable_script_per_hook_and_uninstall_removes_only_those(home):
    folder = home / "Documents/Cline/Hooks"
    folder.mkdir(parents=True)
    (folder / "PreToolUse").write_text("#!/bin/sh\necho '{\"cancel\": false}'\n")
    done = slm("hooks", "install", "--client", "cline", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == ["TaskStart", "TaskResume", "UserPromptSubmit"]
    assert "enable" in json.loads(done.stdout)["note"].lower()
    for name, ours in (("TaskStart", "session-start"), ("TaskResume", "session-start"),
                       ("UserPromptSubmit", "user-prompt-submit")):  # fmt: skip
        script = folder / name
        assert stat.S_IMODE(script.stat().st_mode) == 0o755
        first, _, last = script.read_text().splitlines()
        assert first == "#!/bin/sh" and last.startswith("exec ")
        assert shlex.split(last)[2:] == ["hook", ours, "--client", "cline"]
    assert not list(folder.glob(".slm-*"))  # written whole: no temporary file left
    assert len(json.loads(slm("hooks", "status", "--client", "cline", "--json").stdout)["user"]["commands"]) == 3
    (folder / "TaskResume").write_text("#!/bin/sh\n# my own now\n")
    assert json.loads(slm("hooks", "uninstall", "--client", "cline", "--json").stdout)["removed"] == 2
    assert sorted(p.name for p in folder.iterdir()) == ["PreToolUse", "TaskResume"]
    assert (folder / "TaskResume").read_text() == "#!/bin/sh\n# my own now\n"


def test_cline_refuses_a_hook_file_that_is_not_slms_and_writes_nothing(home):
    folder = home / "Documents/Cline/Hooks"
    folder.mkdir(parents=True)
    (folder / "UserPromptSubmit").write_text("#!/bin/sh\n# slm hook user-prompt-submit (the user's own wrapper)\n")
    done = slm("hooks", "install", "--client", "cline")
    assert done.returncode == 2 and b"UserPromptSubmit exists and is not slm's" in done.stderr
    assert b"Traceback" not in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["UserPromptSubmit"]
    assert json.loads(slm("hooks", "uninstall", "--client", "cline", "--json").stdout)["removed"] == 0
    assert (folder / "UserPromptSubmit").exists()


@pytest.mark.parametrize(
    ("client", "relative"),
    [("cursor", ".cursor/hooks.json"), ("copilot-cli", ".github/hooks/slm.json"), ("cline", ".clinerules/hooks")],
)
def test_project_scope_writes_into_the_checkout(home, repo, client, relative):
    done = slm("hooks", "install", "--client", client, "--scope", "project", "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["settings"] == str(repo / relative) and (repo / relative).exists()
    status = json.loads(slm("hooks", "status", "--client", client, "--json", cwd=repo).stdout)
    assert status["project"]["commands"] and not status["user"]["commands"]
    assert not [p for p in home.rglob("*") if p.is_file()]


@pytest.mark.parametrize("client", ["cursor", "copilot-cli"])
def test_a_broken_file_is_refused_and_left_as_it_was(home, client):
    settings = home / (".cursor/hooks.json" if client == "cursor" else ".copilot/hooks/slm.json")
    settings.parent.mkdir(parents=True)
    settings.write_text('{"version": 1, "hooks": {')
    for action in ("install", "uninstall"):
        done = slm("hooks", action, "--client", client)
        assert done.returncode == 2 and b"not valid JSON" in done.stderr and b"Traceback" not in done.stderr
    assert settings.read_text() == '{"version": 1, "hooks": {'


def test_doctor_finds_the_new_clients_hooks(home, store):
    for client in ("cursor", "copilot-cli", "cline"):
        slm("hooks", "install", "--client", client)
    checks = json.loads(slm("doctor", "--db", store, "--json").stdout)["checks"]
    detail = next(c for c in checks if c["name"] == "client hooks")["detail"]
    assert "Cursor hooks in user (1)" in detail and "GitHub Copilot CLI hooks in user (2)" in detail
    assert "Cline hooks in user (3)" in detail


# --- the hooks each client runs, with its own payload ----------------------------------------------------------------


def test_cursor_session_start_gets_additional_context(home, repo, store):
    slm("hooks", "install", "--client", "cursor")
    (handler,) = json.loads((home / ".cursor/hooks.json").read_text())["hooks"]["sessionStart"]
    started = cursor_event("sessionStart", repo, session_id="cv-1", is_background_agent=False, composer_mode="agent")
    reply = replied(run(shlex.split(handler["command"]), started, store))
    assert set(reply) == {"additional_context"} and "PostgreSQL 16" in reply["additional_context"]
    assert "Hugo" not in reply["additional_context"]  # the project is the workspace's repository


def test_cursor_project_comes_from_its_variable_without_workspace_roots(repo, store, monkeypatch):
    monkeypatch.setenv("CURSOR_PROJECT_DIR", str(repo))
    given = cursor_event("sessionStart", repo, workspace_roots=[])
    done = slm("hook", "session-start", "--client", "cursor", "--db", store, input=json.dumps(given).encode())
    assert done.returncode == 0 and "PostgreSQL 16" in replied(done)["additional_context"]


def test_copilot_gets_top_level_additional_context_and_nothing_when_nothing_clears_the_bar(home, repo, store):
    slm("hooks", "install", "--client", "copilot-cli")
    hooks = json.loads((home / ".copilot/hooks/slm.json").read_text())["hooks"]
    start, prompt = (shlex.split(hooks[event][0]["bash"]) for event in ("sessionStart", "userPromptSubmitted"))
    reply = replied(run(start, copilot_event(repo, source="startup"), store))
    assert set(reply) == {"additionalContext"} and "PostgreSQL 16" in reply["additionalContext"]
    reply = replied(run(prompt, copilot_event(repo, prompt=RELEVANT), store))
    assert "retries Stripe webhooks" in reply["additionalContext"]
    assert run(prompt, copilot_event(repo, prompt=UNRELATED), store).stdout == b""


def test_cline_scripts_answer_with_context_modification_and_never_cancel(home, repo, store):
    slm("hooks", "install", "--client", "cline")
    folder = home / "Documents/Cline/Hooks"
    for hook in ("TaskStart", "TaskResume"):
        given = cline_event(hook, repo, **{hook[0].lower() + hook[1:]: {"task": "fix the billing client"}})
        reply = replied(run([str(folder / hook)], given, store))
        assert reply["cancel"] is False and "PostgreSQL 16" in reply["contextModification"]
    asked = cline_event("UserPromptSubmit", repo, userPromptSubmit={"prompt": RELEVANT})
    assert "retries Stripe webhooks" in replied(run([str(folder / "UserPromptSubmit")], asked, store))[
        "contextModification"]  # fmt: skip
    unrelated = cline_event("UserPromptSubmit", repo, userPromptSubmit={"prompt": UNRELATED})
    assert replied(run([str(folder / "UserPromptSubmit")], unrelated, store)) == {"cancel": False}


def test_cline_reads_the_docs_workspace_path_too(repo, store):
    given = {"clineVersion": "3.36.0", "hookName": "TaskStart", "taskId": "t", "workspacePath": str(repo)}
    done = slm("hook", "session-start", "--client", "cline", "--db", store, input=json.dumps(given).encode())
    assert done.returncode == 0 and "PostgreSQL 16" in replied(done)["contextModification"]


@pytest.mark.parametrize(("client", "silent"),
                         [("cursor", b"{}\n"), ("copilot-cli", b""), ("cline", b'{"cancel": false}\n')])  # fmt: skip
def test_without_a_store_each_client_gets_its_silent_answer_and_none_is_made(tmp_path, repo, client, silent):
    missing = tmp_path / "none" / "memory.db"
    given = {"cursor": cursor_event("sessionStart", repo), "copilot-cli": copilot_event(repo, source="new"),
             "cline": cline_event("TaskStart", repo)}[client]  # fmt: skip
    done = slm("hook", "session-start", "--client", client, "--db", missing, input=json.dumps(given).encode())
    assert done.returncode == 0 and done.stdout == silent and not missing.exists()


@pytest.mark.parametrize("client", ["cursor", "copilot-cli", "cline"])
@pytest.mark.parametrize("given", [b"{not json", b"[1]", json.dumps({"prompt": "hi"}).encode()])
def test_bad_input_is_exit_1_never_2_and_never_a_cancel(store, client, given):
    event = "session-start" if client == "cursor" else "user-prompt-submit"
    done = slm("hook", event, "--client", client, "--db", store, input=given)
    assert done.returncode == 1 and done.stderr.startswith(f"slm hook {event}: ".encode())
    assert done.stdout == (b'{"cancel": false}\n' if client == "cline" else b"")  # Cline goes on, told so in JSON


@pytest.mark.parametrize(("client", "event"), [("cursor", "user-prompt-submit"), ("cursor", "stop"),
                                               ("copilot-cli", "session-end"), ("cline", "pre-compact")])  # fmt: skip
def test_an_event_the_client_is_not_hooked_at_is_exit_1(tmp_path, repo, client, event):
    done = slm("hook", event, "--client", client, "--db", tmp_path / "m.db", input=b'{"cwd": "/"}')
    assert done.returncode == 1 and b"no such event" in done.stderr


# --- Claude Code's hooks, run by Cursor and by Copilot CLI ------------------------------------------------------------


def claude_hooks(home: Path, repo: Path | None = None) -> dict[str, list[str]]:
    """slm's Claude Code hooks (user scope, or the checkout's with `repo`), by Claude Code's event name."""
    args = ("hooks", "install") + (("--scope", "project") if repo else ())
    assert slm(*args, cwd=repo).returncode == 0
    settings = (repo / ".claude" if repo else home / ".claude") / "settings.json"
    hooks = json.loads(settings.read_text())["hooks"]
    return {event: shlex.split(groups[-1]["hooks"][0]["command"]) for event, groups in hooks.items()}


def test_cursor_running_claude_codes_hooks_gets_its_own_answers_and_no_capture(home, repo, store, tmp_path):
    hooks = claude_hooks(home)
    started = cursor_event("sessionStart", repo, session_id="cv-1", is_background_agent=False, composer_mode="agent")
    reply = replied(run(hooks["SessionStart"], started, store))
    assert set(reply) == {"additional_context"} and "PostgreSQL 16" in reply["additional_context"]
    asked = cursor_event("beforeSubmitPrompt", repo, prompt=RELEVANT, attachments=[])
    assert replied(run(hooks["UserPromptSubmit"], asked, store)) == {}  # beforeSubmitPrompt takes no context
    transcript = tmp_path / "cursor-transcript.txt"
    transcript.write_text("user: We decided to use httpx instead of requests.\n")
    fresh = tmp_path / "fresh" / "memory.db"
    given = {"Stop": cursor_event("stop", repo, status="completed", loop_count=0),
             "PreCompact": cursor_event("preCompact", repo, trigger="auto"),
             "SessionEnd": cursor_event("sessionEnd", repo, session_id="cv-1", reason="completed")}  # fmt: skip
    for event in given:
        done = run(hooks[event], given[event] | {"transcript_path": str(transcript)}, fresh)
        assert replied(done) == {} and done.stderr == b""  # quietly nothing: the format is not documented
    assert not fresh.exists()


def test_cursor_with_slms_own_hooks_gets_the_context_once(home, repo, store):
    hooks = claude_hooks(home)
    slm("hooks", "install", "--client", "cursor", "--scope", "project", cwd=repo)
    started = cursor_event("sessionStart", repo, session_id="cv-1")
    assert replied(run(hooks["SessionStart"], started, store)) == {}
    (native,) = json.loads((repo / ".cursor/hooks.json").read_text())["hooks"]["sessionStart"]
    assert "PostgreSQL 16" in replied(run(shlex.split(native["command"]), started, store))["additional_context"]


def test_copilot_running_the_repositorys_claude_code_hooks_gets_its_own_answers(home, repo, store, tmp_path):
    hooks = claude_hooks(home, repo)
    reply = replied(run(hooks["SessionStart"], copilot_vscode_event("SessionStart", repo, source="startup"), store))
    assert set(reply) == {"additionalContext"} and "PostgreSQL 16" in reply["additionalContext"]
    asked = copilot_vscode_event("UserPromptSubmit", repo, prompt=RELEVANT)
    assert "retries Stripe webhooks" in replied(run(hooks["UserPromptSubmit"], asked, store))["additionalContext"]
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "user.message", "data": {"content": "We decided to use httpx."}}\n')
    fresh = tmp_path / "fresh" / "memory.db"
    for event, extra in (("Stop", {"stop_reason": "end_turn", "stop_hook_active": False}), ("SessionEnd", {}),
                         ("PreCompact", {"trigger": "auto", "custom_instructions": ""})):  # fmt: skip
        given = copilot_vscode_event(event, repo, transcript_path=str(events), **extra)
        done = run(hooks[event], given, fresh)
        assert done.stdout == b"" and done.stderr == b""
    assert not fresh.exists()
    slm("hooks", "install", "--client", "copilot-cli", "--scope", "project", cwd=repo)
    assert run(hooks["SessionStart"], copilot_vscode_event("SessionStart", repo, source="new"), store).stdout == b""


def test_claude_codes_own_payload_still_gets_claude_codes_answer(home, repo, store):
    hooks = claude_hooks(home)
    slm("hooks", "install", "--client", "cursor")  # Cursor's hooks change nothing for Claude Code itself
    given = {"session_id": "s1", "transcript_path": "/nowhere.jsonl", "cwd": str(repo), "hook_event_name":
             "SessionStart", "source": "startup", "permission_mode": "default"}  # fmt: skip
    reply = replied(run(hooks["SessionStart"], given, store))
    assert reply["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "PostgreSQL 16" in reply["hookSpecificOutput"]["additionalContext"]


def test_captures_by_claude_code_itself_are_unchanged(home, repo, tmp_path):
    from tests.claude_transcripts import Transcript, a_working_session

    hooks = claude_hooks(home)
    transcript = Transcript(tmp_path / "s.jsonl", "s-claude", repo)
    a_working_session(transcript)
    db = tmp_path / "store" / "memory.db"
    assert run(hooks["SessionEnd"], transcript.event("SessionEnd"), db).stdout == b""
    with Memory.open(db, create=False) as mem:
        assert {row.kind for row in mem.list(limit=50)} >= {"decision", "command", "session-summary"}
