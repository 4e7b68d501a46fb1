"""Conversations users already have, read as turns for capture: ChatGPT's `conversations.json` export (a tree of
messages per conversation; the branch that was kept runs from `current_node` up to the root) and Claude.ai's
(`chat_messages` in order). A conversation that is not shaped as documented is skipped and counted, never fatal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from slm.capture.transcript import MAX_TEXT, Turn
from slm.errors import InvalidInput

MAX_FILE = 2 << 30  # bytes of an export read at once
MAX_DEPTH = 100_000  # messages walked up one ChatGPT branch (a cycle must not hang the import)


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    turns: list[Turn]


def load(path: Path, source: str) -> tuple[list[Conversation], int]:
    """The conversations of an export (`conversations.json`, or the folder holding it), and how many were skipped."""
    file = path / "conversations.json" if path.is_dir() else path
    if not file.is_file():
        raise InvalidInput(f"no conversations.json at {path}", "unzip the export and name the file or its folder")
    if file.stat().st_size > MAX_FILE:
        raise InvalidInput(f"{file} is over 2 GiB", "split the export, or import it in parts")
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput(f"{file} is not JSON ({err})", "name the export's conversations.json") from None
    if not isinstance(raw, list):
        raise InvalidInput(f"{file} does not hold a list of conversations", f"is it a {source} export?")
    parse = _chatgpt if source == "chatgpt" else _claude
    found = [parse(item) for item in raw if isinstance(item, dict)]
    kept = [c for c in found if c is not None and c.turns]
    return kept, len(raw) - len(kept)


def _chatgpt(item: dict) -> Conversation | None:
    mapping, node = item.get("mapping"), item.get("current_node")
    if not isinstance(mapping, dict) or not isinstance(node, str):
        return None
    turns: list[Turn] = []
    for _ in range(MAX_DEPTH):
        entry = mapping.get(node)
        if not isinstance(entry, dict):
            break
        turn = _chatgpt_turn(entry.get("message"))
        if turn is not None:
            turns.append(turn)
        node = entry.get("parent")
        if not isinstance(node, str):
            break
    return Conversation(str(item.get("id") or item.get("conversation_id") or ""), str(item.get("title") or ""),
                        turns[::-1])  # fmt: skip


def _chatgpt_turn(message: object) -> Turn | None:
    if not isinstance(message, dict):
        return None
    role = (message.get("author") or {}).get("role") if isinstance(message.get("author"), dict) else None
    content = message.get("content") if isinstance(message.get("content"), dict) else {}
    parts = [p for p in content.get("parts") or [] if isinstance(p, str)]
    text = "\n".join(parts).strip()
    if role not in ("user", "assistant") or not text:
        return None
    return Turn(role, text[:MAX_TEXT], _epoch(message.get("create_time")))


def _claude(item: dict) -> Conversation | None:
    messages = item.get("chat_messages")
    if not isinstance(messages, list):
        return None
    turns = []
    for message in messages:
        if not isinstance(message, dict) or message.get("sender") not in ("human", "assistant"):
            continue
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        if not text.strip():  # newer exports leave `text` empty and keep the content blocks
            blocks = message.get("content") if isinstance(message.get("content"), list) else []
            text = "\n".join(b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str))
        if text.strip():
            role = "user" if message["sender"] == "human" else "assistant"
            when = message.get("created_at") if isinstance(message.get("created_at"), str) else None
            turns.append(Turn(role, text.strip()[:MAX_TEXT], when))
    return Conversation(str(item.get("uuid") or ""), str(item.get("name") or ""), turns)


def _epoch(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 4e9:
        return None
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def claude_code_transcripts(path: Path) -> Iterator[Path]:
    """Claude Code's session files: the one named, or every `*.jsonl` under a folder (its `projects` folder)."""
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from sorted(p for p in path.rglob("*.jsonl") if p.is_file() and "subagents" not in p.parts)
    else:
        raise InvalidInput(f"nothing at {path}", "name a transcript (.jsonl) or a folder such as ~/.claude/projects")


def transcript_cwd(path: Path) -> Path | None:
    """The working folder a Claude Code session ran in (its records' `cwd`), from its first lines."""
    with path.open("rb") as stream:
        for _ in range(50):
            line = stream.readline(1 << 20)
            if not line:
                break
            try:
                record = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(record, dict) and isinstance(record.get("cwd"), str) and record["cwd"]:
                return Path(record["cwd"])
    return None
