"""What the screens of `slm tui` share: the app a screen belongs to, and a memory's text on one line."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from slm.tui.app import MemoryApp

PREVIEW = 200  # characters of a memory's text in a table


def slm_app(screen: Screen) -> MemoryApp:
    return cast("MemoryApp", screen.app)


def preview(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW else line[: PREVIEW - 1] + "…"
