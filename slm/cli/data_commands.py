"""The commands that move data in and out of a store: `slm export`, `slm import`, `slm erase`, `slm backup`.

`slm.cli.main` imports this module only to run or list them; they import the engine lazily too.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TextIO

import click

from slm import validation
from slm.cli import output as out
from slm.cli.shared import (
    agent_option,
    db_option,
    handles_errors,
    json_option,
    listed,
    open_store,
    project_option,
    render,
    session_option,
    since_option,
    until_option,
)
from slm.errors import InvalidInput

PREVIEW = 20  # memories listed before asking to erase


@click.command()
@click.option("--format", "-f", "fmt", default="jsonl", help="jsonl (default), json, or markdown.")
@click.option("--output", "-o", default="-", help="File to write, - for standard output; a folder for markdown.")
@project_option
@agent_option
@since_option
@until_option
@click.option("--include-embeddings", is_flag=True, help="Add each memory's vectors (base64 float32).")
@click.option("--include-behavior", is_flag=True, help="Add recalls and feedback from behavior.db.")
@db_option
@json_option
@handles_errors
def export(
    fmt: str,
    output: str,
    project: str | None,
    agent: str | None,
    since: str | None,
    until: str | None,
    include_embeddings: bool,
    include_behavior: bool,
    db: Path | None,
    as_json: bool,
) -> None:
    """Write memories out: JSONL (the documented, importable format), JSON, or one Markdown file per project."""
    from slm.core import transfers

    if fmt not in transfers.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", f"one of {', '.join(transfers.FORMATS)}")
    selection = transfers.Selection.of(project, agent, since, until)
    with open_store(db) as mem, out.progress() as bar:
        task = bar.add_task("exporting", total=None)
        counting = {"total": lambda n: bar.update(task, total=n), "progress": lambda n: bar.advance(task, n)}
        if fmt == "markdown":
            if output == "-":
                raise InvalidInput("markdown export writes a folder of files", "name the folder with -o FOLDER")
            files = mem.transfers.export_markdown(Path(output).expanduser(), selection=selection, **counting)
            summary = {"format": fmt, "folder": output, "files": files}
        else:
            try:
                with _sink(output, mem.path) as sink:
                    counts = mem.transfers.export(
                        sink, fmt=fmt, selection=selection, embeddings=include_embeddings,
                        behavior=include_behavior, **counting,
                    )  # fmt: skip
            except BrokenPipeError:  # `slm export | head`: the reader had enough, as with any Unix tool
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
                return
            summary = {"format": fmt, "output": output, **counts}
    if as_json and output != "-":
        out.emit_json(summary)
    elif output != "-":
        what = f"{len(summary['files'])} files" if fmt == "markdown" else _memories(summary["memories"])
        out.plain(f"exported {what} to {output}")
    else:
        out.note(f"exported {_memories(summary['memories'])}")


def _sink(output: str, db_path: Path) -> AbstractContextManager[TextIO]:
    """Standard output, streamed; else a file written whole (0600) or not at all, never one of the store's own."""
    from slm.core import transfers

    if output == "-":
        transfers.check_stream(sys.stdout, db_path)
        return nullcontext(sys.stdout)
    return transfers.open_target(Path(output), db_path)


@click.command("import")
@click.argument(
    "file", type=click.Path(path_type=Path), help="An slm export, a memory.jsonl, a basic-memory folder or mem0 JSON."
)
@click.option("--format", "-f", "fmt", help="slm, slm-json, mcp-memory, basic-memory or mem0 (default: detected).")
@click.option("--strict", is_flag=True, help="Import nothing if any record is bad.")
@click.option("--project", "-p", help="Project for notes that name none (basic-memory), or for a chat export.")
@click.option(
    "--from", "source", type=click.Choice(["claude-code", "codex", "gemini-cli", "chatgpt", "claude"]),
    help="Conversations you already have, captured as a live session is: Claude Code, Codex or Gemini CLI sessions "
    "(a session file, or a folder such as ~/.claude/projects, ~/.codex/sessions or ~/.gemini/tmp), or a ChatGPT / "
    "Claude.ai export (conversations.json or its folder).",
)  # fmt: skip
@db_option
@json_option
@handles_errors
def import_(
    file: Path, fmt: str | None, strict: bool, project: str | None, source: str | None, db: Path | None, as_json: bool
) -> None:
    """Bring memories in; importing the same file again adds nothing. Bad records are reported, not imported."""
    if source is not None:
        _import_sessions(source, file, project, db, as_json)
        return

    with open_store(db, create=True) as mem, out.progress() as bar:
        task = bar.add_task("importing", total=None)
        report = mem.transfers.import_file(
            file, fmt=fmt, strict=strict, project=project,
            total=lambda n: bar.update(task, total=n), progress=lambda n: bar.advance(task, n),
        )  # fmt: skip
    render(report, as_json, lambda done: _show_import(done, file), to_json=lambda done: done.as_dict())
    if report.problems:
        raise click.exceptions.Exit(1)


