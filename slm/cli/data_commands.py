"""The commands that move data in and out of a store: `slm export`, `slm import`, `slm erase`, `slm backup`.

They register on the one `slm` app when `slm.cli.main` imports them, and import the engine lazily too.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, TextIO

import typer

from slm import validation
from slm.cli import output as out
from slm.cli.shared import Agent, Db, Json, Project, Session, Since, Until, handles_errors, open_store, render
from slm.errors import InvalidInput

commands = typer.Typer()  # added to `slm` unnamed: these are top-level commands
PREVIEW = 20  # memories listed before asking to erase


@commands.command()
@handles_errors
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (default), json, or markdown.")] = "jsonl",
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write, - for standard output; a folder for markdown.")
    ] = "-",
    project: Project = None,
    agent: Agent = None,
    since: Since = None,
    until: Until = None,
    include_embeddings: Annotated[
        bool, typer.Option("--include-embeddings", help="Add each memory's vectors (base64 float32).")
    ] = False,
    include_behavior: Annotated[
        bool, typer.Option("--include-behavior", help="Add recalls and feedback from behavior.db.")
    ] = False,
    db: Db = None,
    as_json: Json = False,
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


@commands.command("import")
@handles_errors
def import_(
    file: Annotated[Path, typer.Argument(help="An slm export, a memory.jsonl, a basic-memory folder or mem0 JSON.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="slm, slm-json, mcp-memory, basic-memory or mem0 (default: detected)."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Import nothing if any record is bad.")] = False,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Project for notes that name none (basic-memory).")
    ] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Bring memories in; importing the same file again adds nothing. Bad records are reported, not imported."""

    with open_store(db, create=True) as mem, out.progress() as bar:
        task = bar.add_task("importing", total=None)
        report = mem.transfers.import_file(
            file, fmt=fmt, strict=strict, project=project,
            total=lambda n: bar.update(task, total=n), progress=lambda n: bar.advance(task, n),
        )  # fmt: skip
    render(report, as_json, lambda done: _show_import(done, file), to_json=lambda done: done.as_dict())
    if report.problems:
        raise typer.Exit(1)


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


@commands.command()
@handles_errors
def erase(
    memory_ids: Annotated[
        list[int] | None,
        typer.Argument(metavar="[ID]...", help="Memories to erase (with all their versions).", max=validation.MAX_ID),
    ] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Memories whose text contains this.")] = None,
    agent: Agent = None,
    project: Project = None,
    entity: Annotated[str | None, typer.Option("--entity", "-e", help="Memories that name this entity.")] = None,
    session: Session = None,
    since: Since = None,
    until: Until = None,
    everything: Annotated[bool, typer.Option("--all", help="Every memory of the store.")] = False,
    behavior: Annotated[
        bool, typer.Option("--behavior", help="Only the behaviour database (recalls, feedback); memories stay.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be erased; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    verify: Annotated[
        Path | None, typer.Option("--verify", metavar="RECEIPT", help="Check that a receipt's erasure still holds.")
    ] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Erase memories for good: rows, index entries, vectors, graph, claims, event payloads, behaviour rows; then
    the files are compacted so the bytes are gone, and a signed receipt is written."""
    from slm.core import transfers

    with open_store(db) as mem:
        if verify is not None:
            result = mem.transfers.verify_erasure(verify)
            _report_verification(result, as_json)
            if not result["ok"]:
                raise typer.Exit(1)
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
    if not typer.confirm(question + " This cannot be undone.", default=False):
        out.note("nothing was erased")
        raise typer.Exit(1)


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


@commands.command()
@handles_errors
def backup(
    file: Annotated[
        Path | None, typer.Argument(help="Where to write the copy (default: backups/ beside the store).")
    ] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
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
