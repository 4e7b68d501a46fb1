"""Capturing a coding session's transcript into memories: incremental (each capture reads on from where the
session's last one stopped), idempotent (a text the project already holds is not stored again, nor one nearly the
same as an earlier capture) and bounded (so many bytes, so many memories a run). At the session's end, or before
its context is compacted, the whole session is read once more for the files it worked on and one summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from slm import faults, validation
from slm.capture import rules, summary
from slm.capture.readers import read_from
from slm.capture.transcript import Turn
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
    summary: int | None = None  # the session summary's memory id, when one was written (or rewritten)


def capture(
    memory: Memory, transcript: Path, *, session: str, project: str, agent: str, root: Path | None, final: bool,
    format: str = "claude-code",
) -> CaptureReport:  # fmt: skip
    """Capture what is new in `transcript`, read as `format` (the client that wrote it: `readers.FORMATS`)."""
    session = validation.clean_session(session, {})
    if not transcript.is_file():
        raise InvalidInput(f"no transcript at {transcript}", "the client names the session's transcript file")
    mark_key = f"capture.{session}"
    mark = _mark(get_setting(memory.conn, mark_key), transcript)
    reading = read_from(transcript, mark["offset"], format)
    whole = read_from(transcript, 0, format).turns if final else None
    report = capture_turns(memory, reading.turns, whole, session=session, project=project, agent=agent, root=root)
    report.skipped_lines = reading.skipped
    set_settings(memory.conn, {mark_key: json.dumps({"path": str(transcript), "offset": reading.end})})
    return report


def capture_turns(
    memory: Memory, turns: list[Turn], whole: list[Turn] | None, *, session: str, project: str, agent: str,
    root: Path | None,
) -> CaptureReport:  # fmt: skip
    """Store what `turns` (the part not captured yet) hold; with the `whole` session, its files and summary too."""
    session = validation.clean_session(session, {})
    report = CaptureReport(turns=len(turns))
    found = rules.statements(turns) + rules.commands(turns) + rules.fixes(turns, root)
    files = rules.central_files(whole, root) if whole is not None else None
    found += [files] if files is not None else []
    report.stored, report.already_known = _store(memory, found[:MAX_STORED], project, session, agent)
    faults.step("capture.stored")
    if whole is not None:
        report.summary = _summarise(memory, whole, project, session, agent)
        faults.step("capture.summarised")
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
    """The user's own sentences are stored as theirs (they typed them; the capturing agent is in `meta`), the
    rest as the capturing agent's: its trust then answers only for what it derived."""
    fresh = [item for item in dict.fromkeys(found) if not _nearly_known(memory, item.text, project)]
    items = [
        {"text": item.text, "project": project, "kind": item.kind, "tags": list(item.tags), "session": session,
         "agent": validation.DEFAULT_AGENT if item.users_words else agent, "time": item.time,
         "meta": {"captured_by": agent}}
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
            return None  # nothing new was said: the summary stands
        return int(memory.update(earlier[0].id, said, agent=agent))
    item = {"text": said, "project": project, "kind": SUMMARY_KIND, "tags": ["captured", "summary"]}
    return int(memory.remember_many([item | {"session": session, "agent": agent, "meta": {"captured_by": agent}}])[0])


SOURCES = ("claude-code", "codex", "gemini-cli", "chatgpt", "claude")  # what `slm import --from` reads
SESSION_FILES = ("claude-code", "codex", "gemini-cli")  # the sources read as a client's session files


@dataclass
class ImportReport:
    source: str
    conversations: int = 0
    stored: int = 0
    already_known: int = 0
    skipped: int = 0  # conversations (or transcript lines) that were not shaped as documented
    projects: set[str] = field(default_factory=set)


def import_sessions(
    memory: Memory, source: str, path: Path, *, project: str | None, total=None, progress=None
) -> ImportReport:
    """What the user already has, through the same rules as a live capture: Claude Code's, Codex's or Gemini CLI's
    session files (each in the project of the folder it ran in, when the file says), or a ChatGPT / Claude.ai
    export (in `project`, else one named for it)."""
    from slm.capture import exports, readers

    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}", f"one of: {', '.join(SOURCES)}")
    report = ImportReport(source)
    if source in SESSION_FILES:
        files = readers.transcripts(path.expanduser(), source)
        sessions = [_transcript_session(memory, file, project, source) for file in files]
    else:
        conversations, report.skipped = exports.load(path.expanduser(), source)
        sessions = [_export_session(memory, source, c, project or source) for c in conversations]
    if total is not None:
        total(len(sessions))
    for run, into in sessions:
        _count(report, run(), into)
        if progress is not None:
            progress(1)
    return report


def _transcript_session(memory: Memory, transcript: Path, project: str | None, source: str):
    """(the capture to run, its project): a session file goes to the project of the folder it ran in, under the
    session id a live capture of it uses (so a hook and an import read on from each other)."""
    from slm.capture.readers import session_meta
    from slm.core.project_identity import identify

    session, cwd = session_meta(transcript, source)
    identity = identify(cwd) if cwd is not None and cwd.is_dir() else None
    into = project or (memory.project_for(identity.root) if identity else validation.DEFAULT_PROJECT)
    root = identity.root if identity else cwd
    return lambda: capture(memory, transcript, session=session, project=into, agent=source, root=root, final=True,
                           format=source), into  # fmt: skip


def _export_session(memory: Memory, source: str, conversation, into: str):
    session = f"{source}-{conversation.id}"[:200]
    return lambda: capture_turns(memory, conversation.turns, conversation.turns, session=session, project=into,
                                 agent=source, root=None), into  # fmt: skip


def _count(report: ImportReport, done: CaptureReport, project: str) -> None:
    report.conversations += 1
    report.stored += len(done.stored) + (done.summary is not None)
    report.already_known += done.already_known
    report.skipped += done.skipped_lines
    report.projects.add(project)
