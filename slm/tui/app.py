"""`slm tui`: search what your assistants remember as you type, or browse the whole store, and read any memory with
its provenance, trust and lifecycle (docs/ARCHITECTURE.md, "The terminal UI")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, RichLog, Select

from slm.core.browsing import TRUST_BANDS, Listed
from slm.core.event_feed import Event, EventFeed
from slm.core.memory import Hit, Memory
from slm.errors import SlmError
from slm.tui.actions import SelectionActions
from slm.tui.agents import AgentsScreen
from slm.tui.browse import ClustersScreen, LifecycleScreen
from slm.tui.common import preview
from slm.tui.detail import MemoryDetail, describe
from slm.tui.filters import Chosen, FilterBar
from slm.tui.review import ContradictionsScreen, QuarantineScreen

T = TypeVar("T")
log = logging.getLogger(__name__)
DEBOUNCE_S = 0.25  # typing pauses this long before a recall starts
PAGE = 200  # memories read at a time while browsing; the next page loads as the cursor nears the end
AHEAD = 40  # rows left below the cursor when the next page is read
SEARCH_K = 50  # results of a search
POLL_S = 1.0  # how often the event log is read for other processes' writes
MAIN_VIEW_ACTIONS = frozenset(
    {"focus_search", "focus_results", "edit", "forget", "tag", "export", "mark", "quarantine", "contradictions"}
    | {"clusters", "lifecycle", "agents"}
)
ORDERS: dict[str, Callable[[Hit], object]] = {
    "newest": lambda h: h.time,
    "oldest": lambda h: h.time,
    "most trusted": lambda h: h.trust,
    "least trusted": lambda h: h.trust,
}


class MemoryApp(SelectionActions, App[None]):
    """Search results (or the whole store, a page at a time) on the left, the chosen memory on the right. Every
    call into the store runs on one worker thread, in order: the UI never waits on SQLite or the model."""

    TITLE = "slm"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]
    # each screen's main widget: on the main view the results, so `/` reaches the app's binding, not the search box
    AUTO_FOCUS = "#results, #held, #open, #agents, #tree, #nearest, #line, #text"
    CSS = """
    #search { margin: 0 1; }
    #results { width: 3fr; }
    #detail { width: 2fr; border-left: solid $primary; padding: 0 1; }
    /* under 100 columns one pane at a time: the results, or the memory being read */
    Screen.-narrow #detail { display: none; }
    Screen.-narrow.-reading #detail { display: block; width: 1fr; border-left: none; }
    Screen.-narrow.-reading #results { display: none; }
    Screen.-narrow #filters { grid-size: 4 2; }
    #events { height: 5; border-top: solid $primary; }
    Screen.-narrow #events { height: 3; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("/", "focus_search", "Search"),
        Binding("escape,down", "focus_results", "Results", show=False),  # from the search box or a memory
        Binding("space", "mark", "Mark", show=False),
        Binding("e", "edit", "Edit"),
        Binding("number_sign", "tag", "Tag"),
        Binding("x", "export", "Export"),
        Binding("d,delete", "forget", "Forget"),
        Binding("t", "quarantine", "Quarantine"),
        Binding("c", "contradictions", "Contradictions"),
        Binding("a", "agents", "Agents", show=False),
        Binding("g", "clusters", "Clusters", show=False),
        Binding("l", "lifecycle", "Lifecycle", show=False),
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
        self._listing: list[int] = []  # every memory the view lists, in order; the table holds those read so far
        self.marked: set[int] = set()  # memories marked with space: what tag and export act on
        self._generation = 0  # which list the table holds: a page read for an older one is dropped
        self._reading: tuple[int, int] | None = None  # (list, first row) of the page being read

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Search memories   ( / )", id="search")
        yield FilterBar(id="filters")
        with Horizontal():
            yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
            yield MemoryDetail(id="detail")
        yield RichLog(id="events", max_lines=500, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#results", DataTable)
        table.add_column("#", key="rank", width=4)
        for name in ("when", "project", "agent", "trust", "zone"):
            table.add_column(name, key=name)
        table.add_column("memory", key="text")  # last: a long text runs off the edge, not the facts
        self.refresh_results("")  # first: the list is what the first paint waits for
        self.load_filters()
        self.follow_events()
        self.set_interval(POLL_S, self.follow_events)

    def on_unmount(self) -> None:
        self._store_thread.shutdown(wait=True)

    async def in_store(self, call: Callable[[], T]) -> T:
        """Run `call` on the store's own thread: one at a time, in the order asked. A failure that is not slm's
        own error comes back as one, so the screens show it as a notification, never as a traceback."""
        try:
            answer = await asyncio.get_running_loop().run_in_executor(self._store_thread, call)
        except SlmError:
            raise
        except Exception as err:
            log.exception("slm tui: a call into the store failed")
            raise SlmError(f"unexpected error: {err!r}", "the app carries on; please report this") from err
        if not self.is_running:  # the app closed meanwhile and its widgets are gone: the worker ends, cancelled
            raise asyncio.CancelledError
        return answer

    def report(self, err: SlmError) -> None:
        """An error from the store, as a notification: never a traceback on the screen."""
        self.notify(err.message + (f"\n{err.hint}" if err.hint else ""), title="slm", severity="error")

    # -- filtering ------------------------------------------------------------------------------------------------
    @work(group="filters")
    async def load_filters(self) -> None:
        """The projects, agents and tags the store holds, most memories first."""
        memory = self.memory
        counts = await self.in_store(lambda: [memory.counts("project"), memory.counts("agent"), memory.tags()])
        bar = self.query_one(FilterBar)
        for name, counted in zip(("project", "agent", "tag"), counts, strict=True):
            bar.counted(name, counted)

    @on(Select.Changed)
    def _filtered(self) -> None:
        self.refresh_results(self.query_one("#search", Input).value)

    # -- the list: a search's results, or the whole store --------------------------------------------------------
    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self.refresh_results(event.value)

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self.action_focus_results()

    @work(exclusive=True, group="results")
    async def refresh_results(self, query: str) -> None:
        """The recall for `query` after a pause in typing (a newer keystroke cancels this one), or else every
        memory the filters pass, its first page read."""
        query = query.strip()
        if query:
            await asyncio.sleep(self.debounce)
        chosen = self.query_one(FilterBar).chosen()  # read here: widgets belong to the UI thread
        try:
            if query:
                hits = await self.in_store(lambda: self._search(query, chosen))
                self._hits, self._listing = {h.id: h for h in hits}, [h.id for h in hits]
                rows = [_hit_row(h) for h in hits]
            else:
                self._hits = {}
                self._listing = await self.in_store(lambda: self.memory.browse(**_browsing(chosen)))
                page = self._listing[:PAGE]
                rows = [_listed_row(item) for item in await self.in_store(lambda: self.memory.summaries(page))]
        except SlmError as err:
            self.report(err)
            return
        table = self.query_one("#results", DataTable)
        table.clear()
        self._generation += 1
        self._add_rows(rows)
        where = chosen.describe()
        said = f"{len(rows)} for “{query}”" if query else f"{len(self._listing):,} memories, {chosen.sort or 'newest'}"
        self.sub_title = said + (f" · {where}" if where else "")

    def _search(self, query: str, chosen: Chosen) -> list[Hit]:
        hits = self.memory.recall(query, k=SEARCH_K, **chosen.filters)
        hits = [h for h in hits if chosen.zone in (None, h.zone) and _in_band(h.trust, chosen.trust)]
        if chosen.sort is not None:
            hits.sort(key=ORDERS[chosen.sort], reverse=chosen.sort in ("newest", "most trusted"))
        return hits

    def _add_rows(self, rows: list[tuple]) -> None:
        table = self.query_one("#results", DataTable)
        for row in rows:
            rank = "●" if row[0] in self.marked else str(table.row_count + 1)
            table.add_row(rank, *row[1:], key=str(row[0]))

    @on(DataTable.RowHighlighted, "#results")
    def _moved(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        start = table.row_count
        near_the_end = event.cursor_row >= start - AHEAD and start < len(self._listing)
        if not self._hits and near_the_end and self._reading != (self._generation, start):  # not being read already
            self.next_page(start)

    @work(group="page")
    async def next_page(self, start: int) -> None:
        """The next page of the browsed list, read as the cursor nears the end of what the table holds."""
        page, generation = self._listing[start : start + PAGE], self._generation
        self._reading = (generation, start)
        try:
            listed = await self.in_store(lambda: self.memory.summaries(page))
        except SlmError as err:
            self.report(err)
            return
        finally:
            self._reading = None
        if generation == self._generation:  # still the list this page belongs to
            self._add_rows([_listed_row(item) for item in listed])

    # -- reading one memory ---------------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#results")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_memory(int(event.row_key.value))

    @work(exclusive=True, group="detail")
    async def open_memory(self, memory_id: int) -> None:
        try:
            view = await self.in_store(lambda: describe(self.memory, memory_id, self._hits.get(memory_id)))
        except SlmError as err:
            self.report(err)
            return
        self.query_one("#detail", MemoryDetail).show(view)
        self.screen.add_class("-reading")  # under 100 columns the memory takes the place of the results

    # -- other processes' writes ----------------------------------------------------------------------------------
    @work(exclusive=True, group="events")
    async def follow_events(self) -> None:
        """New events of memory.db since the last look (the newest few at the start); when memories were written
        or deleted and nothing is being searched, the list is read again."""
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

    # -- keys -----------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The main view's keys act there only: on the quarantine, `d` must not forget what the results highlight."""
        return action not in MAIN_VIEW_ACTIONS or len(self.screen_stack) == 1

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action in the command palette (`ctrl+p`) too, beside Textual's own."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Search", "Focus the search box ( / )", self.action_focus_search)
        yield SystemCommand("Mark", "Mark the highlighted memory for tag and export ( space )", self.action_mark)
        yield SystemCommand("Edit", "Write a new version of the highlighted memory ( e )", self.action_edit)
        yield SystemCommand("Tag", "Add or remove tags of the marked or highlighted memories ( # )", self.action_tag)
        yield SystemCommand("Export", "Write the marked memories, or the list, to a file ( x )", self.action_export)
        yield SystemCommand("Forget", "Forget the highlighted memory, after asking ( d )", self.action_forget)
        yield SystemCommand("Quarantine", "Approve or reject held memories ( t )", self.action_quarantine)
        yield SystemCommand("Contradictions", "Resolve or dismiss contradictions ( c )", self.action_contradictions)
        yield SystemCommand("Agents", "Each agent's trust, its evidence and reasons ( a )", self.action_agents)
        yield SystemCommand("Clusters", "Browse the clusters and their memories ( g )", self.action_clusters)
        yield SystemCommand("Lifecycle", "Zones, the memories nearest the archive, a step ( l )", self.action_lifecycle)

    def action_quarantine(self) -> None:
        self.push_screen(QuarantineScreen())

    def action_contradictions(self) -> None:
        self.push_screen(ContradictionsScreen())

    def action_agents(self) -> None:
        self.push_screen(AgentsScreen())

    def action_clusters(self) -> None:
        self.push_screen(ClustersScreen())

    def action_lifecycle(self) -> None:
        self.push_screen(LifecycleScreen())

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_focus_results(self) -> None:
        self.screen.remove_class("-reading")
        self.query_one("#results", DataTable).focus()


def _browsing(chosen: Chosen) -> dict:
    return {"zone": chosen.zone, "trust": chosen.trust, "sort": chosen.sort or "newest", **chosen.filters}


def _in_band(trust: float, band: str | None) -> bool:
    return band is None or TRUST_BANDS[band][0] <= trust < TRUST_BANDS[band][1]


def _hit_row(h: Hit) -> tuple:
    return (h.id, h.time[:10], h.project, h.agent, f"{h.trust:.2f}", h.zone, preview(h.text))


def _listed_row(item: Listed) -> tuple:
    m = item.row
    when = (m.event_time or m.created_at)[:10]
    return (m.id, when, m.project, m.agent, f"{item.trust:.2f}", item.zone, preview(m.content))


def _event_line(event: Event) -> Text:
    what = f" #{event.memory_id}" if event.memory_id is not None else ""
    project = event.payload.get("project") if isinstance(event.payload, dict) else None
    where = f" in {project}" if project else ""
    return Text(f"{event.time[11:19]}  {event.agent} ({event.protocol})  {event.type}{what}{where}")
