"""`slm tui`: search what your assistants remember as you type, and read any memory with its provenance, trust and
lifecycle (docs/ARCHITECTURE.md, "The terminal UI")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, RichLog, Select, Static

from slm.core.event_feed import Event, EventFeed
from slm.core.memory import Hit, Memory
from slm.errors import SlmError
from slm.tui.browse import ClustersScreen, LifecycleScreen
from slm.tui.common import highlighted_id, preview
from slm.tui.confirm import Confirm
from slm.tui.edit import EditMemory
from slm.tui.review import ContradictionsScreen, QuarantineScreen

T = TypeVar("T")
DEBOUNCE_S = 0.25  # typing pauses this long before a recall starts
RECENT = 200  # memories listed while the search box is empty
POLL_S = 1.0  # how often the event log is read for other processes' writes
MAIN_VIEW_ACTIONS = frozenset(
    {"focus_search", "focus_results", "edit", "forget", "quarantine", "contradictions", "clusters", "lifecycle"}
)


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
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]
    AUTO_FOCUS = "#results"  # so `/` reaches the app's binding instead of being typed into the search box
    CSS = """
    #search { dock: top; margin: 0 1; }
    #filters { dock: top; height: auto; margin: 0 1; }
    #filters Select { width: 1fr; }
    #results { width: 3fr; }
    #detail { width: 2fr; border-left: solid $primary; padding: 0 1; }
    /* under 100 columns one pane at a time: the results, or the memory being read */
    Screen.-narrow #detail { display: none; }
    Screen.-narrow.-reading #detail { display: block; width: 1fr; border-left: none; }
    Screen.-narrow.-reading #results { display: none; }
    #events { dock: bottom; height: 5; border-top: solid $primary; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("/", "focus_search", "Search"),
        Binding("escape,down", "focus_results", "Results", show=False),  # from the search box or a memory
        Binding("e", "edit", "Edit"),
        Binding("d,delete", "forget", "Forget"),
        Binding("t", "quarantine", "Quarantine"),
        Binding("c", "contradictions", "Contradictions"),
        Binding("g", "clusters", "Clusters"),
        Binding("l", "lifecycle", "Lifecycle"),
        Binding("question_mark", "show_help_panel", "Keys"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(self, memory: Memory, *, debounce: float = DEBOUNCE_S) -> None:
        super().__init__()
        self.memory = memory
        self.debounce = debounce
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slm-tui-store")
        self._event_cursor: int | None = None  # the last event of memory.db shown
        self._hits: dict[int, Hit] = {}  # the last search's hits, for "why this result"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Search memories   ( / )", id="search")
        with Horizontal(id="filters"):
            yield Select[str]([], prompt="every project", id="project", compact=True)
            yield Select[str]([], prompt="every agent", id="agent", compact=True)
        with Horizontal():
            yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
            yield MemoryDetail(id="detail")
        yield RichLog(id="events", max_lines=500, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#results", DataTable)
        table.add_column("#", key="rank", width=3)
        for name in ("when", "project", "agent", "trust", "zone"):
            table.add_column(name, key=name)
        table.add_column("memory", key="text")  # last: a long text runs off the edge, not the facts
        self.load_filters()
        self.refresh_results("")
        self.follow_events()
        self.set_interval(POLL_S, self.follow_events)

    def on_unmount(self) -> None:
        self._store_thread.shutdown(wait=True)

    async def in_store(self, call: Callable[[], T]) -> T:
        """Run `call` on the store's own thread: one at a time, in the order asked."""
        return await asyncio.get_running_loop().run_in_executor(self._store_thread, call)

    # -- filtering ------------------------------------------------------------------------------------------------
    @work(group="filters")
    async def load_filters(self) -> None:
        """The projects and agents the store holds, most memories first."""
        stats = await self.in_store(self.memory.stats)
        for name in ("project", "agent"):
            counts = sorted(stats[f"{name}s"].items(), key=lambda item: -item[1])
            self.query_one(f"#{name}", Select).set_options((f"{value} ({n})", value) for value, n in counts)

    def filters(self) -> dict[str, str]:
        chosen = {name: self.query_one(f"#{name}", Select).value for name in ("project", "agent")}
        return {name: value for name, value in chosen.items() if isinstance(value, str)}

    @on(Select.Changed)
    def _filtered(self) -> None:
        self.refresh_results(self.query_one("#search", Input).value)

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
            filters = self.filters()  # read here: widgets belong to the UI thread
            rows = await self.in_store(lambda: self._rows_for(query, filters))
        except SlmError as err:
            self.notify(f"{err.message}" + (f"\n{err.hint}" if err.hint else ""), title="slm", severity="error")
            return
        table = self.query_one("#results", DataTable)
        table.clear()
        for rank, row in enumerate(rows, 1):
            table.add_row(str(rank), *row[1:], key=str(row[0]))
        where = "".join(f", {name} {value}" for name, value in self.filters().items())
        self.sub_title = (f"{len(rows)} for “{query}”" if query else f"the newest {len(rows)}") + where

    def _rows_for(self, query: str, filters: dict[str, str]) -> list[tuple]:
        if query:
            hits = self.memory.recall(query, k=50, **filters)
            self._hits = {h.id: h for h in hits}
            return [(h.id, h.time[:10], h.project, h.agent, f"{h.trust:.2f}", h.zone, preview(h.text)) for h in hits]
        return [
            (m.id, (m.event_time or m.created_at)[:10], m.project, m.agent, "", "", preview(m.content))
            for m in self.memory.list(limit=RECENT, **filters)
        ]

    # -- reading one memory ---------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#results")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_memory(int(event.row_key.value))

    @work(exclusive=True, group="detail")
    async def open_memory(self, memory_id: int) -> None:
        try:
            view = await self.in_store(lambda: self._describe(memory_id))
        except SlmError as err:
            self.notify(err.message, title="slm", severity="error")
            return
        self.query_one("#detail", MemoryDetail).show(view)
        self.screen.add_class("-reading")  # under 100 columns the memory takes the place of the results

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
        hit = self._hits.get(memory_id)
        if hit is not None:
            view.append_text(_why(hit))
        return view

    # -- other processes' writes ----------------------------------------------------------------------------------
    @work(exclusive=True, group="events")
    async def follow_events(self) -> None:
        """New events of memory.db since the last look (the newest few at the start); when memories were written
        or deleted and nothing is being searched, the newest memories are listed again."""
        if self._event_cursor is None:
            listed, cursors = await self.in_store(lambda: EventFeed(self.memory).latest(limit=4))
            events = [item.event for item in listed if item.source == "memory"]
            self._event_cursor = cursors["memory"]
        else:
            cursor = self._event_cursor
            events = await self.in_store(lambda: self.memory.events_after(cursor, limit=500))
            if not events:
                return
            self._event_cursor = events[-1].id
            if any(e.memory_id is not None for e in events) and not self.query_one("#search", Input).value.strip():
                self.refresh_results("")
        log = self.query_one("#events", RichLog)
        for event in events:
            log.write(_event_line(event))

    # -- changing one memory --------------------------------------------------------------------------------------
    def _highlighted_memory(self) -> int | None:
        return highlighted_id(self.query_one("#results", DataTable))

    def action_forget(self) -> None:
        memory_id = self._highlighted_memory()
        if memory_id is not None:
            self.forget_memory(memory_id)

    def action_edit(self) -> None:
        memory_id = self._highlighted_memory()
        if memory_id is not None:
            self.edit_memory(memory_id)

    @work(group="edit")
    async def edit_memory(self, memory_id: int) -> None:
        try:
            row = await self.in_store(lambda: self.memory.get(memory_id))
            text = await self.push_screen_wait(EditMemory(memory_id, row.content))
            if text is None:
                return
            new = await self.in_store(lambda: self.memory.update(memory_id, text))
        except SlmError as err:
            self.notify(err.message + (f"\n{err.hint}" if err.hint else ""), title="slm", severity="error")
            return
        self.notify(f"#{memory_id} updated: the new version is #{new}", title="slm")
        self.refresh_results(self.query_one("#search", Input).value)
        self.open_memory(int(new))

    @work(group="forget")
    async def forget_memory(self, memory_id: int) -> None:
        try:
            row = await self.in_store(lambda: self.memory.get(memory_id))
        except SlmError as err:
            self.notify(err.message, title="slm", severity="error")
            return
        question = f"Forget memory #{memory_id} and its earlier versions?"
        consequence = "Recall will not find it again; `slm erase` also removes every trace and gives a receipt."
        if not await self.push_screen_wait(Confirm(question, row.content, consequence, "Forget")):
            return
        try:
            gone = await self.in_store(lambda: self.memory.forget(memory_id))
        except SlmError as err:
            self.notify(err.message, title="slm", severity="error")
            return
        self.notify(f"forgot {', '.join(f'#{i}' for i in gone)}", title="slm")
        self.refresh_results(self.query_one("#search", Input).value)

    # -- keys -----------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The main view's keys act there only: on the quarantine, `d` must not forget what the results highlight."""
        return action not in MAIN_VIEW_ACTIONS or len(self.screen_stack) == 1

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action in the command palette (`ctrl+p`) too, beside Textual's own."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Search", "Focus the search box ( / )", self.action_focus_search)
        yield SystemCommand("Edit", "Write a new version of the highlighted memory ( e )", self.action_edit)
        yield SystemCommand("Forget", "Forget the highlighted memory, after asking ( d )", self.action_forget)
        yield SystemCommand("Quarantine", "Approve or reject held memories ( t )", self.action_quarantine)
        yield SystemCommand("Contradictions", "Resolve or dismiss contradictions ( c )", self.action_contradictions)
        yield SystemCommand("Clusters", "Browse the clusters and their memories ( g )", self.action_clusters)
        yield SystemCommand("Lifecycle", "Zones, the memories nearest the archive, a step ( l )", self.action_lifecycle)

    def action_quarantine(self) -> None:
        self.push_screen(QuarantineScreen())

    def action_contradictions(self) -> None:
        self.push_screen(ContradictionsScreen())

    def action_clusters(self) -> None:
        self.push_screen(ClustersScreen())

    def action_lifecycle(self) -> None:
        self.push_screen(LifecycleScreen())

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_focus_results(self) -> None:
        self.screen.remove_class("-reading")
        self.query_one("#results", DataTable).focus()


def _why(hit: Hit) -> Text:
    """Why this result: each channel's rank and what it added, the trust and lifecycle weights, and whether later
    claims made it history (what `slm recall --explain` prints)."""
    view = Text("\nwhy this result\n", style="bold")
    for name, found in hit.channels.items():
        rank = f"#{found.rank} " if found.rank else ""
        view.append(f"{name:>11}  {rank}{found.contribution:+.4f}\n")
    for name in ("keyword", "vector"):
        if name not in hit.channels:
            view.append(f"{name:>11}  not found\n", style="dim")
    view.append(f"{'weighed':>11}  trust {hit.trust:.2f}, zone {hit.zone}, score {hit.score:.4f}\n")
    if not hit.current:
        view.append(f"{'':>11}  later claims superseded what it says: it is history\n", style="yellow")
    return view


def _event_line(event: Event) -> Text:
    what = f" #{event.memory_id}" if event.memory_id is not None else ""
    project = event.payload.get("project") if isinstance(event.payload, dict) else None
    where = f" in {project}" if project else ""
    return Text(f"{event.time[11:19]}  {event.agent} ({event.protocol})  {event.type}{what}{where}")
