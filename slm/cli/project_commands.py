"""The `slm project` group: the projects memories belong to (a project is a repository: its git remote, else its
root commit), listed, shown, renamed and merged."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option
from slm.errors import NotFound

if TYPE_CHECKING:
    from slm.core.memory import Memory


@click.group("project", cls=Group)
def project_app() -> None:
    """Projects: a repository's memories, whichever clone, folder or worktree wrote them; list, show, rename, merge,
    keep private to one member or share."""


def working_directory() -> Path | None:
    """The folder the command runs in; None when it is gone (deleted under the shell)."""
    try:
        return Path.cwd()
    except OSError:
        return None


def _here(mem: Memory) -> str | None:
    folder = working_directory()
    return None if folder is None else mem.project_named_for(folder)


@project_app.command("list")
@db_option
@json_option
@handles_errors
def project_list(db: Path | None, as_json: bool) -> None:
    """Every project: current memories, identity keys bound to it, newest write; `*` marks this folder's."""

    def listed(mem: Memory) -> list[dict]:
        here = _here(mem)
        return [p | {"here": p["name"] == here} for p in mem.projects()]

    answer(db, as_json, listed, _projects_table)


@project_app.command("show")
@click.argument("name", required=False, help="The project (default: this folder's).")
@db_option
@json_option
@handles_errors
def project_show(name: str | None, db: Path | None, as_json: bool) -> None:
    """One project: its memories, versions, kinds, agents, open contradictions and the keys bound to it."""

    def shown(mem: Memory) -> dict:
        chosen = name if name is not None else _here(mem)
        if chosen is None:
            raise NotFound(
                "nothing was written from this folder yet, so it has no project",
                "name one (see `slm project list`), or store a memory here with `slm remember`",
            )
        return mem.project(chosen)

    answer(db, as_json, shown, _project_detail)


@project_app.command("rename")
@click.argument("old", metavar="OLD", help="The project's name now.")
@click.argument("new", metavar="NEW", help="Its new name (no project may have it yet).")
@db_option
@json_option
@handles_errors
def project_rename(old: str, new: str, db: Path | None, as_json: bool) -> None:
    """Rename a project everywhere: memories, claims, contradictions, trust counts and the keys bound to it."""
    answer(
        db,
        as_json,
        lambda mem: mem.rename_project(old, new),
        lambda done: out.plain(f"renamed {done['from']} to {done['into']}: {done['memories']} memory rows, "
                               f"{done['keys']} keys"),
    )  # fmt: skip


@project_app.command("merge")
@click.argument("source", metavar="FROM", help="The project whose memories move (it is gone afterwards).")
@click.argument("target", metavar="INTO", help="The project they join.")
@db_option
@json_option
@handles_errors
def project_merge(source: str, target: str, db: Path | None, as_json: bool) -> None:
    """Move every memory and key of FROM into INTO, in one transaction; a memory whose exact text INTO already holds
    becomes that memory's history."""
    answer(db, as_json, lambda mem: mem.merge_projects(source, target), _merged, busy="merging")


@project_app.command("private")
@click.argument("name", metavar="NAME", help="The project.")
@click.option("--member", metavar="PERSON", help="The member it is kept to (default: you alone, no agent).")
@db_option
@json_option
@handles_errors
def project_private(name: str, member: str | None, db: Path | None, as_json: bool) -> None:
    """On a team's store: keep a project to one member. Its memories reach only their agents (and you); other
    members' agents neither see them nor write there."""
    answer(db, as_json, lambda mem: mem.keep_project_private(name, member), _visibility)


@project_app.command("share")
@click.argument("name", metavar="NAME", help="The project.")
@db_option
@json_option
@handles_errors
def project_share(name: str, db: Path | None, as_json: bool) -> None:
    """Share a project kept to one member again: its memories reach every agent (but those kept private
    themselves)."""
    answer(db, as_json, lambda mem: mem.share_project(name), _visibility)


def _visibility(done: dict) -> None:
    out.plain(f"{done['project']}: {_kept_to(done['private_to'])}")


def _kept_to(key: str | None) -> str:
    if key is None:
        return "shared"
    return "private to you" if key == "user" else f"private to {key.partition(':')[2]}"


def _merged(done: dict) -> None:
    out.plain(
        f"merged {done['from']} into {done['into']}: {done['memories']} memory rows moved, {done['histories']} "
        f"duplicates kept as history, {done['keys']} keys rebound"
    )
    if done["contradictions_found"]:
        out.note(f"{done['contradictions_found']} new contradictions between them: slm contradictions list")


def _projects_table(projects: list[dict]) -> None:
    if not projects:
        out.plain("no projects yet: `slm remember` in a repository starts its project", "dim")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column, justify in (("", "left"), ("project", "left"), ("memories", "right"), ("keys", "right")):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("newest write", no_wrap=True)
    kept = any(p["private_to"] for p in projects)
    if kept:
        table.add_column("visibility", no_wrap=True)
    for p in projects:
        table.add_row(
            "*" if p["here"] else "", out.text(p["name"], "bold"), str(p["memories"]), str(p["keys"]),
            out.text((p["newest"] or "")[:16].replace("T", " ")), *([_kept_to(p["private_to"])] if kept else []),
        )  # fmt: skip
    out.console().print(table)


def _project_detail(project: dict) -> None:
    out.plain(project["name"] + ("" if project["private_to"] is None else f" ({_kept_to(project['private_to'])})"),
              "bold")  # fmt: skip
    out.plain(f"  {project['memories']} memories ({project['versions']} versions with history), "
              f"{project['open_contradictions']} open contradictions")  # fmt: skip
    if project["newest"]:
        out.plain(f"  written {project['oldest'][:10]} … {project['newest'][:10]}")
    for label, counts in (("kinds", project["kinds"]), ("agents", project["agents"])):
        if counts:
            out.plain(f"  {label}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    if not project["bound"]:
        out.plain("  no folder is bound to it (memories named it with --project)", "dim")
    for key in project["bound"]:
        out.plain(f"  bound: {key['key']} (since {key['bound_at'][:10]})")
