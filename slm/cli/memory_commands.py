"""The memory verbs: `slm remember`, `update`, `recall`, `list`, `show`, `forget` and `events`.

`recall` takes its options from the one declaration in `slm.core.recall_options`, which the MCP face shares.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from slm import validation
from slm.cli import output as out
from slm.cli.shared import (
    Agent,
    Db,
    Json,
    MemoryId,
    Project,
    Session,
    Since,
    Tags,
    Until,
    answer,
    handles_errors,
    open_store,
    recall_option,
)
from slm.core import recall_options as options
from slm.errors import InvalidInput

if TYPE_CHECKING:
    from slm.core.memory import Memory, Stored

commands = typer.Typer()  # added to `slm` unnamed: these are top-level commands


@commands.command()
@handles_errors
def remember(
    text: Annotated[str | None, typer.Argument(help="The memory; omit it or pass - to read standard input.")] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project it belongs to.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Who wrote it (default: user).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="A tag (repeatable).")] = None,
    time: Annotated[str | None, typer.Option(help="When it happened or was said (ISO-8601).")] = None,
    kind: Annotated[str | None, typer.Option(help="note (the default), decision, fact, preference, …")] = None,
    meta: Annotated[str | None, typer.Option(help="Extra data as a JSON object, e.g. '{\"pr\": 42}'.")] = None,
    session: Annotated[
        str | None,
        typer.Option(help='The conversation or work session it was said in (default: a "session" in --meta).'),
    ] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Store a memory (exact duplicates in a project are stored once)."""
    content = _read_text(text)

    def store(mem: Memory) -> tuple[Stored, list[dict]]:
        stored = mem.remember(
            content, project=project, agent=agent, tags=tag, time=time, kind=kind, meta=_parse_meta(meta),
            session=session,
        )  # fmt: skip
        _written(mem, stored)
        return stored, [] if as_json or stored.duplicate else mem.contradictions(memory_id=stored)

    answer(db, as_json, store, _show_remembered, to_json=lambda done: _stored_json(done[0]), create=True)


def _show_remembered(done: tuple[Stored, list[dict]]) -> None:
    stored, disagreements = done
    _show_stored(stored)
    for found in disagreements:
        others = ", ".join(f"#{c['memory_id']}" for c in found["claims"] if c["memory_id"] != stored)
        out.note(
            f"it disagrees with {others} on {found['subject']} · {found['attribute']}: "
            f"slm contradictions show {found['id']}"
        )


@commands.command()
@handles_errors
def update(
    memory_id: Annotated[int, typer.Argument(metavar="ID", help="The memory to update.", min=1, max=validation.MAX_ID)],
    text: Annotated[str | None, typer.Argument(help="The new text; omit it or pass - to read standard input.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Who made the change (default: user).")] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Replace a memory's text with a new version; the old one is kept as superseded history."""
    content = _read_text(text)
    answer(
        db,
        as_json,
        lambda mem: _written(mem, mem.update(memory_id, content, agent=agent)),
        lambda stored: _show_stored(stored, f"#{memory_id} is now"),
        to_json=_stored_json,
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


Query = Annotated[options.QUERY.type, typer.Argument(help=options.QUERY.help)]
Limit = recall_option(options.K, "--limit", "-k", "-n")
Now = recall_option(options.NOW)
AsOf = recall_option(options.AS_OF, "--as-of")
Quarantined = recall_option(options.QUARANTINED, "--include-quarantined")
Archived = recall_option(options.ARCHIVED, "--include-archived")
Channels = recall_option(options.CHANNELS, "--channel", "-c")


@commands.command()
@handles_errors
def recall(
    query: Query,
    k: Limit = options.K.default,
    project: Project = options.PROJECT.default,
    agent: Agent = options.AGENT.default,
    tags: Tags = options.TAGS.default,
    since: Since = options.SINCE.default,
    until: Until = options.UNTIL.default,
    now: Now = options.NOW.default,
    as_of: AsOf = options.AS_OF.default,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show what ranked each hit: channel ranks and feature contributions.")
    ] = False,
    quarantined: Quarantined = options.QUARANTINED.default,
    archived: Archived = options.ARCHIVED.default,
    channels: Channels = options.CHANNELS.default,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Find the memories that best answer a question (keyword and vector candidates with their conversation
    neighbours, ranked by the learned ranker; weighted by trust and the lifecycle)."""
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
        ),
        lambda hits: out.hits_table(hits, explain),
        to_json=lambda hits: [hit.to_dict() for hit in hits],
    )


@commands.command("list")
@handles_errors
def list_memories(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many memories.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many (for paging).")] = 0,
    project: Project = None,
    agent: Agent = None,
    tag: Tags = None,
    since: Since = None,
    until: Until = None,
    session: Session = None,
    db: Db = None,
    as_json: Json = False,
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
            tags=tag,
            since=since,
            until=until,
            session=session,
        ),
        out.rows_table,
    )


@commands.command()
@handles_errors
def show(memory_id: MemoryId, db: Db = None, as_json: Json = False) -> None:
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


@commands.command()
@handles_errors
def forget(
    memory_ids: Annotated[
        list[int], typer.Argument(metavar="ID", help="Ids of the memories to delete.", min=1, max=validation.MAX_ID)
    ],
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Delete memories (with the earlier versions they replaced): rows, tags, keyword entries and vectors."""
    answer(
        db,
        as_json,
        lambda mem: mem.forget_many(memory_ids),  # one transaction: all of them go, or none
        lambda forgotten: out.info(f"forgot {out.ids(forgotten)}"),
        to_json=lambda forgotten: {"forgotten": forgotten},
    )


@commands.command()
@handles_errors
def events(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many of the newest events to list.")] = 50,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Only events of this agent.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events as any process commits them.")
    ] = False,
    db: Db = None,
    as_json: Json = False,
) -> None:
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
