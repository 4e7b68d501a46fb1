"""The `slm trust` group: trust scores and their reasons, and the quarantine (approve or reject what it holds)."""

from __future__ import annotations

from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option, memory_ids


@click.group("trust", cls=Group)
def trust_app() -> None:
    """Trust in agents and memories: scores, their reasons, the quarantine."""


@trust_app.command("list")
@db_option
@json_option
@handles_errors
def trust_list(db: Path | None, as_json: bool) -> None:
    """Every agent identity's trust, least trusted first: authenticated agents, claimed names and the user."""
    answer(db, as_json, lambda mem: mem.trust_report(), out.trust_table)


@trust_app.command("explain")
@click.argument("agent", metavar="AGENT", help="An agent's name.")
@click.option("--limit", "-n", default=20, help="How many of its newest signals to show.")
@db_option
@json_option
@handles_errors
def trust_explain(agent: str, limit: int, db: Path | None, as_json: bool) -> None:
    """Why an agent has its trust: its prior, its evidence by signal and its newest signals with their reasons."""
    answer(db, as_json, lambda mem: mem.explain_trust(agent, limit=limit), _show_explained)


def _show_explained(identities: list[dict]) -> None:
    for identity in identities:
        out.trust_explanation(identity)


@trust_app.command("quarantine")
@db_option
@json_option
@handles_errors
def trust_quarantine(db: Path | None, as_json: bool) -> None:
    """Memories held out of recall because their trust is too low: approve or reject each."""
    answer(
        db,
        as_json,
        lambda mem: mem.quarantine(),
        out.quarantine_table,
        to_json=lambda held: [{"memory": row, "trust": trust} for row, trust in held],
    )


@trust_app.command("approve")
@memory_ids("Memory ids.")
@db_option
@json_option
@handles_errors
def trust_approve(memory_ids: list[int], db: Path | None, as_json: bool) -> None:
    """Vouch for memories: trusted in full from now on (out of quarantine), and a good signal for their authors."""
    answer(
        db,
        as_json,
        lambda mem: mem.approve(memory_ids),
        lambda approved: out.info(f"approved {out.ids(approved)}"),
        to_json=lambda approved: {"approved": approved},
    )


@trust_app.command("reject")
@memory_ids("Memory ids.")
@db_option
@json_option
@handles_errors
def trust_reject(memory_ids: list[int], db: Path | None, as_json: bool) -> None:
    """Reject memories as false or hostile: a strong signal against their authors, then they are deleted."""
    answer(
        db,
        as_json,
        lambda mem: mem.reject(memory_ids),
        lambda rejected: out.info(f"rejected and deleted {out.ids(rejected)}"),
        to_json=lambda rejected: {"rejected": rejected},
    )
