"""What `slm tui` asks the user to type: a memory's new text (`Memory.update`: the old one stays as history), or
one line (tags to add or remove, the file to export to)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, TextArea


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


class AskLine(ModalScreen[str | None]):
    """One line to type: `enter` gives it back, `escape` nothing."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    AskLine { align: center middle; }
    AskLine > Vertical { width: 80%; max-width: 100; height: auto; border: thick $primary; padding: 1 2;
                         background: $surface; }
    """

    def __init__(self, question: str, detail: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question, self.detail, self.value, self.placeholder = question, detail, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Label(self.detail, classes="detail")
            yield Input(self.value, placeholder=self.placeholder, id="line")

    @on(Input.Submitted, "#line")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
