"""Reading a client's session transcript from where the last capture stopped: the JSONL record reader every
format shares (a line that is not JSON, not an object or longer than `MAX_LINE` is skipped and counted, never
fatal: the file is written by another program while it runs, and its text may be hostile), and Claude Code's
records read as turns. Codex's and Gemini CLI's formats are read in `codex` and `gemini`; `readers` chooses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINE = 1 << 20  # bytes of one record; a longer line (a pasted log, a huge tool output) is skipped
MAX_READ = 32 << 20  # bytes read in one capture; the rest waits for the next
MAX_TEXT = 20_000  # characters kept of one block's text
TOO_LONG = b"\x00"  # what `_lines` gives for a line over MAX_LINE


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: dict


@dataclass(frozen=True)
class ToolResult:
    tool_use_id: str
    text: str
    is_error: bool


@dataclass(frozen=True)
class Turn:
    """One record of the conversation: who spoke, their text, the tools they called or the results they got."""

    role: str  # "user" (the person, or tool results handed back) or "assistant"
    text: str
    time: str | None
    uses: tuple[ToolUse, ...] = ()
    results: tuple[ToolResult, ...] = ()

    @property
    def said_by_user(self) -> bool:
        """Typed by the person, not a tool result returned in a user record."""
        return self.role == "user" and bool(self.text) and not self.results


@dataclass
class Reading:
    turns: list[Turn] = field(default_factory=list)
    end: int = 0  # where the next capture reads on: a byte offset after the last whole line (or, for a format
    # written whole, the messages read)
    skipped: int = 0  # lines that were not a record (broken JSON, too long, not an object)


@dataclass
class Records:
    picked: list = field(default_factory=list)  # what `pick` made of each record, in order
    end: int = 0  # byte offset after the last whole line read
    skipped: int = 0


def read_from(path: Path, offset: int) -> Reading:
    """Claude Code's turns after byte `offset`; a file shorter than the offset (replaced, truncated) is read from
    the start."""
    read = read_records(path, offset, _turn)
    return Reading(read.picked, read.end, read.skipped)


def read_records(path: Path, offset: int, pick: Callable[[dict], object | None]) -> Records:
    """What `pick` makes of each JSON object of a JSONL file after byte `offset` (None: nothing), at most
    `MAX_READ` bytes of them; each record is picked as it is read, so only what is kept stays in memory."""
    size = path.stat().st_size
    start = offset if 0 <= offset <= size else 0
    read = Records(end=start)
    with path.open("rb") as stream:
        stream.seek(start)
        for line, end in _lines(stream, start, min(size, start + MAX_READ)):
            read.end = end
            record = _record(line)
            if record is None:
                read.skipped += 1 if line.strip() else 0
            elif (kept := pick(record)) is not None:
                read.picked.append(kept)
    return read


def head_records(path: Path, lines: int = 50) -> list[dict]:
    """The JSON objects among a file's first `lines` lines (a session's metadata is written first)."""
    found = []
    with path.open("rb") as stream:
        for _ in range(lines):
            line = stream.readline(MAX_LINE + 1)
            if not line:
                break
            record = _record(line) if len(line) <= MAX_LINE else None
            if record is not None:
                found.append(record)
    return found


def _lines(stream, start: int, stop: int) -> Iterator[tuple[bytes, int]]:
    """Whole lines up to `stop`, each with the offset after it. A last line without its newline is left for the
    next capture (the client may be writing it); an over-long line comes back as a marker, to be skipped."""
    while stream.tell() < stop:
        line = stream.readline(MAX_LINE + 1)
        if line.endswith(b"\n"):
            yield line, stream.tell()
        elif len(line) <= MAX_LINE:
            return  # unfinished: read again next time
        else:
            while line and not line.endswith(b"\n"):  # too long: on to its end
                line = stream.readline(MAX_LINE)
            if not line:
                return  # its end is not written yet
            yield TOO_LONG, stream.tell()


def _record(line: bytes) -> dict | None:
    if line is TOO_LONG:
        return None
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def _turn(record: dict) -> Turn | None:
    if record.get("type") not in ("user", "assistant") or record.get("isMeta") or record.get("isSidechain"):
        return None
    message = record.get("message")
    if not isinstance(message, dict):
        return None
    role = message.get("role") if message.get("role") in ("user", "assistant") else record["type"]
    texts, uses, results = _blocks(message.get("content"))
    time = record.get("timestamp") if isinstance(record.get("timestamp"), str) else None
    if not texts and not uses and not results:
        return None
    return Turn(role, "\n".join(texts)[:MAX_TEXT], time, tuple(uses), tuple(results))


def _blocks(content: object) -> tuple[list[str], list[ToolUse], list[ToolResult]]:
    if isinstance(content, str):
        return [content], [], []
    texts, uses, results = [], [], []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use" and isinstance(block.get("name"), str):
            given = block.get("input") if isinstance(block.get("input"), dict) else {}
            uses.append(ToolUse(str(block.get("id", "")), block["name"], given))
        elif kind == "tool_result":
            results.append(ToolResult(str(block.get("tool_use_id", "")), _result_text(block.get("content")),
                                      block.get("is_error") is True))  # fmt: skip
    return texts, uses, results


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content[:MAX_TEXT]
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]
        return "\n".join(parts)[:MAX_TEXT]
    return ""
