"""The `slm` command line. Heavy modules (numpy, llama.cpp, the engine) are imported inside commands."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from slm import validation
from slm.cli import output as out
from slm.errors import Forbidden, InvalidInput, NotFound, SlmError

try:  # recent typer vendors click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import UsageError


class _Group(TyperGroup):
    """With --json, a usage error (bad option value, missing argument) is a JSON object too, so programs can parse
    every failure; without it, typer prints its usual usage message."""

    def invoke(self, ctx: typer.Context):
        wants_json = "--json" in ctx.args
        try:
            return super().invoke(ctx)
        except UsageError as err:
            if not wants_json:
                raise
            out.error(err.format_message(), "see `slm --help` and `slm COMMAND --help`", True)
            raise typer.Exit(err.exit_code) from None


app = typer.Typer(
    name="slm",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Local-first memory for AI agents: remember, recall, forget — on your machine, no cloud.",
)
model_app = typer.Typer(help="The embedding model: show it, provision it, re-embed with another.")
app.add_typer(model_app, name="model")
mcp_app = typer.Typer(help="Serve memory to coding assistants over MCP (stdio by default), and set clients up.")
app.add_typer(mcp_app, name="mcp")
agent_app = typer.Typer(help="Authenticated agents: tokens for MCP servers, permissions, revoke, rename.")
app.add_typer(agent_app, name="agent")
trust_app = typer.Typer(help="Trust in agents and memories: scores, their reasons, the quarantine.")
app.add_typer(trust_app, name="trust")
graph_app = typer.Typer(help="The knowledge graph: entities, links between memories, Leiden clusters.")
app.add_typer(graph_app, name="graph")
lifecycle_app = typer.Typer(help="The memory lifecycle: zones from use (active, warm, cold, archived) and its steps.")
app.add_typer(lifecycle_app, name="lifecycle")
contradictions_app = typer.Typer(help="Claims that disagree (found by the sheaf check on write): list, show, resolve.")
app.add_typer(contradictions_app, name="contradictions")

Db = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $SLM_HOME/memory.db).", envvar="SLM_DB", show_default=False),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of tables.")]
Project = Annotated[str | None, typer.Option("--project", "-p", help="Only this project.")]
Agent = Annotated[str | None, typer.Option("--agent", "-a", help="Only memories written by this agent.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Only memories with this tag (repeatable).")]
Since = Annotated[str | None, typer.Option(help="Only memories from this time on (ISO-8601).")]
Until = Annotated[str | None, typer.Option(help="Only memories up to this time (ISO-8601).")]
Session = Annotated[str | None, typer.Option(help="Only memories said in this session.")]


def handles_errors(command: Callable) -> Callable:
    """Turn slm's errors, and the OS's or SQLite's, into a message with a hint (or a JSON object) and exit code 2
    (bad input, not found, not allowed) or 1 (anything else): a user mistake never shows a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        as_json = kwargs.get("as_json", False)
        try:
            return command(*args, **kwargs)
        except SlmError as err:  # every error comes with a next step, even when the raiser named none
            out.error(err.message, err.hint or "add --help to the command to see what it accepts", as_json)
            raise typer.Exit(2 if isinstance(err, (InvalidInput, NotFound, Forbidden)) else 1) from None
        except OSError as err:  # e.g. --db in a folder that cannot be created or written
            where = f"{err.filename}: " if err.filename else ""
            out.error(f"{where}{err.strerror or err}", "check the path and its permissions (see `slm doctor`)", as_json)
            raise typer.Exit(1) from None
        except Exception as err:
            apsw = sys.modules.get("apsw")  # only an imported apsw can have raised; never import it here
            if apsw is None or not isinstance(err, apsw.Error):
                raise
            hint = (
                "another process is writing to it; try again"
                if isinstance(err, apsw.BusyError)
                else "run `slm doctor`; restore a backup if the file is damaged"
            )
            out.error(f"SQLite error: {err}", hint, as_json)
            raise typer.Exit(1) from None

    return wrapper


def _open(db: Path | None, *, create: bool = False):
    """Only `remember` creates a database: a mistyped --db elsewhere is an error, not a new empty store."""
    from slm.core.memory import Memory

    mem = Memory.open(db, create=create, protocol="cli")
    for receipt in mem.finished_erasures:  # opening finished an erasure a crash had interrupted: say so
        out.note(f"finished an interrupted erasure; signed receipt: {receipt['path']}")
    if mem.erasure_problem is not None:
        out.plain(f"warning: an interrupted erasure could not be finished: {mem.erasure_problem}", "yellow")
        out.note("what it erased is deleted, but may still be in the files: run `slm doctor`")
    return mem


