"""The `slm contradictions` group: claims that disagree (found on write), listed, shown and resolved."""

from __future__ import annotations

from pathlib import Path

import click

from slm import validation
from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option, project_option
from slm.errors import InvalidInput

status_option = click.option("--status", default="open", help="open, resolved, dismissed or all.")
limit_option = click.option("--limit", "-n", default=50, help="How many.")
contradiction_id = click.argument(
    "contradiction_id", metavar="ID", type=click.IntRange(1, validation.MAX_ID), help="The contradiction's id."
)


@click.group("contradictions", cls=Group, invoke_without_command=True)
@project_option
@status_option
@limit_option
@db_option
@json_option
@click.pass_context
@handles_errors
def contradictions_app(
    ctx: click.Context, project: str | None, status: str, limit: int, db: Path | None, as_json: bool
) -> None:
    """Claims that disagree (found by the sheaf check on write): list, show, resolve.

    Without a command: open contradictions, newest first (the same as `slm contradictions list`)."""
    if ctx.invoked_subcommand is None:
        _list(project, status, limit, db, as_json)


@contradictions_app.command("list")
@project_option
@status_option
@limit_option
@db_option
@json_option
@handles_errors
def contradictions_list(project: str | None, status: str, limit: int, db: Path | None, as_json: bool) -> None:
    """Contradictions, newest first: the subject and attribute, the values that disagree and who said them."""
    _list(project, status, limit, db, as_json)


def _list(project: str | None, status: str, limit: int, db: Path | None, as_json: bool) -> None:
    answer(
        db,
        as_json,
        lambda mem: mem.contradictions(status=None if status == "all" else status, project=project, limit=limit),
        out.contradictions_table,
    )


@contradictions_app.command("show")
@contradiction_id
@db_option
@json_option
@handles_errors
def contradictions_show(contradiction_id: int, db: Path | None, as_json: bool) -> None:
    """One contradiction: each claim with its memory, author, time, trust and share of the disagreement."""
    answer(db, as_json, lambda mem: mem.contradiction(contradiction_id), out.contradiction_detail)


@contradictions_app.command("resolve")
@contradiction_id
@click.option("--keep", type=click.IntRange(min=1), help="The memory that is right: the others' claims become history.")
@click.option("--dismiss", is_flag=True, help="Not a contradiction: the claims may all hold.")
@db_option
@json_option
@handles_errors
def contradictions_resolve(
    contradiction_id: int, keep: int | None, dismiss: bool, db: Path | None, as_json: bool
) -> None:
    """Settle a contradiction: keep one memory's claim (the others are superseded by it) or dismiss it."""
    if (keep is None) == (not dismiss):
        raise InvalidInput("give either --keep MEMORY_ID or --dismiss", "see `slm contradictions show ID`")
    answer(db, as_json, lambda mem: mem.resolve_contradiction(contradiction_id, keep=keep), out.contradiction_detail)
