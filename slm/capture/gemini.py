"""Gemini CLI's session transcript (its chat recording), read as turns. Gemini CLI keeps one file per session under
`~/.gemini/tmp/<project>/chats/` (google-gemini/gemini-cli packages/core/src/services/chatRecordingService.ts and
chatRecordingTypes.ts). Current releases append JSONL records to `session-*.jsonl`: a first metadata line
(`sessionId`, `projectHash`), message records (`id`, `timestamp`, `type: user|gemini|info|error|warning`, `content`
as parts; a `gemini` message's `toolCalls [{id, name, args, result, status}]`), written again whole under the same
`id` when a message changes (its tool calls finish), `{"$set": …}` metadata updates and `{"$rewindTo": id}`, which
drops that message and every later one. Earlier releases wrote the same `ConversationRecord` as one JSON object in
`session-*.json`, rewritten on every message. `run_shell_command` (`command`) and `replace` / `write_file`
(`file_path`) become the Bash-like commands and Edit-like paths `rules` reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from slm.capture.transcript import MAX_READ, MAX_TEXT, Reading, ToolResult, ToolUse, Turn, head_records, read_records

SHELL, EDITS = "run_shell_command", ("replace", "write_file")
DONE = {"success", "error", "cancelled"}  # a tool call's status once it has its result
EXIT = re.compile(r"^Exit Code: (-?\d+)", re.M)


def read_from(path: Path, offset: int) -> Reading:
    """The turns after `offset`: a byte offset in a JSONL recording, the count of messages read in a whole-JSON one
    (an older release's, rewritten whole as the session goes on, so no byte of it stays put)."""
    if path.suffix == ".json":
        return _read_whole(path, offset)
    read = read_records(path, offset, _pick)
    messages: dict[str, tuple[Turn, ...]] = {}
    for kind, key, turns in read.picked:
        if kind == "message":
            messages[key] = turns  # a message written again replaces itself, where it first stood
        elif key in messages:  # a rewind: that message and the later ones are gone
            keys = list(messages)
            for dropped in keys[keys.index(key) :]:
                del messages[dropped]
        else:  # rewound past what this reading holds: none of it stands
            messages.clear()
    return Reading([turn for turns in messages.values() for turn in turns], read.end, read.skipped)


def _pick(record: dict) -> tuple[str, str, tuple[Turn, ...]] | None:
    if isinstance(record.get("$rewindTo"), str):
        return "rewind", record["$rewindTo"], ()
    if not isinstance(record.get("id"), str):
        return None  # the metadata line, or a `$set`
    return "message", record["id"], tuple(message_turns(record))


def _read_whole(path: Path, offset: int) -> Reading:
    """A whole-JSON recording: the messages from `offset` on, up to the first whose tool calls are not finished
    (it is read again, finished, next time)."""
    if path.stat().st_size > MAX_READ:
        return Reading(end=offset, skipped=1)
    try:
        record = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return Reading(end=offset, skipped=1)
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list):
        return Reading(end=offset, skipped=1)
    start = offset if 0 <= offset <= len(messages) else 0
    reading = Reading(end=start)
    for message in messages[start:]:
        if not isinstance(message, dict):
            reading.skipped += 1
        elif not _finished(message):
            break
        else:
            reading.turns += message_turns(message)
        reading.end += 1
    return reading


def _finished(message: dict) -> bool:
    calls = message.get("toolCalls") if isinstance(message.get("toolCalls"), list) else []
    return all(not isinstance(call, dict) or call.get("status") in DONE for call in calls)


def message_turns(message: dict) -> Iterator[Turn]:
    """A message as turns: the person's text; or the model's text, its tool calls and their results."""
    time = message.get("timestamp") if isinstance(message.get("timestamp"), str) else None
    kind = message.get("type")
    if kind == "user":
        text = _text(message.get("displayContent") or message.get("content"))
        if text.strip():
            yield Turn("user", text[:MAX_TEXT], time)
        return
    if kind != "gemini":
        return  # info, error, warning: the CLI's own notices
    text = _text(message.get("content"))
    if text.strip():
        yield Turn("assistant", text[:MAX_TEXT], time)
    calls = [c for c in message.get("toolCalls") or [] if isinstance(c, dict) and isinstance(c.get("name"), str)]
    uses = tuple(use for call in calls if (use := _use(call)) is not None)
    if uses:
        yield Turn("assistant", "", time, uses=uses)
    results = tuple(_result(call) for call in calls if call.get("status") in DONE and _use(call) is not None)
    if results:
        yield Turn("user", "", time, results=results)


def _use(call: dict) -> ToolUse | None:
    given = call.get("args") if isinstance(call.get("args"), dict) else {}
    if call["name"] == SHELL and isinstance(given.get("command"), str):
        return ToolUse(str(call.get("id", "")), "Bash", {"command": given["command"]})
    if call["name"] in EDITS and isinstance(given.get("file_path"), str):
        return ToolUse(str(call.get("id", "")), "Edit", {"file_path": given["file_path"]})
    return None


def _result(call: dict) -> ToolResult:
    """A finished call's output (its `functionResponse`), failed when its status says so or its exit code does."""
    text = _response_text(call.get("result"))
    if not text and isinstance(call.get("resultDisplay"), str):
        text = call["resultDisplay"]
    found = EXIT.search(text[-4000:])
    failed = call.get("status") != "success" or (found is not None and int(found.group(1)) != 0)
    return ToolResult(str(call.get("id", "")), text[:MAX_TEXT], failed)


def _text(content: object) -> str:
    """The text parts of a `PartListUnion` (a string, a part, or a list of them); thoughts are not said."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    said = [
        p if isinstance(p, str) else p["text"]
        for p in parts
        if isinstance(p, str) or (isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought"))
    ]
    return "\n".join(said)


def _response_text(result: object) -> str:
    parts = result if isinstance(result, list) else [result]
    found = []
    for part in parts:
        response = part.get("functionResponse", {}).get("response") if isinstance(part, dict) else None
        if isinstance(response, dict):
            found += [v for k, v in response.items() if k in ("output", "error", "llmContent") and isinstance(v, str)]
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            found.append(part["text"])
        elif isinstance(part, str):
            found.append(part)
    return "\n".join(found)[: MAX_TEXT * 2]


def session_meta(path: Path) -> tuple[str | None, Path | None]:
    """(the session's id, a folder it worked in) from the recording's metadata: Gemini CLI records the project
    only as a hash, so the folder is known only when the session listed its `directories`."""
    if path.suffix == ".json":
        try:
            first = json.loads(path.read_bytes()) if path.stat().st_size <= MAX_READ else None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            first = None
    else:
        first = next((r for r in head_records(path, 5) if isinstance(r.get("sessionId"), str)), None)
    if not isinstance(first, dict):
        return None, None
    sid, folders = first.get("sessionId"), first.get("directories")
    folder = folders[0] if isinstance(folders, list) and folders and isinstance(folders[0], str) else None
    return (sid if isinstance(sid, str) and sid else None), (Path(folder) if folder else None)


def transcripts(path: Path) -> Iterator[Path]:
    """Gemini CLI's session files: the one named, or every `session-*.jsonl` (and older `session-*.json` not yet
    carried over to JSONL) under a folder such as ~/.gemini/tmp."""
    if path.is_file():
        yield path
    elif path.is_dir():
        found = {p for p in path.rglob("session-*.json*") if p.is_file() and p.suffix in (".json", ".jsonl")}
        yield from sorted(p for p in found if p.suffix == ".jsonl" or p.with_suffix(".jsonl") not in found)
