"""Codex and Gemini CLI session transcripts for tests, written in each client's format as its source defines it.

Codex (openai/codex codex-rs/protocol/src/protocol.rs `RolloutLine` / `RolloutItem`, models.rs `ResponseItem`,
rollout/src/policy.rs): one JSONL line per `{timestamp, type, payload}`; `session_meta` first; `event_msg`
`user_message` / `agent_message`; `response_item` `function_call` (`arguments` a JSON string) and
`function_call_output` (`output` a string: `{"output", "metadata": {"exit_code"}}` from the `shell` tool, or
`Exit code: N … Output:` / `Process exited with code N … Output:` text), `local_shell_call`, `custom_tool_call`
(`apply_patch` with the patch as `input`). Every session also carries the `response_item` user messages with the
context Codex injects (`<environment_context>`), which are not the person's words.

Gemini CLI (google-gemini/gemini-cli packages/core/src/services/chatRecordingService.ts, chatRecordingTypes.ts):
JSONL with a metadata line, message records (`id`, `timestamp`, `type`, `content` parts; `gemini` messages with
`toolCalls`), a message written again whole under its `id` when its tool calls finish, `$set` and `$rewindTo`
records; older releases wrote the `ConversationRecord` as one JSON object (`session-*.json`)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

_ids = itertools.count(1)


def _stamp(n: int) -> str:
    return f"2026-12-01T10:{n // 60:02d}:{n % 60:02d}.000Z"


class CodexRollout:
    def __init__(self, folder: Path, session: str, cwd: Path) -> None:
        day = folder / "sessions" / "2026" / "12" / "01"
        day.mkdir(parents=True, exist_ok=True)
        self.path, self.session, self.cwd = day / f"rollout-2026-12-01T10-00-00-{session}.jsonl", session, cwd
        meta = {"id": session, "timestamp": _stamp(0), "cwd": str(cwd), "originator": "codex_cli_rs",
                "cli_version": "0.60.0", "source": "cli", "model_provider": "openai"}  # fmt: skip
        self._line("session_meta", meta)
        self._line("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text":
            f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <approval_policy>on-request</approval_policy>\n"
            "</environment_context>"}]})  # fmt: skip

    def _line(self, kind: str, payload: dict) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"timestamp": _stamp(next(_ids)), "type": kind, "payload": payload}) + "\n")

    def user(self, text: str) -> None:
        """What the person typed: the model sees it as a user message, the rollout also as an `event_msg`."""
        self._line("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text",
                                                                                      "text": text}]})  # fmt: skip
        self._line("event_msg", {"type": "user_message", "message": text, "images": []})
        self._line("turn_context", {"cwd": str(self.cwd), "approval_policy": "on-request", "model": "gpt-5-codex"})

    def assistant(self, text: str) -> None:
        self._line("response_item", {"type": "message", "role": "assistant", "content": [{"type": "output_text",
                                                                                           "text": text}]})  # fmt: skip
        self._line("event_msg", {"type": "agent_message", "message": text})

    def run(self, command: str, output: str, exit_code: int = 0, *, style: str = "shell") -> None:
        """A shell command and its output, as each of Codex's shell tools records them."""
        call = f"call_{next(_ids)}"
        if style == "shell":  # argv through bash -lc; structured JSON output
            arguments = {"command": ["bash", "-lc", command], "workdir": str(self.cwd), "timeout_ms": 120000}
            said = json.dumps({"output": output, "metadata": {"exit_code": exit_code, "duration_seconds": 0.4}})
        elif style == "exec_command":  # unified exec: `cmd`, text output
            arguments = {"cmd": command, "workdir": str(self.cwd), "yield_time_ms": 10000}
            said = f"Chunk ID: 3f2a\nWall time: 0.4120 seconds\nProcess exited with code {exit_code}\nOutput:\n{output}"
        else:  # shell_command: a string, freeform output
            arguments = {"command": command, "workdir": str(self.cwd)}
            said = f"Exit code: {exit_code}\nWall time: 0.4 seconds\nOutput:\n{output}"
        name = {"shell": "shell", "exec_command": "exec_command", "freeform": "shell_command"}[style]
        self._line("response_item", {"type": "function_call", "name": name, "arguments": json.dumps(arguments),
                                     "call_id": call})  # fmt: skip
        self._line("response_item", {"type": "function_call_output", "call_id": call, "output": said})

    def local_shell(self, argv: list[str], output: str, exit_code: int = 0) -> None:
        call = f"call_{next(_ids)}"
        self._line(
            "response_item",
            {
                "type": "local_shell_call",
                "call_id": call,
                "status": "completed",
                "action": {"type": "exec", "command": argv, "working_directory": str(self.cwd)},
            },
        )
        self._line(
            "response_item",
            {
                "type": "function_call_output",
                "call_id": call,
                "output": json.dumps({"output": output, "metadata": {"exit_code": exit_code}}),
            },
        )

    def patch(self, *relatives: str) -> None:
        """An `apply_patch` (the freeform custom tool) updating each file, with its `patch_apply_end` event."""
        call = f"call_{next(_ids)}"
        body = "".join(f"*** Update File: {r}\n@@\n-import requests\n+import httpx\n" for r in relatives)
        self._line(
            "response_item",
            {
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": call,
                "name": "apply_patch",
                "input": f"*** Begin Patch\n{body}*** End Patch\n",
            },
        )
        self._line(
            "response_item",
            {
                "type": "custom_tool_call_output",
                "call_id": call,
                "output": "Success. Updated the following files:\n" + "".join(f"M {r}\n" for r in relatives),
            },
        )
        self._line("event_msg", {"type": "patch_apply_end", "call_id": call, "stdout": "", "stderr": "",
                                 "success": True})  # fmt: skip

    def raw(self, line: bytes) -> None:
        with self.path.open("ab") as out:
            out.write(line)

    def event(self, name: str, **extra) -> dict:
        """The JSON Codex sends a hook (codex-rs/hooks/schema/generated/stop.command.input.schema.json)."""
        given = {"session_id": self.session, "transcript_path": str(self.path), "cwd": str(self.cwd),
                 "hook_event_name": name, "model": "gpt-5-codex", "turn_id": f"turn-{next(_ids)}"}  # fmt: skip
        if name == "Stop":
            given |= {"permission_mode": "default", "stop_hook_active": False, "last_assistant_message": None}
        if name == "PreCompact":
            given |= {"trigger": "auto"}
        return given | extra


