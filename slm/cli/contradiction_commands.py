"""The `slm contradictions` group: claims that disagree (found on write), listed, shown and resolved."""

from __future__ import annotations

from typing import Annotated

import typer

from slm import validation
from slm.cli import output as out
from slm.cli.shared import Db, Json, Project, answer, handles_errors
from slm.errors import InvalidInput

contradictions_app = typer.Typer(help="Claims that disagree (found by the sheaf check on write): list, show, resolve.")
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
    answer(
        db,
        as_json,
        lambda mem: mem.contradictions(status=None if status == "all" else status, project=project, limit=limit),
        out.contradictions_table,
    )


@contradictions_app.command("show")
@handles_errors
def contradictions_show(contradiction_id: ContradictionId, db: Db = None, as_json: Json = False) -> None:
    """One contradiction: each claim with its memory, author, time, trust and share of the disagreement."""
    answer(db, as_json, lambda mem: mem.contradiction(contradiction_id), out.contradiction_detail)


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
    answer(db, as_json, lambda mem: mem.resolve_contradiction(contradiction_id, keep=keep), out.contradiction_detail)