@app.command()
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
    with _open(db, create=True) as mem:
        memory_id = mem.remember(
            content, project=project, agent=agent, tags=tag, time=time, kind=kind, meta=_parse_meta(meta),
            session=session,
        )  # fmt: skip
        mem.step_lifecycle_if_due()
        disagreements = [] if as_json or memory_id.duplicate else mem.contradictions(memory_id=memory_id)
    _report_stored(memory_id, as_json)
    for found in disagreements:
        others = ", ".join(f"#{c['memory_id']}" for c in found["claims"] if c["memory_id"] != memory_id)
        out.note(
            f"it disagrees with {others} on {found['subject']} · {found['attribute']}: "
            f"slm contradictions show {found['id']}"
        )


def _report_stored(stored, as_json: bool, verb: str = "remembered") -> None:
    if as_json:
        out.emit_json({"id": int(stored), "duplicate": stored.duplicate})
    elif stored.duplicate:
        out.info(f"already stored as [cyan]#{stored}[/]")
    else:
        out.info(f"{verb} [cyan]#{stored}[/]")


@app.command()
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
    with _open(db) as mem:
        stored = mem.update(memory_id, content, agent=agent)
        mem.step_lifecycle_if_due()
    _report_stored(stored, as_json, f"#{memory_id} is now")


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


@app.command()
@handles_errors
def recall(
    query: Annotated[str, typer.Argument(help="What you want to remember, in your own words.")],
    k: Annotated[int, typer.Option("--limit", "-k", "-n", help="How many memories.")] = 10,
    project: Project = None,
    agent: Agent = None,
    tag: Tags = None,
    since: Since = None,
    until: Until = None,
    now: Annotated[str | None, typer.Option(help="The asker's time: later memories are left out.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="What held at this time (ISO-8601), superseded facts included.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show what ranked each hit: channel ranks and feature contributions.")
    ] = False,
    quarantined: Annotated[
        bool, typer.Option("--include-quarantined", help="Also return memories held in quarantine.")
    ] = False,
    archived: Annotated[
        bool, typer.Option("--include-archived", help="Also return memories the lifecycle archived (long unused).")
    ] = False,
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel",
            "-c",
            help="Fuse these channels (repeatable: keyword, vector, graph, temporal, fisher) by reciprocal rank "
            "instead of the learned ranking, for comparisons (docs/benchmarks.md).",
        ),
    ] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Find the memories that best answer a question (keyword and vector candidates with their conversation
    neighbours, ranked by the learned ranker; weighted by trust and the lifecycle)."""
    with _open(db) as mem:
        hits = mem.recall(
            query,
            k,
            project=project,
            agent=agent,
            tags=tag,
            since=since,
            until=until,
            now=now,
            channels=channel,
            quarantined=quarantined,
            archived=archived,
            as_of=as_of,
        )
    if as_json:
        out.emit_json([hit.to_dict() for hit in hits])
    else:
        out.hits_table(hits, explain)


@app.command("list")
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
    with _open(db) as mem:
        rows = mem.list(
            limit=limit, offset=offset, project=project, agent=agent, tags=tag, since=since, until=until,
            session=session,
        )  # fmt: skip
    if as_json:
        out.emit_json(rows)
    else:
        out.rows_table(rows)


@app.command()
@handles_errors
def show(
    memory_id: Annotated[int, typer.Argument(metavar="ID", help="The memory's id.", min=1, max=validation.MAX_ID)],
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Show one memory in full, with its trust and why, its place in the lifecycle, and its claims in time."""
    with _open(db) as mem:
        row, trust, life = mem.get(memory_id), mem.memory_trust(memory_id), mem.memory_lifecycle(memory_id)
        claims = mem.memory_claims(memory_id)
    if as_json:
        from dataclasses import asdict

        out.emit_json({**asdict(row), "trust": trust, "lifecycle": life, "validity": claims})
    else:
        out.memory_detail(row, trust, life, claims)


