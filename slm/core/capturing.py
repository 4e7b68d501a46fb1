"""Capturing a coding session's transcript into memories: incremental (each capture reads on from where the
session's last one stopped), idempotent (a text the project already holds is not stored again, nor one nearly the
same as an earlier capture) and bounded (so many bytes, so many memories a run). At the session's end, or before
its context is compacted, the whole session is read once more for the files it worked on and one summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from slm import validation
from slm.capture import rules, summary
from slm.capture.transcript import read_from
from slm.core.memory import Memory
from slm.errors import InvalidInput
from slm.storage.settings import get_setting, set_settings

MAX_STORED = 30  # memories one capture stores at most
NEAR_DUPLICATE = 0.92  # cosine to a memory of the project above which a captured text is not stored again
SUMMARY_KIND = "session-summary"


@dataclass
class CaptureReport:
    stored: list[int] = field(default_factory=list)
    already_known: int = 0  # exact or near duplicates of what the project holds
    turns: int = 0
    skipped_lines: int = 0  # transcript lines that were not a record
    summary: int | None = None  # the session summary's memory id, when one was written


def capture(
    memory: Memory, transcript: Path, *, session: str, project: str, agent: str, root: Path | None, final: bool
) -> CaptureReport:
    session = validation.clean_session(session, {})
    if not transcript.is_file():
        raise InvalidInput(f"no transcript at {transcript}", "the client names the session's transcript file")
    mark_key = f"capture.{session}"
    mark = _mark(get_setting(memory.conn, mark_key), transcript)
    reading = read_from(transcript, mark["offset"])
    report = CaptureReport(turns=len(reading.turns), skipped_lines=reading.skipped)
    found = rules.statements(reading.turns) + rules.commands(reading.turns) + rules.fixes(reading.turns, root)
    whole = read_from(transcript, 0).turns if final else []
    files = rules.central_files(whole, root) if final else None
    found += [files] if files is not None else []
    report.stored, report.already_known = _store(memory, found[:MAX_STORED], project, session, agent)
    if final:
        report.summary = _summarise(memory, whole, project, session, agent)
    set_settings(memory.conn, {mark_key: json.dumps({"path": str(transcript), "offset": reading.end})})
    return report


def _mark(saved: str | None, transcript: Path) -> dict:
    """Where the last capture of this session stopped; from the start when it read another file."""
    try:
        mark = json.loads(saved) if saved else {}
    except json.JSONDecodeError:
        mark = {}
    same = isinstance(mark, dict) and mark.get("path") == str(transcript) and isinstance(mark.get("offset"), int)
    return mark if same else {"offset": 0}


def _store(memory: Memory, found: list, project: str, session: str, agent: str) -> tuple[list[int], int]:
    fresh = [item for item in dict.fromkeys(found) if not _nearly_known(memory, item.text, project)]
    items = [
        {"text": item.text, "project": project, "kind": item.kind, "tags": list(item.tags), "session": session,
         "agent": agent, "time": item.time, "meta": {"captured_by": agent}}
        for item in fresh
    ]  # fmt: skip
    stored = memory.remember_many(items) if items else []
    new = [int(s) for s in stored if not s.duplicate]
    return new, len(found) - len(new)


def _nearly_known(memory: Memory, text: str, project: str) -> bool:
    hits = memory.recall(text, k=1, project=project, channels=["vector"])
    vector = hits[0].channels.get("vector") if hits else None
    return vector is not None and vector.score >= NEAR_DUPLICATE


def _summarise(memory: Memory, turns: list, project: str, session: str, agent: str) -> int | None:
    """One summary per session: a later one (after more turns) replaces the earlier, which stays as history."""
    text = summary.summarise(turns, memory.embedder.embed)
    if text is None:
        return None
    said = f"Session summary ({rules.last_time(turns) or 'undated'}): {text}"
    earlier = [row for row in memory.list(project=project, session=session, limit=50) if row.kind == SUMMARY_KIND]
    if earlier:
        if earlier[0].content == said:
            return earlier[0].id
        return int(memory.update(earlier[0].id, said, agent=agent))
    item = {"text": said, "project": project, "kind": SUMMARY_KIND, "tags": ["captured", "summary"]}
    return int(memory.remember_many([item | {"session": session, "agent": agent, "meta": {"captured_by": agent}}])[0])
