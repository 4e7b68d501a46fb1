"""The `slm learn` group: what recall learned of the user from their agents' use (`status`), and the user's say over
it: train `now`, `reset` what was learned, turn it `off` and back `on`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option, open_store, render
from slm.errors import InvalidInput


@click.group("learn", cls=Group)
def learn_app() -> None:
    """Recall that learns you: what it learned from your agents' recalls (preferences, projects, patterns), and
    your switch over it."""


@learn_app.command("status")
@db_option
@json_option
@handles_errors
def learn_status(db: Path | None, as_json: bool) -> None:
    """Whether learning is in effect and why, what it learned in words you can check, and how it scored."""
    answer(db, as_json, lambda mem: mem.learning.status(), out.learning_status)


@learn_app.command("now")
@db_option
@json_option
@handles_errors
def learn_now(db: Path | None, as_json: bool) -> None:
    """Train now on the recalls logged, rather than after the next 20; then show the status."""
    with open_store(db) as mem, out.slow("training on your recalls…"):
        status = mem.learning.learn(force=True)
    render(status, as_json, out.learning_status)


@learn_app.command("reset")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (scripts).")
@db_option
@json_option
@handles_errors
def learn_reset(yes: bool, db: Path | None, as_json: bool) -> None:
    """Forget what recall learned; it learns again only from recalls made from now on. The log of recalls is kept
    (`slm erase --behavior` empties it)."""
    with open_store(db) as mem:  # a missing store is said before anything is asked
        if not yes and not _confirmed():
            out.note("nothing was reset")
            return
        done = mem.learning.reset()
    render(done, as_json, _show_reset)


def _confirmed() -> bool:
    if sys.stdin is None or not sys.stdin.isatty():
        raise InvalidInput("reset asks for confirmation, and there is no terminal to ask at", "pass --yes")
    return click.confirm("Forget what recall learned of you (preferences, projects, patterns)?", err=True)


def _show_reset(done: dict) -> None:
    out.info(f"forgot what recall learned; it learns again from recall #{done['learns_from_recall']} on")
    out.note("the log of recalls is kept: `slm erase --behavior` empties it")


@learn_app.command("off")
@db_option
@json_option
@handles_errors
def learn_off(db: Path | None, as_json: bool) -> None:
    """Recall ranks as without learning and nothing is trained; what was learned and the log are kept."""
    answer(db, as_json, lambda mem: mem.learning.set_enabled(False), _show_switch)


@learn_app.command("on")
@db_option
@json_option
@handles_errors
def learn_on(db: Path | None, as_json: bool) -> None:
    """Learn from your agents' recalls again (it still takes effect only once it beats recall without it)."""
    answer(db, as_json, lambda mem: mem.learning.set_enabled(True), _show_switch)


def _show_switch(settings: dict) -> None:
    if settings["enabled"]:
        out.info("learning is [green]on[/]: recall re-ranks by what it learned once that beats recall without it")
    else:
        out.info("learning is [yellow]off[/]: recall ranks as without learning and nothing is trained")
        out.note("what it learned and the log of recalls are kept: `slm learn reset` forgets, `slm learn on` resumes")
