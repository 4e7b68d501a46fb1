"""How the CLI prints: `--json` for programs, status lines and errors with their next step; the rich tables for
people live in `slm.cli.views`, and an attribute this module lacks (`out.hits_table`) is looked up there.

rich is imported on the first thing drawn for people, not here: a one-shot `--json` command never pays its ~30 ms.
Everything a user stored (text, names, tags, meta, paths) is shown as plain `Text`: rich must never read it as
markup (`[bold]`) or emoji codes (`:smile:`), and terminal control characters in it are made visible.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@functools.cache
def console(stderr: bool = False) -> Console:
    """The console for stdout (or stderr), made on first use."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, emoji=False)


def __getattr__(name: str):
    """The renderings for people (`views`), imported with rich on first use."""
    from slm.cli import views

    try:
        return getattr(views, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def emit_json(value: object) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), ensure_ascii=False, indent=2) + "\n")


def _jsonable(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def text(value: object, style: str = "") -> Text:
    """User data as literal text; control characters (e.g. ESC) become � so they cannot drive the terminal."""
    from rich.text import Text

    return Text(_CONTROL.sub("\ufffd", str(value)), style=style)


def error(message: str, hint: str | None, as_json: bool) -> None:
    if as_json:
        emit_json({"error": message, "hint": hint})
        return
    from rich.text import Text

    console(True).print(Text.assemble(("error: ", "bold red"), text(message)))
    if hint:
        console(True).print(Text.assemble(("hint: ", "dim"), text(hint)))


def info(message: str) -> None:
    """A status line in rich markup written by slm; one that quotes user data goes through `plain()`."""
    console().print(message, markup=True)


def note(message: str) -> None:
    """A remark for people on stderr, so that stdout holds only what a program or a config file takes."""
    console(True).print(text(message, "dim"))


def plain(message: str, style: str = "") -> None:
    """A status line printed literally, for messages that quote a path, a model name or other user data."""
    console().print(text(message, style))


def ids(memory_ids: list[int]) -> str:
    return ", ".join(f"#{i}" for i in memory_ids)


def progress():
    """A rich progress bar on stderr (stdout stays clean for --json)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console(True),
        transient=True,
        disable=not console(True).is_terminal,
    )


class StageBars:
    """Work reported as (stage, done, total), such as upgrading an older store as it opens: a bar per stage on
    stderr while it runs (when stderr is a terminal), then one line saying what was done, terminal or not, since
    an upgrade happens once and a script's log should show where the time went. stdout stays clean for --json."""

    def __init__(self) -> None:
        self._bars = None
        self._stages: dict[str, tuple[int, int]] = {}  # stage -> (its bar, its total)
        self._began = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._bars is None:
            self._began = time.perf_counter()
            self._bars = progress()
            self._bars.start()
        if stage not in self._stages:
            self._stages[stage] = (self._bars.add_task(stage, total=total), total)
        self._bars.update(self._stages[stage][0], completed=done, total=total)

    def finish(self, what: str | None) -> None:
        """Take the bars down and say `what` was done, in how long and through which stages (None: it failed)."""
        if self._bars is None:
            return
        self._bars.stop()
        if what is not None:
            stages = ", ".join(f"{stage} ({total:,})" for stage, (_, total) in self._stages.items())
            said = f"{what} in {time.perf_counter() - self._began:.1f} s: {stages}"
            console(True).print(text(said, "dim"), soft_wrap=True)  # one line, for logs too


def spinner(message: str):
    """A spinner on stderr, shown only when stderr is a terminal."""
    return console(True).status(message)


@contextmanager
def slow(message: str, after: float = 1.0) -> Iterator[None]:
    """A spinner on stderr once the work has taken `after` seconds (when stderr is a terminal): work that is
    usually quick does not flash one."""
    status = console(True).status(message)
    lock = threading.Lock()
    done = False

    def show() -> None:
        with lock:
            if not done:
                status.start()

    timer = threading.Timer(after, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            done = True
            status.stop()