def _import_sessions(source: str, path: Path, project: str | None, db: Path | None, as_json: bool) -> None:
    with open_store(db, create=True) as mem, out.progress() as bar:
        task = bar.add_task(f"capturing {source} conversations", total=None)
        report = mem.import_sessions(
            source, path, project=project, total=lambda n: bar.update(task, total=n),
            progress=lambda n: bar.advance(task, n),
        )  # fmt: skip
    summary = {
        "source": source, "conversations": report.conversations, "stored": report.stored,
        "already_known": report.already_known, "skipped": report.skipped, "projects": sorted(report.projects),
    }  # fmt: skip
    said = f"captured {_memories(report.stored)} from {report.conversations:,} {source} conversations"
    render(summary, as_json, lambda _: out.plain(f"{said}; {report.already_known:,} were known already"))


def _show_import(report, file: Path) -> None:
    from slm.core import transfers

    out.plain(
        f"imported {_memories(report.added)} from {file} ({report.format}); {report.already:,} were here already"
        + (f"; {report.behavior_added:,} behaviour records" if report.behavior_added else "")
    )
    if report.reembedded and report.added and report.format.startswith("slm"):
        out.note("embeddings were computed here: the file's were made by another model, or it had none")
    for problem in report.problems[: transfers.MAX_PROBLEMS_SHOWN]:
        out.plain(f"skipped {problem.where}: {problem.message}", "yellow")
    if len(report.problems) > transfers.MAX_PROBLEMS_SHOWN:
        out.plain(f"… and {len(report.problems) - transfers.MAX_PROBLEMS_SHOWN} more problems (see --json)", "yellow")


@click.command()
@click.argument(
    "memory_ids",
    metavar="[ID]...",
    nargs=-1,
    type=click.IntRange(max=validation.MAX_ID),
    callback=listed,
    help="Memories to erase (with all their versions).",
)
@click.option("--query", "-q", help="Memories whose text contains this.")
@agent_option
@project_option
@click.option("--entity", "-e", help="Memories that name this entity.")
@session_option
@since_option
@until_option
@click.option("--all", "everything", is_flag=True, help="Every memory of the store.")
@click.option("--behavior", is_flag=True, help="Only the behaviour database (recalls, feedback); memories stay.")
@click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--verify", metavar="RECEIPT", type=click.Path(path_type=Path), help="Check that a receipt's erasure still holds."
)
@db_option
@json_option
@handles_errors
def erase(
    memory_ids: list[int] | None,
    query: str | None,
    agent: str | None,
    project: str | None,
    entity: str | None,
    session: str | None,
    since: str | None,
    until: str | None,
    everything: bool,
    behavior: bool,
    dry_run: bool,
    yes: bool,
    verify: Path | None,
    db: Path | None,
    as_json: bool,
) -> None:
    """Erase memories for good: rows, index entries, vectors, graph, claims, event payloads, behaviour rows; then
    the files are compacted so the bytes are gone, and a signed receipt is written."""
    from slm.core import transfers

    with open_store(db) as mem:
        if verify is not None:
            result = mem.transfers.verify_erasure(verify)
            _report_verification(result, as_json)
            if not result["ok"]:
                raise click.exceptions.Exit(1)
            return
        if behavior:
            if memory_ids or query or agent or project or entity or session or since or until or everything:
                raise InvalidInput("--behavior erases only the behaviour database", "drop the other conditions")
            _confirm("Erase every recall and feedback record (behavior.db)?", yes, dry_run, as_json)
            if dry_run:
                return
            with out.spinner("erasing the behaviour database"):
                receipt = mem.transfers.erase_behavior()
        else:
            scope = transfers.Scope.of(
                memory_ids or (), query, agent, project, entity, since, until, everything, session=session
            )
            ids = mem.transfers.select_erasure(scope)
            _preview(mem, ids, dry_run, as_json)
            if dry_run or not ids:
                return
            _confirm(f"Erase these {len(ids):,} memories for good?", yes, dry_run, as_json)
            with out.spinner("erasing") as status:
                receipt = mem.transfers.erase(scope, stage=lambda stage: status.update(stage))
        held = mem.transfers.known_backups()
    _report_erasure(receipt, held, as_json)


