"""`slm export`: memories (and optionally what was done with them) as JSONL, JSON or readable Markdown.

Records are read a page of ids at a time and written as they are made, so the memory an export needs does not
grow with the store beyond one int per exported memory (docs/benchmarks.md, "Export").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from slm import __version__
from slm.app import model_choice, portable, validation
from slm.errors import InvalidInput
from slm.storage import portable as sql
from slm.storage.connection import read_snapshot
from slm.storage.memories import MemoryFilter, MemoryRepository

PAGE = 500
FORMATS = ("jsonl", "json", "markdown")
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Selection:
    """Which memories an export holds: those whose current version passes every filter, with their history."""

    project: str | None = None
    agent: str | None = None
    since: str | None = None
    until: str | None = None

    @classmethod
    def of(cls, project=None, agent=None, since=None, until=None) -> Selection:
        return cls(
            None if project is None else validation.clean_name(project, "project", ""),
            None if agent is None else validation.clean_name(agent, "agent", ""),
            validation.parse_time(since, "since"),
            validation.parse_time(until, "until"),
        )

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def filter(self) -> MemoryFilter:
        return MemoryFilter(project=self.project, agent=self.agent, since=self.since, until=self.until)


def export(
    mem, out: TextIO, *, fmt: str = "jsonl", selection: Selection = Selection(), embeddings: bool = False,
    behavior: bool = False, progress: Progress | None = None, total: Callable[[int], None] | None = None,
) -> dict:  # fmt: skip
    """Write the export to `out` (JSONL or JSON); returns the counts written, as the end line holds them."""
    if fmt not in ("jsonl", "json"):
        raise InvalidInput(f"unknown export format {fmt!r}", f"one of {list(FORMATS)} (markdown writes a folder)")
    with read_snapshot(mem.conn):
        return _export(mem, out, fmt, selection, embeddings, behavior, progress, total)


def _export(mem, out: TextIO, fmt, selection: Selection, embeddings, behavior, progress, total) -> dict:
    ids = sql.chain_ids(mem.conn, selection.filter())
    if total:
        total(len(ids))
    model = model_choice.identity(mem.conn)
    head = portable.header(validation.now_utc(), model, selection.as_dict(), embeddings and model is not None, behavior)
    counts = {"memories": 0}
    writer = _JsonWriter(out, as_array=fmt == "json")
    writer.write(head)
    for record in _memory_records(mem.conn, ids, model["dim"] if embeddings and model else None, progress):
        writer.write(record)
        counts["memories"] += 1
    if behavior:
        counts |= _behavior_records(mem, writer, None if not selection.as_dict() else set(ids.tolist()))
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


def _memory_records(conn, ids, dim: int | None, progress: Progress | None) -> Iterator[dict]:
    repo = MemoryRepository(conn)
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE].tolist()
        rows = repo.get_many(page)
        validity, trust, zones = sql.validity(conn, page), sql.trust_rows(conn, page), sql.zones(conn, page)
        links = sql.links(conn, page)
        vectors = sql.embeddings(conn, page, dim) if dim else {}
        for row in rows:
            yield _record(row, validity[row.id], trust.get(row.id), zones.get(row.id), links.get(row.id, ()),
                          vectors.get(row.id))  # fmt: skip
        if progress:
            progress(len(page))


def _record(row, validity, trust, zone, links, embedding) -> dict:
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
    if embedding is not None:
        spans, matrix = embedding
        vectors = [portable.encode_vector(v) for v in matrix]
        record["embedding"] = {"spans": [list(s) for s in spans], "vectors": vectors}
    return record


def _behavior_records(mem, writer: _JsonWriter, exported: set[int] | None) -> dict:
    """Recalls and feedback from behavior.db; with filters, only what concerns the exported memories."""
    counts = {"recalls": 0, "feedback": 0}
    behavior = mem.existing_behavior()
    if behavior is None:
        return counts
    for time, query, k, results, agent, protocol in sql.behavior_rows(behavior.conn, "recalls"):
        ids = json.loads(results)
        if exported is not None:
            ids = [i for i in ids if i in exported]
            if not ids:
                continue
        writer.write({"type": "recall", "time": time, "query": query, "k": k, "results": ids, "agent": agent,
                      "protocol": protocol})  # fmt: skip
        counts["recalls"] += 1
    for time, memory_id, helpful, query, agent, protocol in sql.behavior_rows(behavior.conn, "feedback"):
        if exported is not None and memory_id not in exported:
            continue
        writer.write({"type": "feedback", "time": time, "memory_id": memory_id, "helpful": bool(helpful),
                      "query": query, "agent": agent, "protocol": protocol})  # fmt: skip
        counts["feedback"] += 1
    return counts


# -- Markdown --------------------------------------------------------------------------------------------------------
def export_markdown(
    mem, folder: Path, *, selection: Selection = Selection(), progress: Progress | None = None,
    total: Callable[[int], None] | None = None,
) -> dict:  # fmt: skip
    """One readable file per project in `folder`, its memories under their cluster's label (current versions;
    an updated memory notes how many earlier versions it has). Returns {file name: memories}."""
    folder.mkdir(parents=True, exist_ok=True)
    with read_snapshot(mem.conn):
        return _export_markdown(mem, folder, selection, progress, total)


def _export_markdown(mem, folder: Path, selection: Selection, progress, total) -> dict:
    ids = sql.chain_ids(mem.conn, selection.filter())
    current = sql.current_by_project(mem.conn, ids.tolist())
    if total:
        total(sum(len(v) for v in current.values()))
    written: dict[str, int] = {}
    for project, project_ids in sorted(current.items()):
        name = _file_name(project, written)
        with (folder / name).open("w", encoding="utf-8") as out:
            count = f"{len(project_ids)} {'memory' if len(project_ids) == 1 else 'memories'}"
            out.write(f"# {project}\n\nExported from slm {__version__} on {validation.now_utc()}: {count}.\n")
            _write_sections(mem, out, project_ids, progress)
        written[name] = len(project_ids)
    return written


def _write_sections(mem, out: TextIO, ids: list[int], progress: Progress | None) -> None:
    labels = sql.cluster_labels(mem.conn, ids)
    ordered = sorted(ids, key=lambda i: (labels.get(i) is None, labels.get(i) or "", i))
    heading = object()
    for start in range(0, len(ordered), PAGE):
        page = ordered[start : start + PAGE]
        versions = sql.earlier_version_counts(mem.conn, page)
        for row in mem.repo.get_many(page):
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
    if earlier:
        facts.append(f"replaces {earlier} earlier version{'s' if earlier > 1 else ''}")
    return f"\n### {when} · {row.agent} · #{row.id}\n\n_{' · '.join(facts)}_\n\n{row.content}\n"


def _file_name(project: str, taken: dict) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", project).strip("-.") or "project"
    name, n = f"{stem}.md", 2
    while name in taken:
        name, n = f"{stem}-{n}.md", n + 1
    return name
