"""What the `slm` commands share: their common options, error handling, the store and the reply.

A command reads parse → call → render: `answer` opens the store, calls the engine and prints JSON (with --json)
or the rich rendering; `handles_errors` turns any failure into a message with a hint and an exit code. Heavy
modules (numpy, llama.cpp, the engine) are imported inside commands only, so `slm --help` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from slm import config, validation
from slm.cli import output as out
from slm.core import recall_options
from slm.errors import Forbidden, InvalidInput, NoStore, NotFound, SlmError

if TYPE_CHECKING:
    from slm.core.memory import Memory

T = TypeVar("T")
Decorator = Callable[[Callable], Callable]


class Group(click.Group):
    """A group that lists its commands in the order they were added (click sorts them), each with the first
    paragraph of its help whole (click would cut it to a first sentence that fits one line)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        named = ((name, self.get_command(ctx, name)) for name in self.list_commands(ctx))
        rows = [(name, " ".join((cmd.help or "").split("\n\n")[0].split())) for name, cmd in named if cmd]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def listed(ctx: click.Context, param: click.Parameter, values: tuple) -> list | None:
    """A repeatable option or a variadic argument as a list, None when not given (click hands a tuple)."""
    return list(values) or None


_CLICK_KINDS: dict[Any, dict] = {  # a recall declaration's type -> how click reads it
    str: {"type": str},
    str | None: {"type": str},
    int: {"type": int},
    bool: {"is_flag": True},
    list[str] | None: {"multiple": True, "callback": listed},
}


def recall_option(option: recall_options.RecallOption, *flags: str) -> Decorator:
    """An option typed and explained as the recall declaration says it: the command line only spells its flags
    (`--name` when it names none)."""
    flags = flags or (f"--{option.name.replace('_', '-')}",)
    return click.option(*flags, option.name, default=option.default, help=option.help, **_CLICK_KINDS[option.type])


def memory_ids(help: str) -> Decorator:
    """One or more memory ids as arguments, each a valid id."""
    ids = click.IntRange(1, validation.MAX_ID)
    return click.argument("memory_ids", metavar="ID...", nargs=-1, required=True, type=ids, callback=listed, help=help)


class DatabasePath(click.Path):
    """`--db` / `SLM_DB`: a database file (a `Path`), or a PostgreSQL URL, kept as text before a path loses its `//`."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if config.is_server_url(value):
            return value.strip()
        return super().convert(value, param, ctx)


db_option = click.option(
    "--db",
    type=DatabasePath(path_type=Path),
    metavar="PATH|URL",
    envvar="SLM_DB",
    show_envvar=True,
    show_default=False,
    help="Database file, or a postgresql:// URL of a team's store (default: $SLM_HOME/memory.db).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for programs instead of tables.")
project_option = recall_option(recall_options.PROJECT, "--project", "-p")
agent_option = recall_option(recall_options.AGENT, "--agent", "-a")
tags_option = recall_option(recall_options.TAGS, "--tag", "-t")
since_option = recall_option(recall_options.SINCE)
until_option = recall_option(recall_options.UNTIL)
session_option = click.option("--session", help="Only memories said in this session.")
memory_id_argument = click.argument(
    "memory_id", metavar="ID", type=click.IntRange(1, validation.MAX_ID), help="The memory's id."
)


WHERE_TO_LOOK = {  # the command that lists what a NotFound did not find
    "memory": "see `slm list` for ids",
    "agent": "see `slm agent list`",
    "principal": "see `slm trust list`",
    "cluster": "see `slm graph clusters` for ids",
    "contradiction": "see `slm contradictions list --status all`",
}


def handles_errors(command: Callable) -> Callable:
    """Turn slm's errors, and the OS's or SQLite's, into a message with a hint (or a JSON object) and exit code 2
    (bad input, not found, not allowed) or 1 (anything else): a user mistake never shows a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        as_json = kwargs.get("as_json", False)
        try:
            return command(*args, **kwargs)
        except SlmError as err:  # every error comes with a next step, even when the raiser named none
            hint = WHERE_TO_LOOK.get(err.what, err.hint) if isinstance(err, NotFound) else err.hint
            out.error(err.message, hint or "add --help to the command to see what it accepts", as_json)
            raise click.exceptions.Exit(2 if isinstance(err, (InvalidInput, NotFound, Forbidden)) else 1) from None
        except OSError as err:  # e.g. --db in a folder that cannot be created or written
            where = f"{err.filename}: " if err.filename else ""
            out.error(f"{where}{err.strerror or err}", "check the path and its permissions (see `slm doctor`)", as_json)
            raise click.exceptions.Exit(1) from None
        except Exception as err:
            from slm.core.store import driver_failure  # imported only when something failed

            failure = driver_failure(err)
            if failure is None:
                raise
            out.error(failure.message, failure.hint, as_json)
            raise click.exceptions.Exit(1) from None

    return wrapper


def open_store(db: Path | str | None, *, create: bool = False) -> Memory:
    """Only commands that add memories or agents create a database: a mistyped --db elsewhere is an error, not a
    new empty store."""
    from slm.core.memory import Memory

    upgrade = out.StageBars()  # an older store is upgraded as it opens: seconds at 100k memories
    try:
        mem = Memory.open(db, create=create, protocol="cli", progress=upgrade)
    except BaseException as err:
        upgrade.finish(None)
        if isinstance(err, NoStore):
            hint = "check --db / SLM_DB / SLM_HOME, or store a memory with `slm remember`"
            raise NoStore(err.message, hint) from None
        raise
    upgrade.finish(f"upgraded {mem.location.shown} for this slm")
    for receipt in mem.finished_erasures:  # opening finished an erasure a crash had interrupted: say so
        out.note(f"finished an interrupted erasure; signed receipt: {receipt['path']}")
    if mem.erasure_problem is not None:
        out.plain(f"warning: an interrupted erasure could not be finished: {mem.erasure_problem}", "yellow")
        out.note("what it erased is deleted, but may still be in the files: run `slm doctor`")
    return mem


def answer(
    db: Path | None,
    as_json: bool,
    call: Callable[[Memory], T],
    show: Callable[[T], object],
    *,
    to_json: Callable[[T], object] | None = None,
    create: bool = False,
    busy: str | None = None,
) -> None:
    """The shape of most commands: open the store, `call` the engine (under a spinner saying `busy`), close the
    store, then `render` what came back."""
    with open_store(db, create=create) as mem, out.spinner(busy) if busy else nullcontext():
        result = call(mem)
    render(result, as_json, show, to_json)


def render(result: T, as_json: bool, show: Callable[[T], object], to_json: Callable[[T], object] | None = None) -> None:
    """Print a result as JSON for programs (shaped by `to_json`, else as it is) or as `show` renders it for people."""
    if as_json:
        out.emit_json(result if to_json is None else to_json(result))
    else:
        show(result)
