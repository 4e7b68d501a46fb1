"""Gemini CLI's and Codex's hooks end to end: the real `slm hooks install --client …` writes each client's own file
(in a temporary home) beside the user's hooks and uninstall gives the file back as it was; the real `slm hook …
--client …` processes answer the JSON each client documents on stdin in the shape it reads, and its capture
events store the session (issue 22; the capture itself in tests/test_capture_clients.py).

Sources of the shapes: Gemini CLI's docs/hooks/index.md and reference.md (settings.json `hooks`, timeouts in ms,
stdin `session_id`, `transcript_path`, `cwd`, `hook_event_name`, `timestamp`, plus `source` or `prompt`; stdout
JSON only); Codex's developers.openai.com/codex/hooks and codex-rs/hooks/schema/generated/*.schema.json (hooks.json,
timeouts in seconds, strict output objects)."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from slm import Memory
from tests.hook_fixtures import slm

pytest_plugins = ["tests.hook_fixtures"]  # home, repo, store

GEMINI_USER = {
    "model": {"name": "gemini-2.5-pro"},
    "hooksConfig": {"enabled": True},
    "hooks": {
        "BeforeTool": [{"matcher": "run_shell_command", "hooks": [{"type": "command", "command": "~/bin/check"}]}],
        "SessionStart": [{"hooks": [{"name": "hello", "type": "command", "command": "echo '{}'", "timeout": 500}]}],
        "disabled": ["secret-scanner"],
    },
}
CODEX_USER = {
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "python3 ~/guard.py"}]}],
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "python3 ~/log.py", "timeout": 5}]}],
    }
}
FILES = {"gemini-cli": (".gemini/settings.json", GEMINI_USER), "codex": (".codex/hooks.json", CODEX_USER)}
# the client's events, the `slm hook` event each runs, its matcher and its timeout in the client's unit
EXPECTED = {
    "gemini-cli": {
        "SessionStart": ("session-start", None, 10_000),
        "BeforeAgent": ("user-prompt-submit", None, 10_000),
        "AfterAgent": ("stop", None, 30_000),
        "PreCompress": ("pre-compact", None, 60_000),
        "SessionEnd": ("session-end", None, 60_000),
    },
    "codex": {
        "SessionStart": ("session-start", "startup|resume|clear|compact", 10),
        "UserPromptSubmit": ("user-prompt-submit", None, 10),
        "Stop": ("stop", None, 30),
        "PreCompact": ("pre-compact", None, 60),
    },
}
CODEX_OUTPUT_KEYS = {"continue", "decision", "reason", "hookSpecificOutput", "stopReason", "suppressOutput",
                     "systemMessage"}  # fmt: skip


def installed_command(settings: Path, event: str) -> list[str]:
    groups = json.loads(settings.read_text())["hooks"][event]
    ours = [h["command"] for g in groups for h in g["hooks"] if " hook " in h["command"]]
    assert len(ours) == 1
    return shlex.split(ours[0])


@pytest.mark.parametrize("client", ["gemini-cli", "codex"])
def test_install_writes_the_clients_file_beside_the_users_hooks_and_uninstall_restores_it(home, client):
    relative, users = FILES[client]
    settings = home / relative
    settings.parent.mkdir()
    settings.write_text(json.dumps(users))
    for _ in range(2):  # a second install replaces slm's hooks, it does not add them twice
        done = slm("hooks", "install", "--client", client, "--json")
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["settings"] == str(settings)
    written = json.loads(settings.read_text())
    assert {k: v for k, v in written.items() if k != "hooks"} == {k: v for k, v in users.items() if k != "hooks"}
    for event, groups in users["hooks"].items():
        assert written["hooks"][event][: len(groups)] == groups  # the user's own come first, untouched
    for event, (ours, matcher, timeout) in EXPECTED[client].items():
        group = written["hooks"][event][-1]
        assert group.get("matcher") == matcher and len(group["hooks"]) == 1
        handler = group["hooks"][0]
        assert handler["type"] == "command" and handler["timeout"] == timeout
        assert handler["command"].endswith(f" hook {ours} --client {client}")
    status = json.loads(slm("hooks", "status", "--client", client, "--json").stdout)
    assert len(status["user"]["commands"]) == len(EXPECTED[client])
    done = slm("hooks", "uninstall", "--client", client, "--json")
    assert json.loads(done.stdout)["removed"] == len(EXPECTED[client])
    assert json.loads(settings.read_text()) == users


def test_gemini_hooks_are_named_for_its_hooks_commands(home):
    slm("hooks", "install", "--client", "gemini-cli")
    written = json.loads((home / ".gemini/settings.json").read_text())
    assert written["hooks"]["SessionStart"][0]["hooks"][0]["name"] == "slm-session-start"
    assert written["hooks"]["BeforeAgent"][0]["hooks"][0]["name"] == "slm-user-prompt-submit"
    assert written["hooks"]["SessionEnd"][0]["hooks"][0]["name"] == "slm-session-end"


def test_each_client_moves_its_folder_with_its_own_variable(home, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "g"))  # a home folder: settings in $GEMINI_CLI_HOME/.gemini
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "c"))  # the folder itself: $CODEX_HOME/hooks.json
    gemini = json.loads(slm("hooks", "install", "--client", "gemini-cli", "--json").stdout)["settings"]
    codex = json.loads(slm("hooks", "install", "--client", "codex", "--json").stdout)["settings"]
    assert gemini == str(tmp_path / "g" / ".gemini" / "settings.json") and Path(gemini).exists()
    assert codex == str(tmp_path / "c" / "hooks.json") and Path(codex).exists()


@pytest.mark.parametrize("client", ["gemini-cli", "codex"])
def test_project_scope_writes_into_the_checkout(home, repo, client):
    done = slm("hooks", "install", "--client", client, "--scope", "project", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert installed_command(repo / FILES[client][0], "SessionStart")[-3:] == ["session-start", "--client", client]
    assert not (home / FILES[client][0]).exists()


@pytest.mark.parametrize("client", ["gemini-cli", "codex"])
def test_a_broken_file_is_refused_and_left_as_it_was(home, client):
    settings = home / FILES[client][0]
    settings.parent.mkdir()
    settings.write_text('{"hooks": {')
    done = slm("hooks", "install", "--client", client)
    assert done.returncode == 2 and b"not valid JSON" in done.stderr
    assert settings.read_text() == '{"hooks": {'
    assert slm("hooks", "uninstall", "--client", client).returncode == 2
    assert settings.read_text() == '{"hooks": {'


def test_a_scope_the_client_lacks_is_refused(home):
    done = slm("hooks", "install", "--client", "codex", "--scope", "local")
    assert done.returncode == 2 and b"no 'local' scope" in done.stderr
    assert not (home / ".codex").exists()


def test_codex_status_says_when_its_config_turns_hooks_off(home):
    (home / ".codex").mkdir()
    (home / ".codex/config.toml").write_text('model = "gpt-5"\n\n[features]\nhooks = false\n')
    done = slm("hooks", "install", "--client", "codex", "--json")
    assert "trust" in json.loads(done.stdout)["note"] and "hooks = false" in json.loads(done.stdout)["note"]
    status = json.loads(slm("hooks", "status", "--client", "codex", "--json").stdout)
    assert "turns hooks off" in status["user"]["off"]
    assert (home / ".codex/config.toml").read_text().endswith("hooks = false\n")  # never rewritten


def run_installed(settings: Path, event: str, given: dict, db: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([*installed_command(settings, event), "--db", str(db)], input=json.dumps(given).encode(),
                          capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    return done


def gemini_event(name: str, cwd: Path, **extra) -> dict:
    return {"session_id": "g1", "transcript_path": "/home/u/.gemini/tmp/ab12/chats/session-1.jsonl", "cwd": str(cwd),
            "hook_event_name": name, "timestamp": "2026-12-01T10:30:00Z", **extra}  # fmt: skip


def codex_event(name: str, cwd: Path, **extra) -> dict:
    return {"session_id": "019d-c0de", "transcript_path": None, "cwd": str(cwd), "hook_event_name": name,
            "model": "gpt-5-codex", "permission_mode": "default", **extra}  # fmt: skip


def test_gemini_gets_json_only_with_its_event_names(home, repo, store):
    slm("hooks", "install", "--client", "gemini-cli")
    settings = home / ".gemini/settings.json"
    started = json.loads(run_installed(settings, "SessionStart", gemini_event("SessionStart", repo, source="startup"),
                                       store).stdout)  # fmt: skip
    assert started["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    said = started["hookSpecificOutput"]["additionalContext"]
    assert said.startswith("<slm-memory>") and "PostgreSQL 16" in said and "Hugo" not in said
    asked = gemini_event("BeforeAgent", repo, prompt="how many times do we retry stripe webhooks?")
    reply = json.loads(run_installed(settings, "BeforeAgent", asked, store).stdout)
    assert reply["hookSpecificOutput"]["hookEventName"] == "BeforeAgent"
    assert "retries Stripe webhooks" in reply["hookSpecificOutput"]["additionalContext"]
    unrelated = gemini_event("BeforeAgent", repo, prompt="write a haiku about autumn leaves")
    assert json.loads(run_installed(settings, "BeforeAgent", unrelated, store).stdout) == {}  # JSON even when silent


def test_codex_gets_its_strict_output_objects(home, repo, store):
    slm("hooks", "install", "--client", "codex")
    settings = home / ".codex/hooks.json"
    started = json.loads(run_installed(settings, "SessionStart", codex_event("SessionStart", repo, source="startup"),
                                       store).stdout)  # fmt: skip
    assert set(started) <= CODEX_OUTPUT_KEYS and set(started["hookSpecificOutput"]) == {"hookEventName",
                                                                                       "additionalContext"}  # fmt: skip
    assert started["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "PostgreSQL 16" in started["hookSpecificOutput"]["additionalContext"]
    asked = codex_event("UserPromptSubmit", repo, turn_id="t1", prompt="how many times do we retry stripe webhooks?")
    reply = json.loads(run_installed(settings, "UserPromptSubmit", asked, store).stdout)
    assert set(reply) <= CODEX_OUTPUT_KEYS and reply["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit"
    assert "retries Stripe webhooks" in reply["hookSpecificOutput"]["additionalContext"]
    unrelated = codex_event("UserPromptSubmit", repo, turn_id="t2", prompt="write a haiku about autumn leaves")
    assert run_installed(settings, "UserPromptSubmit", unrelated, store).stdout == b""  # Codex adds nothing


def test_an_event_codex_lacks_is_exit_1_never_2_and_no_store_made(tmp_path, repo):
    missing = tmp_path / "none" / "memory.db"
    given = {"session_id": "s", "transcript_path": str(tmp_path / "t.jsonl"), "cwd": str(repo)}
    done = slm("hook", "session-end", "--client", "codex", "--db", missing, input=json.dumps(given).encode())
    assert done.returncode == 1 and b"no such event" in done.stderr and done.stdout == b""
    assert not missing.exists()


def test_the_installed_capture_hooks_run_and_answer_in_each_clients_shape(home, repo, tmp_path):
    from tests.client_transcripts import CodexRollout, GeminiRecording, a_working_session

    db = tmp_path / "store" / "memory.db"
    for client, session, events in (
        ("codex", CodexRollout(tmp_path / "c", "019d-c0de-0001", repo), ("Stop", "PreCompact")),
        ("gemini-cli", GeminiRecording(tmp_path / "g", "0001aaaa-bbbb", repo), ("AfterAgent", "PreCompress",
                                                                               "SessionEnd")),
    ):  # fmt: skip
        slm("hooks", "install", "--client", client)
        a_working_session(session)
        for event in events:
            done = run_installed(home / FILES[client][0], event, session.event(event), db)
            assert done.stdout == (b"" if client == "codex" else b"{}\n")
    with Memory.open(db, create=False) as mem:
        agents = {row.agent for row in mem.list(limit=100) if row.kind in ("fix", "command", "session-summary")}
    assert agents == {"codex", "gemini-cli"}


@pytest.mark.parametrize("client", ["gemini-cli", "codex"])
@pytest.mark.parametrize("given", [b"{not json", b"[1]", json.dumps({"prompt": "hi"}).encode()])
def test_bad_input_is_exit_1_never_the_blocking_2(store, client, given):
    done = slm("hook", "user-prompt-submit", "--client", client, "--db", store, input=given)
    assert done.returncode == 1 and done.stderr.startswith(b"slm hook user-prompt-submit: ") and done.stdout == b""


def test_doctor_finds_every_clients_hooks(home, store):
    slm("hooks", "install", "--client", "gemini-cli")
    slm("hooks", "install", "--client", "codex")
    checks = json.loads(slm("doctor", "--db", store, "--json").stdout)["checks"]
    check = next(c for c in checks if c["name"] == "client hooks")
    assert check["ok"] and "Gemini CLI hooks in user (5)" in check["detail"] and "Codex hooks in user (4)" in check[
        "detail"]  # fmt: skip