@app.command()
@handles_errors
def forget(
    memory_ids: Annotated[
        list[int], typer.Argument(metavar="ID", help="Ids of the memories to delete.", min=1, max=validation.MAX_ID)
    ],
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Delete memories (with the earlier versions they replaced): rows, tags, keyword entries and vectors."""
    with _open(db) as mem:
        forgotten = mem.forget_many(memory_ids)  # one transaction: all of them go, or none
    if as_json:
        out.emit_json({"forgotten": forgotten})
    else:
        out.info(f"forgot {', '.join(f'#{i}' for i in forgotten)}")


@app.command()
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

    with _open(db) as mem:
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


@app.command()
@handles_errors
def stats(db: Db = None, as_json: Json = False) -> None:
    """Counts by project, agent and kind; the model; the schema version; the file's size."""
    with _open(db) as mem:
        values = mem.stats()
    if as_json:
        out.emit_json(values)
    else:
        out.mapping("memory store", values)


@app.command()
@handles_errors
def doctor(
    db: Db = None,
    full: Annotated[
        bool, typer.Option("--full", help="Check every index against its table too (integrity_check; slower).")
    ] = False,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Rebuild the keyword index and vectors; finish interrupted erasures."),
    ] = False,
    as_json: Json = False,
) -> None:
    """Check the driver, extensions, model, recall ranker, the store's file, schema, permissions, keyword index,
    vectors, unfinished erasures and behavior.db, and say how to fix each; --repair fixes what can be rebuilt."""
    from slm import config
    from slm.cli import doctor as checkup

    path = Path(db).expanduser() if db else config.default_db_path()
    with out.spinner("checking…"):
        environment, store = checkup.environment_checks(), checkup.store_checks(path, full=full)
    repairs = None
    if repair:
        with out.spinner("repairing…"):
            repairs = checkup.repair(path, store)
            if any(r.ok for r in repairs):  # check the store again: the table shows what the repairs left
                store = checkup.store_checks(path, full=full)
    checks = environment + store
    ok = all(c.ok for c in checks)
    if as_json:
        out.emit_json({"ok": ok, "checks": checks} | ({} if repairs is None else {"repairs": repairs}))
    else:
        if repairs is not None:
            out.repairs_table(repairs)
        out.checks_table(checks)
    if not ok:
        raise typer.Exit(1)


@model_app.callback(invoke_without_command=True)
@handles_errors
def model_info(ctx: typer.Context, db: Db = None, as_json: Json = False) -> None:
    """Which embedding model this database uses."""
    if ctx.invoked_subcommand:
        return
    from slm import config

    with _open(db) as mem:
        store = mem.stats()
    values = {
        "database": store["path"],
        "model": store["model"],
        "dim": store["dim"],
        "memories": store["memories"],
        "models_dir": str(config.data_dir() / "models"),
    }
    if as_json:
        out.emit_json(values)
    else:
        out.mapping("embedding model", {**values, "model": values["model"] or "none yet (the default on first use)"})


@model_app.command("provision")
@handles_errors
def model_provision(as_json: Json = False) -> None:
    """Convert the default model (all-MiniLM-L6-v2) to GGUF and cache it; does nothing if already there."""
    from slm import config
    from slm.embedding.conversion import ensure_default_model

    with out.spinner("converting all-MiniLM-L6-v2 to GGUF…"):
        path = ensure_default_model(config.data_dir())
    if as_json:
        out.emit_json({"path": str(path), "bytes": path.stat().st_size})
    else:
        out.plain(f"default model ready: {path}")


