"""The agents screen of `slm tui`: who writes to the store and how far each is trusted, with the evidence behind
it (α, β, signals by kind) and the newest signals' reasons, as `slm trust explain` gives them."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from slm.errors import SlmError
from slm.tui.common import slm_app

SIGNALS = 12  # newest signals shown for the chosen agent


class AgentsScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    AgentsScreen #agents { width: 3fr; }
    AgentsScreen #evidence { width: 2fr; border-left: solid $primary; padding: 0 1; }
    Screen.-narrow AgentsScreen #evidence, AgentsScreen.-narrow #evidence { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTable(id="agents", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="evidence"):
                yield Static("", id="evidence-body")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#agents", DataTable)
        for name in ("agent", "identity", "trust", "α", "β", "signals", "memories"):
            table.add_column(name, key=name)
        self.reload()

    @work(exclusive=True, group="agents")
    async def reload(self) -> None:
        app = slm_app(self)
        report = await app.in_store(app.memory.trust_report)
        table = self.query_one("#agents", DataTable)
        table.clear()
        report.sort(key=lambda p: p["trust"])
        for p in report:
            cells = (p["name"], p["kind"], f"{p['trust']:.2f}", _evidence_count(p["alpha"]), _evidence_count(p["beta"]))
            table.add_row(*cells, str(p["signals"]), str(p["memories"]), key=p["name"])
        self.sub_title = f"{len(report)} agents, the least trusted first"
        if report:
            self.explain(report[0]["name"])

    @on(DataTable.RowHighlighted, "#agents")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.explain(event.row_key.value)

    @work(exclusive=True, group="explain")
    async def explain(self, name: str) -> None:
        app = slm_app(self)
        try:
            identities = await app.in_store(lambda: app.memory.explain_trust(name, limit=SIGNALS))
        except SlmError as err:
            app.report(err)
            return
        self.query_one("#evidence-body", Static).update(_evidence(identities))


def _evidence_count(value: float | None) -> str:
    """α or β; the user, who is not scored, has none."""
    return "—" if value is None else f"{value:.1f}"


def _evidence(identities: list[dict]) -> Text:
    view = Text()
    for who in identities:
        view.append(f"{who['name']} ({who['kind']})\n", style="bold")
        if who.get("alpha") is None:
            view.append(f"trust {who['trust']:.2f}: the store's owner is not scored\n")
            continue
        view.append(f"trust {who['trust']:.2f} = α {who['alpha']:.1f} / (α + β {who['beta']:.1f})")
        prior = who.get("prior") or {}
        if prior:
            view.append(f", from a prior of α {prior['alpha']:.1f}, β {prior['beta']:.1f}")
        view.append("\n")
        counts = ", ".join(f"{kind} {n}" for kind, n in who["by_signal"].items()) or "no signals yet"
        view.append(f"evidence: {counts}\n\n")
        for signal in who["recent"]:
            view.append(f"{signal['time'][:16].replace('T', ' ')}  {signal['signal']:<10} ", style="bold")
            view.append(f"{signal['reason']}\n")
        view.append("\n")
    return view