def _preview(mem, ids: list[int], dry_run: bool, as_json: bool) -> None:
    if as_json:
        if dry_run:
            out.emit_json({"dry_run": True, "memories": len(ids), "ids": ids})
        return
    if not ids:
        out.plain("nothing matches: nothing to erase")
        return
    out.rows_table(mem.get_many(ids[:PREVIEW]))
    more = f" (the first {PREVIEW} shown)" if len(ids) > PREVIEW else ""
    out.plain(f"{_memories(len(ids))}, earlier and later versions included{more}")
    if dry_run:
        out.note("dry run: nothing was erased")


def _confirm(question: str, yes: bool, dry_run: bool, as_json: bool) -> None:
    if yes or dry_run:
        return
    if not _can_ask():
        raise InvalidInput("erasing needs a confirmation, and there is no terminal to ask", "add --yes to confirm")
    if not click.confirm(question + " This cannot be undone.", default=False):
        out.note("nothing was erased")
        raise click.exceptions.Exit(1)


def _report_erasure(receipt: dict, held: list[dict], as_json: bool) -> None:
    if as_json:
        out.emit_json({"receipt": receipt["path"], "id": receipt["id"], "counts": receipt["counts"], "backups": held})
        return
    counts = receipt["counts"]
    gone = counts.get("memories", 0)
    what = _memories(gone) if gone or not receipt["scope"].get("behavior") else "the behaviour database"
    out.plain(f"erased {what}; signed receipt: {receipt['path']}")
    out.note(f"check it any time: slm erase --verify {receipt['path']}")
    kept = counts.get("same text kept in memories not erased")
    if kept:
        texts = "1 erased text is" if kept == 1 else f"{kept:,} erased texts are"
        out.plain(
            f"note: {texts} also the text of memories you did not erase (in another project, or a version of "
            "another memory): those remain; erase them too to remove the text",
            "yellow",
        )
    for backup in held:
        out.plain(f"warning: the backup {backup['path']} ({backup['made_at']}) still holds what was erased", "yellow")
    if held:
        out.note("slm erases only its own files: delete those backups, and any copies you made, to finish the job")


def _report_verification(result: dict, as_json: bool) -> None:
    if as_json:
        out.emit_json(result)
        return
    left = {k: v for k, v in result["left"].items() if v}
    if result["ok"]:
        out.plain(
            f"receipt {result['receipt']}: signature valid; nothing of the {result['memories']:,} erased memories "
            "remains (rows, vectors, index, events, behaviour)",
            "green",
        )
    else:
        out.plain(f"receipt {result['receipt']}: signature valid, but some of it remains:", "bold red")
        for name, count in left.items():
            out.plain(f"  {name}: {count:,}")


@click.command()
@click.argument(
    "file",
    required=False,
    type=click.Path(path_type=Path),
    help="Where to write the copy (default: backups/ beside the store).",
)
@db_option
@json_option
@handles_errors
def backup(file: Path | None, db: Path | None, as_json: bool) -> None:
    """Copy the store safely while agents write (SQLite's online backup); erase will remind you of it."""

    with open_store(db) as mem, out.progress() as bar:
        task = bar.add_task("backing up", total=None)
        made = mem.transfers.backup(file, progress=lambda done, total: bar.update(task, completed=done, total=total))
    render(made, as_json, _show_backup)


def _show_backup(made: dict) -> None:
    out.plain(f"backed up {made['memories']:,} memories to {made['path']} ({made['bytes']:,} bytes)")
    if made["behavior_path"]:
        out.plain(f"and the behaviour database to {made['behavior_path']}")


def _memories(count: int) -> str:
    return f"{count:,} {'memory' if count == 1 else 'memories'}"


def _can_ask() -> bool:
    return sys.stdin.isatty()
