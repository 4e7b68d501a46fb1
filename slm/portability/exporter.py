"""`slm export`: memories (and optionally what was done with them) as JSONL, JSON or readable Markdown.

Records are read a page of ids at a time and written as they are made, so the memory an export needs does not
grow with the store beyond one int per exported memory (docs/benchmarks.md, "Export").
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from slm import __version__, validation
from slm.embedding import choice as model_choice
from slm.errors import InvalidInput
from slm.portability import portable
from slm.storage import health
from slm.storage import portable as sql
from slm.storage.behavior import KEPT_LEARNED, behavior_path
from slm.storage.memories import MemoryFilter, MemoryRepository
from slm.trust.receipts import KEY_FILE

PAGE = 500
FORMATS = ("jsonl", "json", "markdown")
PRIVATE_FILE = 0o600  # an export holds the whole store: as private as the store itself
PRIVATE_FOLDER = 0o700
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Selection:
    """Which memories an export holds: those whose current version passes every filter (and, when `ids` are given,
    is one of them: a list someone chose), with their history."""

    project: str | None = None
    agent: str | None = None
    since: str | None = None
    until: str | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def of(cls, project=None, agent=None, since=None, until=None, ids=None) -> Selection:
        return cls(
            None if project is None else validation.clean_name(project, "project", ""),
            None if agent is None else validation.clean_name(agent, "agent", ""),
            validation.parse_time(since, "since"),
            validation.parse_time(until, "until"),
            None if ids is None else tuple(dict.fromkeys(validation.clean_id(i) for i in ids)),
        )

    def as_dict(self) -> dict:
        return {k: list(v) if k == "ids" else v for k, v in self.__dict__.items() if v is not None}

    def filter(self) -> MemoryFilter:
        return MemoryFilter(project=self.project, agent=self.agent, since=self.since, until=self.until)


def export(
    engine, out: TextIO, *, fmt: str = "jsonl", selection: Selection = Selection(), embeddings: bool = False,
    behavior: bool = False, progress: Progress | None = None, total: Callable[[int], None] | None = None,
) -> dict:  # fmt: skip
    """Write the export to `out` (JSONL or JSON); returns the counts written, as the end line holds them."""
    if fmt not in ("jsonl", "json"):
        raise InvalidInput(f"unknown export format {fmt!r}", f"one of {list(FORMATS)} (markdown writes a folder)")
    with engine.conn.read_snapshot():
        return _export(engine, out, fmt, selection, embeddings, behavior, progress, total)


def _export(engine, out: TextIO, fmt, selection: Selection, embeddings, behavior, progress, total) -> dict:
    ids = sql.chain_ids(engine.conn, selection.filter(), selection.ids)
    if total:
        total(len(ids))
    model = model_choice.identity(engine.conn)
    whole = embeddings and model is not None  # a file to move the store: its vectors and derived data too
    rules = engine.derivation_rules() if whole else None
    private = engine.repo.has_private()
    learned = _learned_records(engine, bool(selection.as_dict())) if behavior else []
    head = portable.header(
        validation.now_utc(), model, selection.as_dict(), whole, behavior, rules, private, bool(learned)
    )
    counts = {"memories": 0}
    writer = _JsonWriter(out, as_array=fmt == "json")
    writer.write(head)
    derive = engine.derive if rules else None
    for record in _memory_records(engine.conn, ids, model["dim"] if whole else None, derive, progress):
        writer.write(record)
        counts["memories"] += 1
    if behavior:
        counts |= _behavior_records(engine, writer, None if not selection.as_dict() else set(ids.tolist()))
        for record in learned:
            writer.write(record)
        counts |= {"learned": len(learned)} if learned else {}  # a file without them is as an older slm wrote it
    writer.write({"type": "end", **counts})
    writer.close()
    return counts


class _JsonWriter:
    """One record per line (JSONL), or the same lines as the elements of one JSON array."""

    def __init__(self, out: TextIO, as_array: bool) -> None:
        self.out, self.as_array, self.first = out, as_array, True

    def write(self, record: dict) -> None:
        if self.as_array:
            self.out.write("[\n" if self.first else ",\n")
        self.out.write(portable.dumps(record))
        if not self.as_array:
            self.out.write("\n")
        self.first = False

    def close(self) -> None:
        if self.as_array:
            self.out.write("\n]\n")


def _memory_records(conn, ids, dim: int | None, derive, progress: Progress | None) -> Iterator[dict]:
    """Memory records a page at a time; with `derive`, each carries its derived data (claims, entities)."""
    repo = MemoryRepository(conn)
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE].tolist()
        rows = repo.get_many(page)
        validity, trust, zones = sql.validity(conn, page), sql.trust_rows(conn, page), sql.zones(conn, page)
        links, private = sql.links(conn, page), repo.private_to(page)  # a kept project's memories are private
        vectors = sql.embeddings(conn, page, dim) if dim else {}
        for row in rows:
            record = _record(row, validity[row.id], trust.get(row.id), zones.get(row.id), links.get(row.id, ()),
                             vectors.get(row.id), private.get(row.id))  # fmt: skip
            if derive is not None:
                record["derived"] = derive(row.content, row.event_time or row.created_at)
            yield record
        if progress:
            progress(len(page))


def _record(row, validity, trust, zone, links, embedding, private_to: str | None) -> dict:
    _, doubt, review, score = trust if trust else (None, 0.0, None, None)
    record = {
        "type": "memory",
        "id": row.id,
        "content": row.content,
        "sha256": row.content_hash,
        "created_at": row.created_at,
        "event_time": row.event_time,
        "valid_from": validity[0],
        "valid_to": validity[1],
        "agent": row.agent,
        "protocol": row.protocol,
        "project": row.project,
        "kind": row.kind,
        "tags": list(row.tags),
        "meta": row.meta,
        "session": row.session,
        "superseded_by": row.superseded_by,
        "review": review,
        "links": [{"to": other, "kind": kind, "weight": weight} for other, kind, weight in sorted(links)],
        "observed": {
            "verified_agent": row.agent_id is not None,
            "agent_trust": None if score is None else round(score, 4),
            "doubt": doubt,
            "zone": zone,
        },
    }
    if private_to is not None:
        record["private_to"] = private_to
    if embedding is not None:
        spans, matrix = embedding
        vectors = [portable.encode_vector(v) for v in matrix]
        record["embedding"] = {"spans": [list(s) for s in spans], "vectors": vectors}
    return record


def _behavior_records(engine, writer: _JsonWriter, exported: set[int] | None) -> dict:
    """Recalls (their context and uses) and feedback from behavior.db; with filters, only what concerns the
    exported memories."""
    counts = {"recalls": 0, "feedback": 0}
    behavior = engine.existing_behavior()
    if behavior is None:
        return counts
    for time, query, k, results, agent, protocol, session, project, workspace, base_ranks, uses in sql.behavior_rows(
        behavior.conn, "recalls"
    ):
        ids = json.loads(results)
        ranks = None if base_ranks is None else json.loads(base_ranks)
        if exported is not None:
            kept = [n for n, i in enumerate(ids) if i in exported]  # base ranks stay parallel to the results
            if not kept:
                continue
            ids, ranks = [ids[n] for n in kept], None if ranks is None else [ranks[n] for n in kept]
        used = [{"time": t, "memory_id": m, "kind": kind, "by_id": by if exported is None or by in exported else None}
                for t, m, kind, by in uses if m in ids]  # fmt: skip
        writer.write({"type": "recall", "time": time, "query": query, "k": k, "results": ids, "agent": agent,
                      "protocol": protocol, "session": session, "project": project, "workspace": workspace,
                      "base_ranks": ranks, "uses": used})  # fmt: skip
        counts["recalls"] += 1
    for time, memory_id, helpful, query, agent, protocol, recall_time in sql.behavior_rows(behavior.conn, "feedback"):
        if exported is not None and memory_id not in exported:
            continue
        writer.write({"type": "feedback", "time": time, "memory_id": memory_id, "helpful": bool(helpful),
                      "query": query, "agent": agent, "protocol": protocol, "recall_time": recall_time})  # fmt: skip
        counts["feedback"] += 1
    return counts


def _learned_records(engine, filtered: bool) -> list[dict]:
    """The learner's state (behavior.db's `learned`), one record per name. A filtered export carries only the
    user's settings: the rest is derived from every memory and behaviour row, those not exported among them."""
    behavior = engine.existing_behavior()
    if behavior is None:
        return []
    rows = sql.learned_rows(behavior.conn, KEPT_LEARNED if filtered else None)
    return [{"type": "learned", "name": n, "state": json.loads(s), "updated_at": t} for n, s, t in rows]