class GeminiRecording:
    """A current Gemini CLI session file (JSONL); `legacy=True` writes an older release's whole-JSON file."""

    def __init__(self, folder: Path, session: str, cwd: Path, *, legacy: bool = False) -> None:
        chats = folder / "tmp" / "9f86d081884c7d65" / "chats"
        chats.mkdir(parents=True, exist_ok=True)
        self.legacy, self.session, self.cwd = legacy, session, cwd
        self.path = chats / f"session-2026-12-01T10-00-{session[:8]}.json{'' if legacy else 'l'}"
        self.meta = {"sessionId": session, "projectHash": "9f86d081884c7d65", "startTime": _stamp(0),
                     "lastUpdated": _stamp(0)}  # fmt: skip
        self.messages: list[dict] = []
        self._append(self.meta) if not legacy else self._rewrite()

    def _append(self, record: dict) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def _rewrite(self) -> None:
        self.path.write_text(json.dumps({**self.meta, "messages": self.messages}, indent=2), encoding="utf-8")

    def _message(self, record: dict) -> str:
        n = next(_ids)
        record = {"id": f"m{n}-{self.session[:4]}", "timestamp": _stamp(n), **record}
        self.messages.append(record)
        if self.legacy:
            self._rewrite()
        else:
            self._append(record)
            self._append({"$set": {"lastUpdated": record["timestamp"]}})
        return record["id"]

    def user(self, text: str) -> str:
        return self._message({"type": "user", "content": [{"text": text}]})

    def assistant(self, text: str) -> str:
        return self._message({"type": "gemini", "content": [{"text": text}], "thoughts": [], "model": "gemini-2.5-pro",
                              "tokens": {"input": 900, "output": 40, "cached": 0, "total": 940}})  # fmt: skip

    def tools(self, *calls: tuple[str, dict, str]) -> str:
        """A model turn calling tools: recorded first as scheduled, then written again with their results."""
        base = [{"id": f"{name}-{next(_ids)}", "name": name, "args": args, "timestamp": _stamp(1)}
                for name, args, _ in calls]  # fmt: skip
        scheduled = {"type": "gemini", "content": "", "model": "gemini-2.5-pro",
                     "toolCalls": [c | {"status": "executing"} for c in base]}  # fmt: skip
        key = self._message(scheduled)
        done = [c | {"status": "success", "result": [{"functionResponse": {"id": c["id"], "name": c["name"],
                                                                           "response": {"output": out}}}]}
                for c, (_, _, out) in zip(base, calls, strict=True)]  # fmt: skip
        finished = self.messages[-1] | {"toolCalls": done}
        self.messages[-1] = finished
        if self.legacy:
            self._rewrite()
        else:
            self._append(finished)
        return key

    def run(self, command: str, output: str, exit_code: int = 0) -> None:
        said = f"Output: {output}" + (f"\nExit Code: {exit_code}" if exit_code else "")
        self.tools(("run_shell_command", {"command": command, "description": "run it"}, said))

    def edit(self, relative: str) -> None:
        args = {"file_path": str(self.cwd / relative), "old_string": "requests", "new_string": "httpx",
                "instruction": "use httpx"}  # fmt: skip
        self.tools(("replace", args, f"Successfully modified file: {self.cwd / relative} (1 replacements)."))

    def rewind_to(self, message_id: str) -> None:
        self._append({"$rewindTo": message_id})

    def raw(self, line: bytes) -> None:
        with self.path.open("ab") as out:
            out.write(line)

    def event(self, name: str, **extra) -> dict:
        """The JSON Gemini CLI sends a hook (docs/hooks/reference.md, base input schema)."""
        given = {"session_id": self.session, "transcript_path": str(self.path), "cwd": str(self.cwd),
                 "hook_event_name": name, "timestamp": _stamp(59)}  # fmt: skip
        extras = {
            "SessionEnd": {"reason": "exit"},
            "PreCompress": {"trigger": "auto"},
            "AfterAgent": {"prompt": "go on", "prompt_response": "done", "stop_hook_active": False},
        }
        return given | extras.get(name, {}) | extra


def a_working_session(session) -> None:
    """The session of tests/claude_transcripts.py, in either client's format: the user sets rules, a test fails, a
    fix makes it pass, the build runs."""
    session.user("The import in the billing module is broken. We decided to use httpx instead of requests.")
    session.assistant("I will run the tests first to see the failure.")
    session.run("pytest -q tests/test_billing.py", "FAILED tests/test_billing.py::test_charge\nImportError: cannot "
                "import name 'Client' from 'requests'\n1 failed in 0.31s", 1)  # fmt: skip
    if isinstance(session, CodexRollout):
        session.patch("src/billing/client.py")
        session.patch("src/billing/client.py")
    else:
        session.edit("src/billing/client.py")
        session.edit("src/billing/client.py")
    session.run("pytest -q tests/test_billing.py", "4 passed in 0.22s")
    session.user("Always run ruff before you commit. I prefer small commits over big ones.")
    session.run("make build", "built dist/shop-1.2.0.tar.gz")
    session.assistant("The billing client now uses httpx and the tests pass; the build produced the package.")
