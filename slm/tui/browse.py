"""The screens that browse the store's structure: its clusters, and its lifecycle zones."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static, Tree

from slm.errors import SlmError
from slm.tui.common import open_in_main, preview, slm_app


class ClustersScreen(Screen[None]):
    """The Leiden clusters (as last built) with their labels and sizes; choosing one lists its memories, and
    `enter` on a memory opens it in the main view."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    ClustersScreen #tree { width: 2fr; }
    ClustersScreen #members { width: 3fr; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield Tree("clusters", id="tree")
            yield DataTable(id="members", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#members", DataTable)
        table.add_column("id", key="id")
        table.add_column("memory", key="text")
        self.load()

    @work(exclusive=True, group="clusters")
    async def load(self) -> None:
        app = slm_app(self)
        found = await app.in_store(lambda: app.memory.clusters(refresh=False))
        tree = self.query_one("#tree", Tree)
        tree.root.expand()
        for cluster in found:
            node = tree.root.add(f"{cluster['label']}  ({cluster['size']})", data=cluster["id"])
            for sub in cluster["subclusters"]:
                node.add_leaf(f"{sub['label']}  ({sub['size']})", data=sub["id"])
        self.sub_title = f"{len(found)} clusters" if found else "no clusters yet: run `slm graph build`"

    @on(Tree.NodeHighlighted, "#tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self.members(event.node.data)

    @work(exclusive=True, group="members")
    async def members(self, cluster_id: int) -> None:
        app = slm_app(self)
        found = await app.in_store(lambda: app.memory.cluster(cluster_id, limit=100))
        table = self.query_one("#members", DataTable)
        table.clear()
        for row in found["memories"]:
            table.add_row(str(row.id), preview(row.content), key=str(row.id))

    @on(DataTable.RowSelected, "#members")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        open_in_main(self, event.row_key.value)


class LifecycleScreen(Screen[None]):
    """How many memories each zone holds and those nearest the archive; `s` runs a lifecycle step now."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("s", "step", "Run a step"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="zones")
        yield Label("Nearest the archive (archived memories leave default recall; nothing is deleted)")
        yield DataTable(id="nearest", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#nearest", DataTable)
        for name in ("id", "zone", "distance", "weight"):
            table.add_column(name, key=name)
        table.add_column("memory", key="text")
        self.reload()

    @work(exclusive=True, group="lifecycle")
    async def reload(self) -> None:
        app = slm_app(self)
        status, nearest = await app.in_store(lambda: (app.memory.lifecycle_status(), app.memory.nearest_archive()))
        zones = "   ".join(f"{zone} {count:,}" for zone, count in status["zones"].items())
        last = status["last_step"] or "never"
        self.query_one("#zones", Static).update(f"{zones}\nsteps {status['steps']}, the last {last}")
        table = self.query_one("#nearest", DataTable)
        table.clear()
        for near in nearest:
            row = near["memory"]
            cells = (str(row.id), near["zone"], f"{abs(near['position']):.2f}", f"{near['rank_weight']:.2f}")
            table.add_row(*cells, preview(row.content), key=str(row.id))

    @work(group="step")
    async def action_step(self) -> None:
        app = slm_app(self)
        try:
            report = await app.in_store(app.memory.lifecycle_step)
        except SlmError as err:
            app.report(err)
            return
        moved = sum(report.changed.values()) if report.changed else 0
        app.notify(f"step {report.step}: {report.memories:,} memories, {moved:,} changed zone", title="slm")
        self.reload()

    @on(DataTable.RowSelected, "#nearest")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        open_in_main(self, event.row_key.value)
