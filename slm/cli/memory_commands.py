"""The memory verbs: `slm remember`, `update`, `recall`, `list`, `show`, `forget` and `events`.

`recall` takes its options from the one declaration in `slm.core.recall_options`, which the MCP face shares.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from slm import validation
from slm.cli import output as out
from slm.cli.shared import (
    agent_option,
    answer,
    db_option,
    handles_errors,
    json_option,
    listed,
    memory_id_argument,
    memory_ids,
    open_store,
    project_option,
    recall_option,
    session_option,
    since_option,
    tags_option,
    until_option,
)
from slm.core import recall_options as options
from slm.errors import InvalidInput

if TYPE_CHECKING:
    from pathlib import Path

    from slm.core.memory import Memory, Stored


@click.command()
@click.argument("text", required=False, help="The memory; omit it or pass - to read standard input.")
@click.option("--project", "-p", help="Project it belongs to (default: this folder's repository; `slm project`).")
@click.option("--agent", "-a", help="Who wrote it (default: user).")
@click.option("--tag", "-t", "tags", multiple=True, callback=listed, help="A tag (repeatable).")
@click.option("--time", help="When it happened or was said (ISO-8601).")
@click.option("--kind", help="note (the default), decision, fact, preference, …")
@click.option("--meta", help="Extra data as a JSON object, e.g. '{\"pr\": 42}'.")
@click.option("--session", help='The conversation or work session it was said in (default: a "session" in --meta).')
@click.option("--private", is_flag=True, help="On a team's store: no member's agent will see it, only you.")
@db_option
@json_option
@handles_errors
def remember(
    text: str | None,
    project: str | None,
    agent: str | None,
    tags: list[str] | None,
    time: str | None,
    kind: str | None,
    meta: str | None,
    session: str | None,
    private: bool,
    db: Path | None,
    as_json: bool,
) -> None:
    """Store a memory (exact duplicates in a project are stored once)."""
    content = _read_text(text)

    def store(mem: Memory) -> tuple[Stored, list[dict], str | None, str]:
        inferred = _project_here(mem) if project is None else None
        stored = mem.remember(
            content, project=project if project is not None else inferred, agent=agent, tags=tags, time=time, kind=kind,
            meta=_parse_meta(meta), session=session, private=private,
        )  # fmt: skip
        _written(mem, stored)
        disagreements = [] if as_json or stored.duplicate else mem.contradictions(memory_id=stored)
        return stored, disagreements, inferred, mem.get(int(stored)).project

    answer(db, as_json, store, _show_remembered, to_json=lambda done: _stored_json(done[0]) | {"project": done[3]},
           create=True)  # fmt: skip


def _project_here(mem: Memory) -> str | None:
    """The project of the folder the command runs in (its repository's; `slm project`); None when the folder is
    gone, and the store's default then."""
    from pathlib import Path

    try:
        folder = Path.cwd()
    except OSError:
        return None
    return mem.project_for(folder)


def _show_remembered(done: tuple[Stored, list[dict], str | None, str]) -> None:
    stored, disagreements, inferred, _ = done
    _show_stored(stored)
    if inferred is not None and not stored.duplicate:
        out.note(f"in project {inferred} (this folder's; --project names another)")
    for found in disagreements:
        others = ", ".join(f"#{c['memory_id']}" for c in found["claims"] if c["memory_id"] != stored)
        out.note(
            f"it disagrees with {others} on {found['subject']} · {found['attribute']}: "
            f"slm contradictions show {found['id']}"
        )


@click.command()
@click.argument("memory_id", metavar="ID", type=click.IntRange(1, validation.MAX_ID), help="The memory to update.")
@click.argument("text", required=False, help="The new text; omit it or pass - to read standard input.")
@click.option("--agent", "-a", help="Who made the change (default: user).")
@db_option
@json_option
@handles_errors
def update(memory_id: int, text: str | None, agent: str | None, db: Path | None, as_json: bool) -> None:
    """Replace a memory's text with a new version; the old one is kept as superseded history."""
    content = _read_text(text)
    answer(
        db,
        as_json,
        lambda mem: _written(mem, mem.update(memory_id, content, agent=agent)),
        lambda stored: _show_stored(stored, f"#{memory_id} is now"),
        to_json=_stored_json,
    )


@click.command()
@click.argument("memory_id", metavar="ID", type=click.IntRange(1, validation.MAX_ID), help="The memory to tag.")
@click.option("--add", "-t", "add", multiple=True, callback=listed, help="A tag to add (repeatable).")
@click.option("--remove", "-r", "remove", multiple=True, callback=listed, help="A tag to remove (repeatable).")
@click.option("--agent", "-a", help="Who made the change (default: user).")
@db_option
@json_option
@handles_errors
def tag(memory_id: int, add: list[str], remove: list[str], agent: str | None, db: Path | None, as_json: bool) -> None:
    """Add or remove tags of a memory, in place: tags label it, so no new version is written."""
    answer(
        db,
        as_json,
        lambda mem: mem.tag(memory_id, add=add, remove=remove, agent=agent),
        lambda tags: out.plain(f"#{memory_id} tags: {', '.join(tags) or 'none'}"),
        to_json=lambda tags: {"id": memory_id, "tags": list(tags)},
    )


def _written(mem: Memory, stored: Stored) -> Stored:
    """A write is when the lifecycle takes a step, if one is due."""
    mem.step_lifecycle_if_due()
    return stored


def _stored_json(stored: Stored) -> dict:
    return {"id": int(stored), "duplicate": stored.duplicate}


def _show_stored(stored: Stored, verb: str = "remembered") -> None:
    if stored.duplicate:
        out.info(f"already stored as [cyan]#{stored}[/]")
    else:
        out.info(f"{verb} [cyan]#{stored}[/]")


def _read_text(text: str | None) -> str | bytes:
    if text not in (None, "-"):
        return text
    if sys.stdin is None or sys.stdin.isatty():
        raise InvalidInput("no text given", 'pass it as an argument (slm remember "…") or pipe it in')
    return sys.stdin.buffer.read()


def _parse_meta(meta: str | None) -> dict | None:
    if meta is None:
        return None
    try:
        return json.loads(meta)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"--meta is not valid JSON: {err}", "write a JSON object, e.g. '{\"pr\": 42}'") from err


