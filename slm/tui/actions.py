"""What the main view of `slm tui` does to memories: mark them, write a new version, change tags, export, forget.
Tag and export act on the marked memories (`space`), else on the highlighted one (export: on the whole list)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.widgets import DataTable, Input

from slm.errors import InvalidInput, SlmError
from slm.tui.common import highlighted_id
from slm.tui.confirm import Confirm
from slm.tui.edit import AskLine, EditMemory

if TYPE_CHECKING:
    from slm.tui.app import MemoryApp

    Base = MemoryApp
else:
    Base = object


class SelectionActions(Base):
    def _table(self) -> DataTable:
        return self.query_one("#results", DataTable)

    def _highlighted_memory(self) -> int | None:
        return highlighted_id(self._table())

    def _on_highlighted(self, act: Callable[[int], object]) -> None:
        memory_id = self._highlighted_memory()
        if memory_id is not None:
            act(memory_id)

    def _chosen_memories(self) -> list[int]:
        """The marked memories, in the list's order; else the highlighted one."""
        if self.marked:
            return [i for i in self._listing if i in self.marked] + sorted(self.marked - set(self._listing))
        highlighted = self._highlighted_memory()
        return [] if highlighted is None else [highlighted]

    def _reload(self) -> None:
        self.refresh_results(self.query_one("#search", Input).value)

    def action_mark(self) -> None:
        memory_id = self._highlighted_memory()
        if memory_id is None:
            return
        table = self._table()
        self.marked ^= {memory_id}
        rank = "●" if memory_id in self.marked else str(table.cursor_row + 1)
        table.update_cell(str(memory_id), "rank", rank)
        table.action_cursor_down()

    # -- one memory -----------------------------------------------------------------------------------------------
    def action_edit(self) -> None:
        self._on_highlighted(self.edit_memory)

    @work(group="edit")
    async def edit_memory(self, memory_id: int) -> None:
        try:
            row = await self.in_store(lambda: self.memory.get(memory_id))
            text = await self.push_screen_wait(EditMemory(memory_id, row.content))
            if text is None:
                return
            new = await self.in_store(lambda: self.memory.update(memory_id, text))
        except SlmError as err:
            self.report(err)
            return
        self.notify(f"#{memory_id} updated: the new version is #{new}", title="slm")
        self._reload()
        self.open_memory(int(new))

    def action_forget(self) -> None:
        self._on_highlighted(self.forget_memory)

    @work(group="forget")
    async def forget_memory(self, memory_id: int) -> None:
        try:
            row = await self.in_store(lambda: self.memory.get(memory_id))
        except SlmError as err:
            self.report(err)
            return
        question = f"Forget memory #{memory_id} and its earlier versions?"
        consequence = "Recall will not find it again; `slm erase` also removes every trace and gives a receipt."
        if not await self.push_screen_wait(Confirm(question, row.content, consequence, "Forget")):
            return
        try:
            gone = await self.in_store(lambda: self.memory.forget(memory_id))
        except SlmError as err:
            self.report(err)
            return
        self.marked -= set(gone)
        self.notify(f"forgot {', '.join(f'#{i}' for i in gone)}", title="slm")
        self._reload()

    # -- tags -----------------------------------------------------------------------------------------------------
    def action_tag(self) -> None:
        chosen = self._chosen_memories()
        if chosen:
            self.tag_memories(chosen)

    @work(group="tag")
    async def tag_memories(self, ids: list[int]) -> None:
        try:
            now = await self.in_store(lambda: self.memory.get(ids[0]).tags) if len(ids) == 1 else None
        except SlmError as err:
            self.report(err)
            return
        which = f"memory #{ids[0]}" if len(ids) == 1 else f"the {len(ids)} marked memories"
        has = f" (now: {', '.join(now) or 'none'})" if now is not None else ""
        how = "tags to add, and -tag to remove one, separated by commas"
        line = await self.push_screen_wait(AskLine(f"Tags of {which}{has}", how, "", "ops, -draft"))
        if line is None:
            return
        try:
            add, remove = _tag_changes(line)
            for memory_id in ids:
                await self.in_store(lambda memory_id=memory_id: self.memory.tag(memory_id, add=add, remove=remove))
        except SlmError as err:
            self.report(err)
            return
        self.notify(f"tags changed on {which}", title="slm")
        self.load_filters()
        self._reload()

    # -- export ---------------------------------------------------------------------------------------------------
    def action_export(self) -> None:
        self.export_memories(list(self._chosen_memories()) if self.marked else list(self._listing))

    @work(group="export")
    async def export_memories(self, ids: list[int]) -> None:
        if not ids:
            self.notify("nothing to export: the list is empty", title="slm", severity="warning")
            return
        which = "marked memories" if self.marked else "memories listed"
        default = str(Path.home() / f"slm-export-{datetime.now(UTC):%Y%m%d-%H%M%S}.jsonl")
        detail = "their earlier versions too, as JSONL that `slm import` reads; the file is readable by you only"
        line = await self.push_screen_wait(AskLine(f"Export the {len(ids):,} {which} to", detail, default))
        if line is None:
            return
        target = Path(line).expanduser()
        if target.is_file():
            replace = Confirm(f"Replace {target}?", "", "The file there now is replaced by this export.", "Replace")
            if not await self.push_screen_wait(replace):
                return
        try:
            counts = await self.in_store(lambda: self._export(target, ids))
        except SlmError as err:
            self.report(err)
            return
        self.notify(f"exported {counts['memories']:,} memories (with their history) to {line}", title="slm")

    def _export(self, target: Path, ids: list[int]) -> dict:
        from slm.core import transfers

        with transfers.open_target(target, self.memory.path) as sink:
            return self.memory.transfers.export(sink, selection=transfers.Selection.of(ids=ids))


def _tag_changes(line: str) -> tuple[list[str], list[str]]:
    """ "ops, deploy, -draft": add ops and deploy, remove draft."""
    words = [word.strip() for word in line.split(",") if word.strip()]
    remove = [word[1:].strip() for word in words if word.startswith("-")]
    add = [word for word in words if not word.startswith("-")]
    if not add and not any(remove):
        raise InvalidInput("no tag given", "type tags separated by commas; -tag removes one")
    return add, remove