# -- Markdown --------------------------------------------------------------------------------------------------------
def export_markdown(
    engine, folder: Path, *, selection: Selection = Selection(), progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> dict:  # fmt: skip
    """One readable file per project in `folder`, its memories under their cluster's label (current versions;
    an updated memory notes how many earlier versions it has). Returns {file name: memories}.

    The folder is made 0700 if new, each file 0600 and written whole or not at all; never the store's own folder.
    """
    folder = markdown_folder(folder, engine.path)
    with engine.conn.read_snapshot():
        return _export_markdown(engine, folder, selection, progress, total)


def _export_markdown(engine, folder: Path, selection: Selection, progress, total) -> dict:
    ids = sql.chain_ids(engine.conn, selection.filter(), selection.ids)
    current = sql.current_by_project(engine.conn, ids.tolist())
    if total:
        total(sum(len(v) for v in current.values()))
    names: dict[str, str] = {}
    for project in sorted(current):
        names[project] = _file_name(project, names.values())
    targets = {project: safe_target(folder / name, engine.path) for project, name in names.items()}  # all, first
    written: dict[str, int] = {}
    for project, project_ids in sorted(current.items()):
        with private_file(targets[project]) as out:
            count = f"{len(project_ids)} {'memory' if len(project_ids) == 1 else 'memories'}"
            out.write(f"# {project}\n\nExported from slm {__version__} on {validation.now_utc()}: {count}.\n")
            _write_sections(engine, out, project_ids, progress)
        written[names[project]] = len(project_ids)
    return written


def _write_sections(engine, out: TextIO, ids: list[int], progress: Progress | None) -> None:
    labels = sql.cluster_labels(engine.conn, ids)
    ordered = sorted(ids, key=lambda i: (labels.get(i) is None, labels.get(i) or "", i))
    heading = object()
    for start in range(0, len(ordered), PAGE):
        page = ordered[start : start + PAGE]
        versions = sql.earlier_version_counts(engine.conn, page)
        for row in engine.repo.get_many(page):
            label = labels.get(row.id) or "Not clustered"
            if label != heading:
                out.write(f"\n## {label}\n")
                heading = label
            out.write(_section(row, versions.get(row.id, 0)))
        if progress:
            progress(len(page))


def _section(row, earlier: int) -> str:
    when = (row.event_time or row.created_at).replace("T", " ").rstrip("Z")
    facts = [f"kind: {row.kind}"] + ([f"tags: {', '.join(row.tags)}"] if row.tags else [])
    facts += [f"session: {row.session}"] if row.session else []
    if earlier:
        facts.append(f"replaces {earlier} earlier version{'s' if earlier > 1 else ''}")
    return f"\n### {when} · {row.agent} · #{row.id}\n\n_{' · '.join(facts)}_\n\n{row.content}\n"


def _file_name(project: str, taken: Iterable[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", project).strip("-.") or "project"
    name, n, taken = f"{stem}.md", 2, set(taken)
    while name in taken:
        name, n = f"{stem}-{n}.md", n + 1
    return name


# -- where an export is written ----------------------------------------------------------------------------------------
def store_files(db_path: Path) -> list[Path]:
    """The files of a store an export must never replace: the database and its journals, the behaviour database
    and its journals, the erasure key; beside the path as given and beside the file it links to."""
    found: dict[Path, None] = {}
    for db in (db_path.expanduser(), db_path.expanduser().resolve()):
        for base in (db, behavior_path(db)):
            for suffix in ("", "-wal", "-shm", "-journal"):
                found.setdefault(Path(f"{base}{suffix}"), None)
        found.setdefault(db.parent / KEY_FILE, None)
    return list(found)


def safe_target(target: Path, db_path: Path) -> Path:
    """The file an export to `target` writes (symlinks followed). Refused, before anything is written, when it is
    one of the store's own files — named, through a symlink or as a hard link — or any SQLite database."""
    resolved = target.expanduser().resolve()
    for own in store_files(db_path):
        if resolved == own.resolve() or _same_file(resolved, own):
            raise InvalidInput(
                f"{target} is one of the files of the store being exported ({own}): writing the export there "
                "would destroy it",
                "write the export to a file of its own, e.g. -o memories.jsonl (nothing was written)",
            )
    if resolved.is_file() and _is_database(resolved):
        raise InvalidInput(
            f"{target} is an SQLite database (another store or a backup?)",
            "name a new file: an export never overwrites a database (nothing was written)",
        )
    return resolved


def open_target(target: Path, db_path: Path) -> AbstractContextManager[TextIO]:
    """Where a JSONL or JSON export goes: a file written whole or not at all (`private_file`); a pipe or a device
    (`/dev/null`) is written as a stream, as it cannot be replaced."""
    path = safe_target(target, db_path)
    if path.is_dir():
        raise InvalidInput(f"{target} is a folder", "name a file to write, or - for standard output")
    if path.exists() and not path.is_file():
        return path.open("w", encoding="utf-8")
    if not path.parent.is_dir():
        raise InvalidInput(f"the folder {path.parent} does not exist", "create it first, or name a file in another")
    return private_file(path)


def check_stream(stream: TextIO, db_path: Path) -> None:
    """Refuse standard output redirected into one of the store's files (`slm export >> memory.db`)."""
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (a test's buffer): nothing to compare
        return
    for own in store_files(db_path):
        with suppress(OSError):
            if (own.stat().st_dev, own.stat().st_ino) == (info.st_dev, info.st_ino):
                raise InvalidInput(
                    f"standard output goes to one of the files of the store being exported ({own}): writing the "
                    "export there would destroy it",
                    "redirect the export to a file of its own, or use -o FILE",
                )


@contextmanager
def private_file(path: Path) -> Iterator[TextIO]:
    """Write `path` whole or not at all: into a new temporary file beside it, 0600 whatever the umask, renamed over
    `path` only once complete and on disk. A failed or interrupted export leaves an existing file as it was."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), PRIVATE_FILE)
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def markdown_folder(folder: Path, db_path: Path) -> Path:
    """The folder a Markdown export writes, created 0700 (with any missing parents) if new. Never the store's own
    folder: the files would sit among the store's, and outlive an erasure of the memories they copy."""
    resolved = folder.expanduser().resolve()
    for own in {db_path.expanduser().parent, db_path.expanduser().resolve().parent}:
        if resolved == own.resolve() or _same_file(resolved, own):
            raise InvalidInput(
                f"{folder} is the folder of the store being exported ({db_path})",
                "export Markdown to a folder of its own, e.g. -o slm-notes (nothing was written)",
            )
    if resolved.exists() and not resolved.is_dir():
        raise InvalidInput(f"{folder} is a file", "name a folder for the Markdown files (one per project)")
    for missing in reversed([p for p in (resolved, *resolved.parents) if not p.exists()]):
        with suppress(FileExistsError):  # made meanwhile by someone else: theirs, left as it is
            missing.mkdir(mode=PRIVATE_FOLDER)
            missing.chmod(PRIVATE_FOLDER)  # mkdir's mode is cut by the umask
    return resolved


def _same_file(a: Path, b: Path) -> bool:
    """The same file under two names (a hard link, a symlink, another spelling of the path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (or cannot be looked at): not the same existing file
        return False


def _is_database(path: Path) -> bool:
    try:
        return health.has_sqlite_header(path)
    except OSError:
        return False
