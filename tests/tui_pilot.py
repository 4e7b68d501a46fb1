"""What the Pilot tests of `slm tui` share: the texts the results table shows, and waiting for the store's answers."""

from __future__ import annotations

from textual.widgets import DataTable

from slm.tui.app import MemoryApp


def shown(app: MemoryApp) -> list[str]:
    table = app.query_one("#results", DataTable)
    return [table.get_row_at(i)[-1] for i in range(table.row_count)]


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
