"""The question every destructive action of `slm tui` asks first, saying what will go."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from slm.tui.common import preview


class Confirm(ModalScreen[bool]):
    """Asks before anything destructive, and says what will go."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 72; height: auto; border: thick $error; padding: 1 2; background: $surface; }
    Confirm Horizontal { height: auto; margin-top: 1; }
    """

    def __init__(self, question: str, text: str, consequence: str, verb: str) -> None:
        super().__init__()
        self.question, self.text, self.consequence, self.verb = question, text, consequence, verb

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Static(Text(preview(self.text)))
            yield Static(self.consequence)
            with Horizontal():
                yield Button(f"{self.verb} (y)", variant="error", id="yes")
                yield Button("Keep (n)", variant="primary", id="no")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
