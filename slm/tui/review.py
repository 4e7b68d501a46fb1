"""The screens where the user decides: the quarantine (approve, reject) and open contradictions (keep one, dismiss)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from slm.errors import SlmError
from slm.tui.common import highlighted_id, preview, slm_app
from slm.tui.confirm import Confirm


class QuarantineScreen(Screen[None]):
    """Memories held out of recall (instruction-like text, distrusted authors): approve to trust one in full,
    reject to delete it and count it against its author."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("a", "approve", "Approve"),
        Binding("r", "reject", "Reject"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Quarantine: held out of every recall until you decide", id="quarantine-title")
        yield DataTable(id="held", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#held", DataTable)
        for name in ("id", "trust", "agent", "project"):
            table.add_column(name, key=name)
        table.add_column("memory", key="text")
        self.reload()

    @work(exclusive=True, group="quarantine")
    async def reload(self) -> None:
        app = slm_app(self)
        held = await app.in_store(app.memory.quarantine)
        table = self.query_one("#held", DataTable)
        table.clear()
        for row, trust in held:
            table.add_row(str(row.id), f"{trust:.2f}", row.agent, row.project, preview(row.content), key=str(row.id))
        self.sub_title = f"{len(held)} held"

    def _chosen(self) -> int | None:
        return highlighted_id(self.query_one("#held", DataTable))

    def action_approve(self) -> None:
        memory_id = self._chosen()
        if memory_id is not None:
            self.decide(memory_id, approve=True)

    def action_reject(self) -> None:
        memory_id = self._chosen()
        if memory_id is not None:
            self.decide(memory_id, approve=False)

    @work(group="decide")
    async def decide(self, memory_id: int, *, approve: bool) -> None:
        app = slm_app(self)
        if not approve:
            row = await app.in_store(lambda: app.memory.get(memory_id))
            consequence = "It is deleted, and it counts against its author's trust."
            if not await app.push_screen_wait(
                Confirm(f"Reject memory #{memory_id}?", row.content, consequence, "Reject")
            ):
                return
        call = app.memory.approve if approve else app.memory.reject
        try:
            await app.in_store(lambda: call([memory_id]))
        except SlmError as err:
            app.report(err)
            return
        app.notify(f"{'approved' if approve else 'rejected'} #{memory_id}", title="slm")
        self.reload()


class ContradictionsScreen(Screen[None]):
    """Open contradictions, the chosen one's claims side by side: a number keeps that claim's memory (the others
    become history), `x` dismisses it (the claims may all hold)."""

    BINDINGS: ClassVar[list[Binding]] = [
        *(Binding(str(n), f"keep({n})", "Keep" if n == 1 else "", show=n == 1) for n in range(1, 10)),
        Binding("x", "dismiss_one", "Dismiss"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    ContradictionsScreen #open { height: 1fr; }
    ContradictionsScreen #sides { height: 2fr; }
    ContradictionsScreen .side { width: 1fr; border: round $warning; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="open", cursor_type="row", zebra_stripes=True)
        yield Horizontal(id="sides")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#open", DataTable)
        for name in ("id", "project", "about", "severity", "values"):
            table.add_column(name, key=name)
        self.reload()

    @work(exclusive=True, group="contradictions")
    async def reload(self) -> None:
        app = slm_app(self)
        found = await app.in_store(lambda: app.memory.contradictions(limit=500))
        table = self.query_one("#open", DataTable)
        table.clear()
        for item in found:
            values = " | ".join(dict.fromkeys(c["value"] for c in item["claims"]))
            about = f"{item['subject']} · {item['attribute']}"
            table.add_row(
                str(item["id"]), item["project"], about, f"{item['severity']:.2f}", values, key=str(item["id"])
            )
        self.sub_title = f"{len(found)} open"
        self._show(found[0] if found else None)

    @on(DataTable.RowHighlighted, "#open")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show_one(int(event.row_key.value))

    @work(exclusive=True, group="contradiction")
    async def show_one(self, contradiction_id: int) -> None:
        app = slm_app(self)
        self._show(await app.in_store(lambda: app.memory.contradiction(contradiction_id)))

    def _show(self, item: dict | None) -> None:
        self._shown = item
        sides = self.query_one("#sides", Horizontal)
        sides.remove_children()
        for n, claim in enumerate((item or {}).get("claims", []), 1):
            view = Text(f"{n}  {claim['value']}\n\n", style="bold")
            view.append(f"{claim['text']}\n\n", style="")
            view.append(f"#{claim['memory_id']} by {claim['agent']}, {claim['time'][:10]}, trust {claim['trust']:.2f}")
            sides.mount(Static(view, classes="side"))

    def action_keep(self, n: int) -> None:
        claims = (self._shown or {}).get("claims", [])
        if self._shown and 1 <= n <= len(claims):
            self.settle(self._shown["id"], claims[n - 1]["memory_id"])

    def action_dismiss_one(self) -> None:
        if self._shown:
            self.settle(self._shown["id"], None)

    @work(group="settle")
    async def settle(self, contradiction_id: int, keep: int | None) -> None:
        app = slm_app(self)
        try:
            done = await app.in_store(lambda: app.memory.resolve_contradiction(contradiction_id, keep=keep))
        except SlmError as err:
            app.report(err)
            return
        app.notify(f"contradiction #{contradiction_id} {done['status']}", title="slm")
        self.reload()
