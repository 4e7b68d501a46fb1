"""`slm tui`: search what your assistants remember as you type, and read any memory with its provenance, trust and
lifecycle (docs/ARCHITECTURE.md, "The terminal UI")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Static

from slm.core.memory import Memory
from slm.errors import SlmError

T = TypeVar("T")
DEBOUNCE_S = 0.25  # typing pauses this long before a recall starts
RECENT = 200  # memories listed while the search box is empty
PREVIEW = 200  # characters of a memory's text in the table


class MemoryDetail(VerticalScroll):
    """One memory in full: its text, then where it came from and how far it is trusted."""

    def compose(self) -> ComposeResult:
        yield Static("Select a memory and press enter.", id="detail-body")

    def show(self, view: Text) -> None:
        self.query_one("#detail-body", Static).update(view)
        self.scroll_home(animate=False)


class MemoryApp(App[None]):
    """Search results (or the newest memories) on the left, the chosen memory on the right. Every call into the
    store runs on one worker thread, in order: the UI never waits on SQLite or the model."""

    TITLE = "slm"
    AUTO_FOCUS = "#results"  # so `/` reaches the app's binding instead of being typed into the search box
    CSS = """
    #search { dock: top; margin: 0 1; }
    #results { width: 3fr; }
    #detail { width: 2fr; border-left: solid $primary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("/", "focus_search", "Search"),
        Binding("escape,down", "focus_results", "Results", show=False),  # from the search box: the table binds both
        Binding("question_mark", "show_help_panel", "Keys"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(self, memory: Memory, *, debounce: float = DEBOUNCE_S) -> None:
        super().__init__()
        self.memory = memory
        self.debounce = debounce
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slm-tui-store")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Search memories   ( / )", id="search")
        with Horizontal():
            yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
            yield MemoryDetail(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#results", DataTable)
        table.add_column("#", key="rank", width=3)
        for name in ("when", "project", "agent", "trust", "zone"):
            table.add_column(name, key=name)
        table.add_column("memory", key="text")  # last: a long text runs off the edge, not the facts
        self.refresh_results("")

    def on_unmount(self) -> None:
        self._store_thread.shutdown(wait=True)

    async def _in_store(self, call: Callable[[], T]) -> T:
        """Run `call` on the store's own thread: one at a time, in the order asked."""
        return await asyncio.get_running_loop().run_in_executor(self._store_thread, call)

    # -- searching ------------------------------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self.refresh_results(event.value)

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self.action_focus_results()

    @work(exclusive=True, group="results")
    async def refresh_results(self, query: str) -> None:
        """The recall for `query` after a pause in typing (a newer keystroke cancels this one), or the newest."""
        query = query.strip()
        if query:
            await asyncio.sleep(self.debounce)
        try:
            rows = await self._in_store(lambda: self._rows_for(query))
        except SlmError as err:
            self.notify(f"{err.message}" + (f"\n{err.hint}" if err.hint else ""), title="slm", severity="error")
            return
        table = self.query_one("#results", DataTable)
        table.clear()
        for rank, row in enumerate(rows, 1):
            table.add_row(str(rank), *row[1:], key=str(row[0]))
        self.sub_title = f"{len(rows)} for “{query}”" if query else f"the newest {len(rows)}"

    def _rows_for(self, query: str) -> list[tuple]:
        if query:
            hits = self.memory.recall(query, k=50)
            return [(h.id, h.time[:10], h.project, h.agent, f"{h.trust:.2f}", h.zone, _preview(h.text)) for h in hits]
        return [
            (m.id, (m.event_time or m.created_at)[:10], m.project, m.agent, "", "", _preview(m.content))
            for m in self.memory.list(limit=RECENT)
        ]

    # -- reading one memory ---------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#results")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_memory(int(event.row_key.value))

    @work(exclusive=True, group="detail")
    async def open_memory(self, memory_id: int) -> None:
        try:
            view = await self._in_store(lambda: self._describe(memory_id))
        except SlmError as err:
            self.notify(err.message, title="slm", severity="error")
            return
        self.query_one("#detail", MemoryDetail).show(view)

    def _describe(self, memory_id: int) -> Text:
        row = self.memory.get(memory_id)
        trust = self.memory.memory_trust(memory_id) or {}
        life = self.memory.memory_lifecycle(memory_id)
        author = trust.get("author", {})
        how = "verified" if row.agent_id is not None else "claimed"
        quarantined = "  QUARANTINED" if trust.get("quarantined") else ""
        view = Text(row.content + "\n\n")
        facts = [
            ("memory", f"#{row.id}" + (f", replaced by #{row.superseded_by}" if row.superseded_by else "")),
            ("project", row.project),
            ("written by", f"{row.agent} ({how}, over {row.protocol})"),
            ("when", row.event_time or row.created_at),
            ("kind", row.kind + (f"   tags: {', '.join(row.tags)}" if row.tags else "")),
            ("session", row.session or "—"),
            ("trust", f"{trust.get('trust', 1.0):.2f}  (author {author.get('trust', 1.0):.2f}){quarantined}"),
            ("zone", f"{life.get('zone', '—')}  (weight {life.get('rank_weight', 1.0):.2f})"),
        ]
        for label, value in facts:
            view.append(f"{label:>11}  ", style="bold")
            view.append(f"{value}\n")
        return view

    # -- keys -----------------------------------------------------------------------------------------------------
    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_focus_results(self) -> None:
        self.query_one("#results", DataTable).focus()


def _preview(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW else line[: PREVIEW - 1] + "…"