@model_app.command("reindex")
@handles_errors
def model_reindex(
    model: Annotated[
        Path | None,
        typer.Option(
            help="GGUF embedding model to switch to (default: the bundled all-MiniLM-L6-v2).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Re-embed every memory with a model (to switch models, or after a model file changed)."""
    with _open(db) as mem, out.progress() as bar:
        task = bar.add_task("re-embedding", total=mem.repo.count())
        count = mem.reindex(model, progress=lambda n: bar.advance(task, n))
        store = mem.stats()
    if as_json:
        out.emit_json({"reindexed": count, "model": store["model"], "dim": store["dim"]})
    else:
        out.plain(f"re-embedded {count:,} memories with {store['model']} ({store['dim']}-d)")


AgentName = Annotated[str, typer.Argument(metavar="NAME", help="The agent's name.")]


@agent_app.command("add")
@handles_errors
def agent_add(name: AgentName, db: Db = None, as_json: Json = False) -> None:
    """Create an agent and print its secret token, once: start its MCP server with SLM_AGENT_TOKEN set to it."""
    with _open(db, create=True) as mem:
        agent, token = mem.add_agent(name)
    if as_json:
        out.emit_json({"agent": agent, "token": token})
        return
    out.plain(token)
    out.note(f"agent {agent.name!r} created: this token is shown once; slm keeps only its hash")
    out.note("use it as SLM_AGENT_TOKEN in this agent's MCP server config (`slm mcp config --client …`)")


@agent_app.command("list")
@handles_errors
def agent_list(db: Db = None, as_json: Json = False) -> None:
    """The agents, with when they were created or revoked and how many memories each wrote while authenticated."""
    with _open(db) as mem:
        agents = mem.list_agents()
    if as_json:
        out.emit_json(agents)
    else:
        out.agents_table(agents)


@agent_app.command("revoke")
@handles_errors
def agent_revoke(name: AgentName, db: Db = None, as_json: Json = False) -> None:
    """Stop an agent's token working, at once and in every process; its memories stay attributed to it."""
    with _open(db) as mem:
        agent = mem.revoke_agent(name)
    if as_json:
        out.emit_json(agent)
    else:
        out.plain(f"revoked {agent.name} ({agent.revoked_at})")


@agent_app.command("rename")
@handles_errors
def agent_rename(
    name: AgentName,
    new_name: Annotated[str, typer.Argument(metavar="NEW_NAME", help="Its new name.")],
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Rename an agent and the memories it wrote while authenticated (its token keeps working)."""
    with _open(db) as mem:
        agent = mem.rename_agent(name, new_name)
    if as_json:
        out.emit_json(agent)
    else:
        out.plain(f"{name} is now {agent.name}")


PERMISSIONS = ("edit-others",)  # update and forget memories other agents or the user wrote
Permission = Annotated[
    str, typer.Argument(metavar="PERMISSION", help="edit-others: update and forget memories others wrote.")
]


@agent_app.command("grant")
@handles_errors
def agent_grant(name: AgentName, permission: Permission, db: Db = None, as_json: Json = False) -> None:
    """Let an authenticated agent do more than change its own memories (edit-others: everyone's)."""
    _set_permission(name, permission, True, db, as_json)


@agent_app.command("deny")
@handles_errors
def agent_deny(name: AgentName, permission: Permission, db: Db = None, as_json: Json = False) -> None:
    """Take a permission back: the agent may again change only its own memories."""
    _set_permission(name, permission, False, db, as_json)


def _set_permission(name: str, permission: str, allowed: bool, db: Path | None, as_json: bool) -> None:
    if permission not in PERMISSIONS:
        raise InvalidInput(f"unknown permission {permission!r}", f"one of: {', '.join(PERMISSIONS)}")
    with _open(db) as mem:
        agent = mem.grant_agent(name, edit_others=allowed)
    if as_json:
        out.emit_json(agent)
    elif allowed:
        out.plain(f"{agent.name} may now update and forget memories others wrote")
    else:
        out.plain(f"{agent.name} may change only its own memories")


@trust_app.command("list")
@handles_errors
def trust_list(db: Db = None, as_json: Json = False) -> None:
    """Every agent identity's trust, least trusted first: authenticated agents, claimed names and the user."""
    with _open(db) as mem:
        report = mem.trust_report()
    if as_json:
        out.emit_json(report)
    else:
        out.trust_table(report)


@trust_app.command("explain")
@handles_errors
def trust_explain(
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="An agent's name.")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many of its newest signals to show.")] = 20,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Why an agent has its trust: its prior, its evidence by signal and its newest signals with their reasons."""
    with _open(db) as mem:
        explained = mem.explain_trust(agent, limit=limit)
    if as_json:
        out.emit_json(explained)
    else:
        for identity in explained:
            out.trust_explanation(identity)


@trust_app.command("quarantine")
@handles_errors
def trust_quarantine(db: Db = None, as_json: Json = False) -> None:
    """Memories held out of recall because their trust is too low: approve or reject each."""
    with _open(db) as mem:
        held = mem.quarantine()
    if as_json:
        out.emit_json([{"memory": row, "trust": trust} for row, trust in held])
    else:
        out.quarantine_table(held)


MemoryIds = Annotated[list[int], typer.Argument(metavar="ID", help="Memory ids.", min=1, max=validation.MAX_ID)]


@trust_app.command("approve")
@handles_errors
def trust_approve(memory_ids: MemoryIds, db: Db = None, as_json: Json = False) -> None:
    """Vouch for memories: trusted in full from now on (out of quarantine), and a good signal for their authors."""
    with _open(db) as mem:
        approved = mem.approve(memory_ids)
    if as_json:
        out.emit_json({"approved": approved})
    else:
        out.info(f"approved {', '.join(f'#{i}' for i in approved)}")


@trust_app.command("reject")
@handles_errors
def trust_reject(memory_ids: MemoryIds, db: Db = None, as_json: Json = False) -> None:
    """Reject memories as false or hostile: a strong signal against their authors, then they are deleted."""
    with _open(db) as mem:
        rejected = mem.reject(memory_ids)
    if as_json:
        out.emit_json({"rejected": rejected})
    else:
        out.info(f"rejected and deleted {', '.join(f'#{i}' for i in rejected)}")


@lifecycle_app.command("status")
@handles_errors
def lifecycle_status(db: Db = None, as_json: Json = False) -> None:
    """Memories per zone, the last step and whether one is due."""
    with _open(db) as mem:
        status = mem.lifecycle_status()
    if as_json:
        out.emit_json(status)
    else:
        out.lifecycle_status(status)


@lifecycle_app.command("run")
@handles_errors
def lifecycle_run(
    now: Annotated[str | None, typer.Option(help="Step to this time instead of now (ISO-8601).")] = None,
    seed: Annotated[int | None, typer.Option(help="Fix the store's noise seed from now on (default 0).", min=0)] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Run one lifecycle step now: fold in recent uses, move every memory, report the zones. Nothing is deleted."""
    if now is not None and (validation.parse_time(now, "--now") or "") > validation.now_utc():
        raise InvalidInput(
            f"--now {now} is in the future: memories still in use would drift out as if unused until then",
            "give a past time to replay, or leave --now out",
        )
    with _open(db) as mem, out.spinner("stepping…"):
        report = mem.lifecycle_step(now=now, seed=seed)
    if as_json:
        out.emit_json(report)
    else:
        out.lifecycle_report(report)


ContradictionStatus = Annotated[str, typer.Option(help="open, resolved, dismissed or all.")]
HowMany = Annotated[int, typer.Option("--limit", "-n", help="How many.")]
ContradictionId = Annotated[
    int, typer.Argument(metavar="ID", help="The contradiction's id.", min=1, max=validation.MAX_ID)
]


@contradictions_app.callback(invoke_without_command=True)
@handles_errors
def contradictions_default(
    ctx: typer.Context,
    project: Project = None,
    status: ContradictionStatus = "open",
    limit: HowMany = 50,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Open contradictions, newest first (the same as `slm contradictions list`)."""
    if ctx.invoked_subcommand is None:
        contradictions_list(project, status, limit, db, as_json)


@contradictions_app.command("list")
@handles_errors
def contradictions_list(
    project: Project = None,
    status: ContradictionStatus = "open",
    limit: HowMany = 50,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Contradictions, newest first: the subject and attribute, the values that disagree and who said them."""
    with _open(db) as mem:
        found = mem.contradictions(status=None if status == "all" else status, project=project, limit=limit)
    if as_json:
        out.emit_json(found)
    else:
        out.contradictions_table(found)


@contradictions_app.command("show")
@handles_errors
def contradictions_show(contradiction_id: ContradictionId, db: Db = None, as_json: Json = False) -> None:
    """One contradiction: each claim with its memory, author, time, trust and share of the disagreement."""
    with _open(db) as mem:
        found = mem.contradiction(contradiction_id)
    if as_json:
        out.emit_json(found)
    else:
        out.contradiction_detail(found)


@contradictions_app.command("resolve")
@handles_errors
def contradictions_resolve(
    contradiction_id: ContradictionId,
    keep: Annotated[
        int | None, typer.Option(help="The memory that is right: the others' claims become history.", min=1)
    ] = None,
    dismiss: Annotated[bool, typer.Option("--dismiss", help="Not a contradiction: the claims may all hold.")] = False,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Settle a contradiction: keep one memory's claim (the others are superseded by it) or dismiss it."""
    if (keep is None) == (not dismiss):
        raise InvalidInput("give either --keep MEMORY_ID or --dismiss", "see `slm contradictions show ID`")
    with _open(db) as mem:
        found = mem.resolve_contradiction(contradiction_id, keep=keep)
    if as_json:
        out.emit_json(found)
    else:
        out.contradiction_detail(found)


@graph_app.command("build")
@handles_errors
def graph_build(db: Db = None, as_json: Json = False) -> None:
    """Link memories stored before the graph existed, then rebuild the clusters (ids kept by overlap)."""
    with _open(db) as mem, out.spinner("clustering…"):
        report = mem.graph_build()
    if as_json:
        out.emit_json(report.to_dict())
    else:
        out.mapping("graph built", report.to_dict())


@graph_app.command("clusters")
@handles_errors
def graph_clusters(
    project: Project = None,
    refresh: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="Rebuild first if the clusters are stale.")
    ] = True,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """The clusters, largest first, with their labels and sub-clusters (built first if stale)."""
    with _open(db) as mem, out.spinner("clustering…"):
        found = mem.clusters(project=project, refresh=refresh)
    if as_json:
        out.emit_json(found)
    else:
        out.clusters_table(found)


@graph_app.command("show")
@handles_errors
def graph_show(
    cluster_id: Annotated[int, typer.Argument(metavar="CLUSTER", help="The cluster's id.", min=1)],
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many member memories to list.")] = 20,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """One cluster: label, size, sub-clusters, top entities and its newest memories."""
    with _open(db) as mem:
        found = mem.cluster(cluster_id, limit=limit)
    if as_json:
        out.emit_json(found)
    else:
        out.cluster_detail(found)


@graph_app.command("neighbors")
@handles_errors
def graph_neighbors(
    memory_id: Annotated[int, typer.Argument(metavar="ID", help="The memory's id.", min=1, max=validation.MAX_ID)],
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many neighbours.")] = 20,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """A memory's entities, cluster, and the memories linked to it (shared entities, similar, same session)."""
    with _open(db) as mem:
        found = mem.neighbors(memory_id, limit=limit)
    if as_json:
        out.emit_json(found)
    else:
        out.neighbors_view(found)


@mcp_app.callback(invoke_without_command=True)
@handles_errors
def mcp_serve(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP instead of stdio.")] = False,
    host: Annotated[str, typer.Option(help="Address to bind with --http (this machine only by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port for --http.", min=1, max=65535)] = 8765,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow --host other than loopback (a token is still required).")
    ] = False,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option("--allow-origin", help="A browser origin trusted with --http, e.g. http://localhost:3000."),
    ] = None,
    log_file: Annotated[Path | None, typer.Option(help="Write logs here instead of standard error.")] = None,
    db: Db = None,
) -> None:
    """Run the MCP server. Over stdio, SLM_AGENT_TOKEN makes it that authenticated agent; over HTTP each client's
    bearer token says who it is. Otherwise agents are named by SLM_AGENT, else by the client's own name."""
    if ctx.invoked_subcommand:
        return
    from slm.mcp.serve import serve  # the one place the CLI starts another face, imported only when asked

    serve(
        db, http=http, host=host, port=port, allow_remote=allow_remote, allow_origins=tuple(allow_origin or ()),
        log_file=log_file,
    )  # fmt: skip


@mcp_app.command("config")
@handles_errors
def mcp_config(
    client: Annotated[
        str, typer.Option("--client", "-c", help="claude-code, claude-desktop, cursor, vscode or codex.")
    ],
    token: Annotated[
        bool,
        typer.Option("--token", help="Create an authenticated agent named after the client and put its token in."),
    ] = False,
    db: Db = None,
) -> None:
    """Print the config snippet that makes a client start slm's MCP server."""
    from slm.mcp.client_config import check_client, config_snippet

    secret = None
    if token:
        check_client(client)
        with _open(db, create=True) as mem:
            _, secret = mem.add_agent(client)
    where, snippet = config_snippet(client, db=db, token=secret)
    out.note(f"# add to {where}")
    if secret:
        out.note(f"# agent {client!r} created; the snippet holds its secret token (revoke: slm agent revoke {client})")
    sys.stdout.write(snippet + "\n")


@mcp_app.command("token")
@handles_errors
def mcp_token(
    rotate: Annotated[bool, typer.Option("--rotate", help="Replace the token (running servers too).")] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Stop accepting a shared token: only agent tokens get in.")
    ] = False,
) -> None:
    """Print the shared bearer token that HTTP clients may send (made on first use, stored user-only); clients
    with their own agent token (`slm agent add`) need none."""
    from slm import config
    from slm.mcp.http_token import load_or_create_token, remove_token

    if rotate and remove:
        raise InvalidInput("--rotate and --remove contradict each other", "choose one")
    if remove:
        removed = remove_token(config.data_dir())
        out.note("the shared token was removed: HTTP clients need an agent token" if removed else "there was none")
        return
    sys.stdout.write(load_or_create_token(config.data_dir(), rotate=rotate) + "\n")


from slm.cli import data_commands  # noqa: E402, F401 - registers export, import, erase and backup on `app`


def main() -> None:
    app()
