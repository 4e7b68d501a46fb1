"""The `slm lifecycle` group: the zones memories move through from use, and one step of it on demand."""

from __future__ import annotations

from typing import Annotated

import typer

from slm import validation
from slm.cli import output as out
from slm.cli.shared import Db, Json, answer, handles_errors
from slm.errors import InvalidInput

lifecycle_app = typer.Typer(help="The memory lifecycle: zones from use (active, warm, cold, archived) and its steps.")


@lifecycle_app.command("status")
@handles_errors
def lifecycle_status(db: Db = None, as_json: Json = False) -> None:
    """Memories per zone, the last step and whether one is due."""
    answer(db, as_json, lambda mem: mem.lifecycle_status(), out.lifecycle_status)


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
    answer(db, as_json, lambda mem: mem.lifecycle_step(now=now, seed=seed), out.lifecycle_report, busy="stepping…")
