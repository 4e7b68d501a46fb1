"""What the `slm` commands share: their common options, error handling, the store and the reply.

A command reads parse → call → render: `answer` opens the store, calls the engine and prints JSON (with --json)
or the rich rendering; `handles_errors` turns any failure into a message with a hint and an exit code. Heavy
modules (numpy, llama.cpp, the engine) are imported inside commands only, so `slm --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from slm import validation
from slm.cli import output as out
from slm.core import recall_options
from slm.errors import Forbidden, InvalidInput, NoStore, NotFound, SlmError

if TYPE_CHECKING:
    from slm.core.memory import Memory

T = TypeVar("T")


def recall_option(option: recall_options.RecallOption, *flags: str) -> Any:
    """An option typed and explained as the recall declaration says it: the command line only spells its flags."""
    return Annotated[option.type, typer.Option(*flags, help=option.help)]


Db = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $SLM_HOME/memory.db).", envvar="SLM_DB", show_default=False),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of tables.")]
Project = recall_option(recall_options.PROJECT, "--project", "-p")
Agent = recall_option(recall_options.AGENT, "--agent", "-a")
Tags = recall_option(recall_options.TAGS, "--tag", "-t")
Since = recall_option(recall_options.SINCE)
Until = recall_option(recall_options.UNTIL)
Session = Annotated[str | None, typer.Option(help="Only memories said in this session.")]
MemoryId = Annotated[int, typer.Argument(metavar="ID", help="The memory's id.", min=1, max=validation.MAX_ID)]
MemoryIds = Annotated[list[int], typer.Argument(metavar="ID", help="Memory ids.", min=1, max=validation.MAX_ID)]


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
            raise typer.Exit(2 if isinstance(err, (InvalidInput, NotFound, Forbidden)) else 1) from None
        except OSError as err:  # e.g. --db in a folder that cannot be created or written
            where = f"{err.filename}: " if err.filename else ""
            out.error(f"{where}{err.strerror or err}", "check the path and its permissions (see `slm doctor`)", as_json)
            raise typer.Exit(1) from None
        except Exception as err:
            apsw = sys.modules.get("apsw")  # only an imported apsw can have raised; never import it here
            if apsw is None or not isinstance(err, apsw.Error):
                raise
            hint = (
                "another process is writing to it; try again"
                if isinstance(err, apsw.BusyError)
                else "run `slm doctor`; restore a backup if the file is damaged"
            )
            out.error(f"SQLite error: {err}", hint, as_json)
            raise typer.Exit(1) from None

    return wrapper


def open_store(db: Path | None, *, create: bool = False) -> Memory:
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
    upgrade.finish(f"upgraded {mem.path} for this slm")
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
