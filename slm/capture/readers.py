"""Which reader a client's transcript takes: Claude Code's JSONL (`transcript`), Codex's rollout (`codex`) or Gemini
CLI's chat recording (`gemini`). Each gives the same turns, read on from where the last capture stopped, so the
capture rules never ask which client wrote them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from slm.capture import codex, exports, gemini, transcript
from slm.capture.transcript import Reading
from slm.errors import InvalidInput

FORMATS = ("claude-code", "codex", "gemini-cli")  # the clients whose transcripts slm reads


def read_from(path: Path, offset: int, format: str = "claude-code") -> Reading:
    """The turns of `path` after `offset` (a byte offset; for an older Gemini CLI's whole-JSON file, the messages
    already read)."""
    reader = {"claude-code": transcript.read_from, "codex": codex.read_from, "gemini-cli": gemini.read_from}
    return reader[_known(format)](path, offset)


def transcripts(path: Path, format: str) -> Iterator[Path]:
    """The session files at `path`: the one named, or every one of the client's under a folder."""
    walk = {
        "claude-code": exports.claude_code_transcripts,
        "codex": codex.transcripts,
        "gemini-cli": gemini.transcripts,
    }
    if not path.exists():
        raise InvalidInput(f"nothing at {path}", f"name a {format} session file or the folder that holds them")
    return walk[_known(format)](path)


def session_meta(path: Path, format: str) -> tuple[str, Path | None]:
    """(the session's id, the folder it ran in, when the file says) of a session file; the file's name stands in
    for an id the file does not hold."""
    if _known(format) == "claude-code":
        return path.stem, exports.transcript_cwd(path)
    session, folder = (codex if format == "codex" else gemini).session_meta(path)
    return session or path.stem, folder


def _known(format: str) -> str:
    if format not in FORMATS:
        raise InvalidInput(f"slm reads no {format!r} transcripts", f"one of: {', '.join(FORMATS)}")
    return format