@click.command()
@click.argument("query", help=options.QUERY.help)
@recall_option(options.K, "--limit", "-k", "-n")
@project_option
@agent_option
@tags_option
@since_option
@until_option
@recall_option(options.NOW)
@recall_option(options.AS_OF, "--as-of")
@click.option("--explain", is_flag=True, help="Show what ranked each hit: channel ranks and feature contributions.")
@click.option("--no-learning", is_flag=True, help="Rank as without what recall learned of you (`slm learn`).")
@recall_option(options.QUARANTINED, "--include-quarantined")
@recall_option(options.ARCHIVED, "--include-archived")
@recall_option(options.CHANNELS, "--channel", "-c")
@db_option
@json_option
@handles_errors
def recall(
    query: str,
    k: int,
    project: str | None,
    agent: str | None,
    tags: list[str] | None,
    since: str | None,
    until: str | None,
    now: str | None,
    as_of: str | None,
    explain: bool,
    no_learning: bool,
    quarantined: bool,
    archived: bool,
    channels: list[str] | None,
    db: Path | None,
    as_json: bool,
) -> None:
    """Find the memories that best answer a question (keyword and vector candidates with their conversation
    neighbours, ranked by the learned ranker; weighted by trust and the lifecycle).

    Once recall has learned you from your agents' use and that beats recall without it, the best results are
    re-ranked by it (`slm learn status`; --no-learning: as without it)."""
    answer(
        db,
        as_json,
        lambda mem: mem.recall(
            query,
            k,
            project=project,
            agent=agent,
            tags=tags,
            since=since,
            until=until,
            now=now,
            as_of=as_of,
            quarantined=quarantined,
            archived=archived,
            channels=channels,
            learning=not no_learning,
        ),
        lambda hits: out.hits_table(hits, explain),
        to_json=lambda hits: [hit.to_dict() for hit in hits],
    )


@click.command("list")
@click.option("--limit", "-n", default=20, help="How many memories.")
@click.option("--offset", default=0, help="Skip this many (for paging).")
@project_option
@agent_option
@tags_option
@since_option
@until_option
@session_option
@db_option
@json_option
@handles_errors
def list_memories(
    limit: int,
    offset: int,
    project: str | None,
    agent: str | None,
    tags: list[str] | None,
    since: str | None,
    until: str | None,
    session: str | None,
    db: Path | None,
    as_json: bool,
) -> None:
    """List memories, newest first."""
    answer(
        db,
        as_json,
        lambda mem: mem.list(
            limit=limit,
            offset=offset,
            project=project,
            agent=agent,
            tags=tags,
            since=since,
            until=until,
            session=session,
        ),
        out.rows_table,
    )


@click.command()
@memory_id_argument
@db_option
@json_option
@handles_errors
def show(memory_id: int, db: Path | None, as_json: bool) -> None:
    """Show one memory in full, with its trust and why, its place in the lifecycle, and its claims in time."""
    answer(
        db,
        as_json,
        lambda mem: (
            mem.get(memory_id),
            mem.memory_trust(memory_id),
            mem.memory_lifecycle(memory_id),
            mem.memory_claims(memory_id),
        ),
        lambda found: out.memory_detail(*found),
        to_json=_in_full_json,
    )


def _in_full_json(found: tuple) -> dict:
    row, trust, life, claims = found
    return {**asdict(row), "trust": trust, "lifecycle": life, "validity": claims}


@click.command()
@memory_ids("Ids of the memories to delete.")
@db_option
@json_option
@handles_errors
def forget(memory_ids: list[int], db: Path | None, as_json: bool) -> None:
    """Delete memories (with the earlier versions they replaced): rows, tags, keyword entries and vectors."""
    answer(
        db,
        as_json,
        lambda mem: mem.forget_many(memory_ids),  # one transaction: all of them go, or none
        lambda forgotten: out.info(f"forgot {out.ids(forgotten)}"),
        to_json=lambda forgotten: {"forgotten": forgotten},
    )


@click.command()
@click.option("--limit", "-n", default=50, help="How many of the newest events to list.")
@click.option("--agent", "-a", help="Only events of this agent.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as any process commits them.")
@db_option
@json_option
@handles_errors
def events(limit: int, agent: str | None, follow: bool, db: Path | None, as_json: bool) -> None:
    """The event log: memories created, updated and deleted, feedback, agents connecting. JSON lines with --follow."""
    from slm.core.event_feed import EventFeed

    with open_store(db) as mem:  # not `answer`: --follow keeps rendering while the store is open
        feed = EventFeed(mem)
        listed, cursors = feed.latest(limit=limit, agent=agent)
        if as_json and not follow:
            out.emit_json([e.to_dict() for e in listed])
            return
        for event in listed:
            out.event_line(event, as_json)
        if follow:
            try:
                for event in feed.follow(cursors, agent=agent):
                    out.event_line(event, as_json)
            except KeyboardInterrupt:
                return
