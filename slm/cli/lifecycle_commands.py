"""The `slm lifecycle` group: the zones memories move through from use, and one step of it on demand."""

from __future__ import annotations

from pathlib import Path

import click

from slm import validation
from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option
from slm.errors import InvalidInput


@click.group("lifecycle", cls=Group)
def lifecycle_app() -> None:
    """The memory lifecycle: zones from use (active, warm, cold, archived) and its steps."""


@lifecycle_app.command("status")
@db_option
@json_option
@handles_errors
def lifecycle_status(db: Path | None, as_json: bool) -> None:
    """Memories per zone, the last step and whether one is due."""
    answer(db, as_json, lambda mem: mem.lifecycle_status(), out.lifecycle_status)


@lifecycle_app.command("run")
@click.option("--now", help="Step to this time instead of now (ISO-8601).")
@click.option("--seed", type=click.IntRange(min=0), help="Fix the store's noise seed from now on (default 0).")
@db_option
@json_option
@handles_errors
def lifecycle_run(now: str | None, seed: int | None, db: Path | None, as_json: bool) -> None:
    """Run one lifecycle step now: fold in recent uses, move every memory, report the zones. Nothing is deleted."""
    if now is not None and (validation.parse_time(now, "--now") or "") > validation.now_utc():
        raise InvalidInput(
            f"--now {now} is in the future: memories still in use would drift out as if unused until then",
            "give a past time to replay, or leave --now out",
        )
    answer(db, as_json, lambda mem: mem.lifecycle_step(now=now, seed=seed), out.lifecycle_report, busy="stepping…")
