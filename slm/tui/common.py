"""What the screens of `slm tui` share: the app a screen belongs to, going back to it, a memory's text on one line."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen
from textual.widgets import DataTable

if TYPE_CHECKING:
    from slm.tui.app import MemoryApp

PREVIEW = 200  # characters of a memory's text in a table


def slm_app(screen: Screen) -> MemoryApp:
    return cast("MemoryApp", screen.app)


def highlighted_id(table: DataTable) -> int | None:
    """The id of the memory (or other item) in the table's highlighted row, keyed by it; None for an empty table."""
    if not table.row_count:
        return None
    key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return None if key is None else int(key)


def open_in_main(screen: Screen, memory_key: str | None) -> None:
    """Leave `screen` for the main view, showing the memory whose row key is `memory_key`."""
    if memory_key is not None:
        app = slm_app(screen)
        app.pop_screen()
        app.open_memory(int(memory_key))


def preview(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW else line[: PREVIEW - 1] + "…"
