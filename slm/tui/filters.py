"""The main view's filters: project, agent, tag, lifecycle zone, trust band, time range and order, one `Select`
each; they narrow the search results and the browsed list alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Select

from slm.core.browsing import SORTS, TRUST_BANDS, ZONES

TIMES = {"1": "today", "7": "past week", "30": "past month", "365": "past year"}  # days back: what a person says
CHOICES = ("project", "agent", "tag", "zone", "trust", "time", "sort")


@dataclass(frozen=True)
class Chosen:
    """What the filters say: `recall`'s and `browse`'s shared filters, then the zone, band and order."""

    filters: dict = field(default_factory=dict)
    zone: str | None = None
    trust: str | None = None
    sort: str | None = None  # None: the best answers first when searching, the newest when browsing
    period: str | None = None  # the time range in words ("past week")

    def describe(self) -> str:
        said = [f"{name} {value}" for name, value in self.filters.items() if name not in ("tags", "since")]
        said += [f"tag {tag}" for tag in self.filters.get("tags", ())]
        said += [f"{self.zone} zone"] * bool(self.zone) + [f"{self.trust} trust"] * bool(self.trust)
        said += [self.period] * bool(self.period)
        return ", ".join(said)


class FilterBar(Grid):
    """Seven compact choices in one row (two under 100 columns: the app's CSS says so, where the width is known)."""

    DEFAULT_CSS = """
    FilterBar { height: auto; grid-size: 7 1; grid-gutter: 0 1; margin: 0 1; }
    FilterBar Select { width: 1fr; }
    """
    PROMPTS: ClassVar[dict[str, str]] = {
        "project": "every project",
        "agent": "every agent",
        "tag": "any tag",
        "zone": "any zone",
        "trust": "any trust",
        "time": "any time",
        "sort": "best first",
    }

    def compose(self) -> ComposeResult:
        for name in CHOICES:
            yield Select[str]([], prompt=self.PROMPTS[name], id=name, compact=True)

    def on_mount(self) -> None:
        self._options("zone", ((zone, zone) for zone in ZONES))
        self._options("trust", ((f"{band} trust", band) for band in TRUST_BANDS))
        self._options("time", ((said, days) for days, said in TIMES.items()))
        self._options("sort", ((order, order) for order in SORTS))

    def counted(self, name: str, counts: dict[str, int]) -> None:
        """Offer these projects, agents or tags, the most used first, each with how many memories it has."""
        self._options(name, ((f"{value} ({n})", value) for value, n in sorted(counts.items(), key=lambda i: -i[1])))

    def _options(self, name: str, options) -> None:
        self.query_one(f"#{name}", Select).set_options(options)

    def chosen(self) -> Chosen:
        value = {name: self.query_one(f"#{name}", Select).value for name in CHOICES}
        picked = {name: chosen for name, chosen in value.items() if isinstance(chosen, str)}
        filters: dict = {name: picked[name] for name in ("project", "agent") if name in picked}
        if "tag" in picked:
            filters["tags"] = [picked["tag"]]
        if "time" in picked:
            filters["since"] = (datetime.now(UTC) - timedelta(days=int(picked["time"]))).isoformat()
        period = TIMES.get(picked.get("time", ""))
        return Chosen(filters, picked.get("zone"), picked.get("trust"), picked.get("sort"), period)
