"""Writing a new version of a memory from `slm tui`: the old one stays as history (`Memory.update`)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea


class EditMemory(ModalScreen[str | None]):
    """The memory's text to edit; `ctrl+s` gives the new text back, `escape` nothing."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "save", "Save a new version"),
        Binding("escape", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = """
    EditMemory { align: center middle; }
    EditMemory > Vertical { width: 90%; height: 70%; border: thick $primary; padding: 1 2; background: $surface; }
    EditMemory TextArea { height: 1fr; }
    """

    def __init__(self, memory_id: int, text: str) -> None:
        super().__init__()
        self.memory_id, self.text = memory_id, text

    def compose(self) -> ComposeResult:
        with Vertical():
            saving = "ctrl+s saves a new version (this one stays as history), esc cancels"
            yield Label(f"Memory #{self.memory_id}: {saving}")
            yield TextArea(self.text, id="text", soft_wrap=True)

    def action_save(self) -> None:
        text = self.query_one("#text", TextArea).text
        self.dismiss(text if text.strip() and text != self.text else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
