"""Codex's session transcript (its "rollout"), read as turns. Codex writes one JSONL file per session under
`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`, a line per `RolloutLine {timestamp, type, payload}`
(openai/codex codex-rs/protocol/src/protocol.rs `RolloutItem`, persisted as codex-rs/rollout/src/policy.rs says):
`session_meta` (the session's `id` and `cwd`), `event_msg` `user_message` (what the person typed, without the
context Codex adds) and `agent_message` (the assistant's text), `response_item` `function_call` / `local_shell_call`
/ `custom_tool_call` with their `*_output` (codex-rs/protocol/src/models.rs `ResponseItem`). Shell commands are the
`shell` / `container.exec` / `shell_command` / `exec_command` calls; an `apply_patch` (a call, or a shell command
that runs one) names the files it edits. They become the Bash-like commands and Edit-like paths `rules` reads."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from slm.capture.transcript import MAX_TEXT, Reading, ToolResult, ToolUse, Turn, head_records, read_records

SHELLS = {"shell", "container.exec", "shell_command", "exec_command", "local_shell"}  # the calls that run a command
WRAPPERS = {"bash", "sh", "zsh", "dash"}  # `["bash", "-lc", "pytest"]` runs `pytest`
PATCHED = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$|^\*\*\* Move to: (.+)$", re.M)
EXIT = re.compile(r"^(?:Exit code|Shell exit code|Process exited with code):? (-?\d+)", re.M)
RUNNING = re.compile(r"^Process running with session ID", re.M)  # an `exec_command` still running: no verdict yet


def read_from(path: Path, offset: int) -> Reading:
    read = read_records(path, offset, turn)
    return Reading(read.picked, read.end, read.skipped)


def turn(record: dict) -> Turn | None:
    """The turn one rollout line holds, if any."""
    payload, kind = record.get("payload"), record.get("type")
    time = record.get("timestamp") if isinstance(record.get("timestamp"), str) else None
    if not isinstance(payload, dict):
        return None
    if kind == "event_msg":
        said = payload.get("message")
        role = {"user_message": "user", "agent_message": "assistant"}.get(payload.get("type"))
        return Turn(role, said[:MAX_TEXT], time) if role and isinstance(said, str) and said.strip() else None
    if kind != "response_item":
        return None
    if payload.get("type") in ("function_call_output", "custom_tool_call_output"):
        result = _result(payload)
        return Turn("user", "", time, results=(result,)) if result is not None else None
    uses = tuple(_uses(payload))
    return Turn("assistant", "", time, uses=uses) if uses else None


def _uses(payload: dict) -> Iterator[ToolUse]:
    """A call as what `rules` reads: `Bash` with its `command`, or one `Edit` per file a patch touches."""
    call = str(payload.get("call_id") or payload.get("id") or "")
    name, given = payload.get("name"), _arguments(payload)
    if payload.get("type") == "local_shell_call":
        name, given = "local_shell", payload.get("action") if isinstance(payload.get("action"), dict) else {}
    command = _command(given.get("command") if name != "exec_command" else given.get("cmd"))
    patch = given.get("input") if name == "apply_patch" else command if name in SHELLS else None
    if isinstance(patch, str) and "*** Begin Patch" in patch:
        for found in PATCHED.finditer(patch):
            yield ToolUse(call, "Edit", {"file_path": (found.group(1) or found.group(2)).strip()})
    elif name in SHELLS and command:
        yield ToolUse(call, "Bash", {"command": command})


def _arguments(payload: dict) -> dict:
    """A function call's arguments (JSON in a string), or a custom tool's raw input as `input`."""
    if payload.get("type") == "custom_tool_call":
        return {"input": payload.get("input")} if isinstance(payload.get("input"), str) else {}
    raw = payload.get("arguments")
    try:
        given = json.loads(raw) if isinstance(raw, str) else raw
    except (json.JSONDecodeError, RecursionError):
        return {}
    return given if isinstance(given, dict) else {}


def _command(value: object) -> str:
    """The command line: a string as it is; an argv list unwrapped from `bash -lc …`, else joined."""
    if isinstance(value, str):
        return value.strip()
    if not isinstance(value, list) or not value or not all(isinstance(part, str) for part in value):
        return ""
    if len(value) == 3 and Path(value[0]).name in WRAPPERS and value[1] in ("-c", "-lc"):
        return value[2].strip()
    return shlex.join(value)


def _result(payload: dict) -> ToolResult | None:
    """A call's output: its text and whether it failed (a non-zero exit code, or `success: false`)."""
    output, failed = payload.get("output"), False
    if isinstance(output, dict):  # `{content, success}`, as some versions wrote a failure
        failed, output = output.get("success") is False, output.get("content")
    if isinstance(output, list):  # content items
        output = "\n".join(i["text"] for i in output if isinstance(i, dict) and isinstance(i.get("text"), str))
    if not isinstance(output, str) or RUNNING.search(output[:2000]):
        return None
    text, code = _exec_output(output)
    return ToolResult(str(payload.get("call_id", "")), text[:MAX_TEXT], failed or code not in (None, 0))


def _exec_output(output: str) -> tuple[str, int | None]:
    """(the command's own output, its exit code) from what Codex handed the model: `{"output", "metadata":
    {"exit_code"}}` (codex-rs/core/src/tools/mod.rs, structured), or lines `Exit code: N` / `Process exited with
    code N` (unified exec) before `Output:` (freeform)."""
    if output.startswith("{"):
        try:
            shaped = json.loads(output)
        except (json.JSONDecodeError, RecursionError):
            shaped = None
        if isinstance(shaped, dict) and isinstance(shaped.get("output"), str):
            meta = shaped.get("metadata") if isinstance(shaped.get("metadata"), dict) else {}
            code = meta.get("exit_code")
            return shaped["output"], code if isinstance(code, int) and not isinstance(code, bool) else None
    head, marker, body = output.partition("\nOutput:\n")
    found = EXIT.search(head if marker else output[:2000])
    return (body if marker else output), int(found.group(1)) if found else None


def session_meta(path: Path) -> tuple[str | None, Path | None]:
    """(the session's id, the folder it ran in) from its `session_meta` line, the file's first."""
    first = next((r for r in head_records(path) if r.get("type") == "session_meta"), None)
    meta = first.get("payload") if first else None
    if not isinstance(meta, dict):
        return None, None
    sid, cwd = meta.get("id") or meta.get("session_id"), meta.get("cwd")
    return (sid if isinstance(sid, str) and sid else None), (Path(cwd) if isinstance(cwd, str) and cwd else None)


def transcripts(path: Path) -> Iterator[Path]:
    """Codex's session files: the one named, or every `rollout-*.jsonl` under a folder (its `sessions` folder)."""
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from sorted(p for p in path.rglob("rollout-*.jsonl") if p.is_file())
