"""Browsing the whole store without a query (`slm tui`'s list): every current memory that passes the filters, in
the chosen order, then read a page at a time with its trust and lifecycle zone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slm.core.callers import Caller
from slm.errors import InvalidInput
from slm.lifecycle import langevin
from slm.storage.memories import MemoryFilter, MemoryRow
from slm.trust import model as trust_model

SORTS = ("newest", "oldest", "most trusted", "least trusted")
# trust bands a person can read: held out of recall, then thirds of the rest
TRUST_BANDS = {
    "held": (0.0, trust_model.QUARANTINE_BELOW),
    "low": (trust_model.QUARANTINE_BELOW, 0.5),
    "medium": (0.5, 0.8),
    "high": (0.8, np.inf),
}
ZONES = tuple(name for name, _ in langevin.ZONES)


@dataclass(frozen=True)
class Listed:
    """One memory as a list shows it: the row, how far it is trusted, and where the lifecycle has it."""

    row: MemoryRow
    trust: float
    zone: str


class Browsing:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.store = caller.store

    def browse(self, flt: MemoryFilter, zone: str | None, trust: str | None, sort: str) -> list[int]:
        if sort not in SORTS:
            raise InvalidInput(f"unknown order {sort!r}", f"one of: {', '.join(SORTS)}")
        if zone is not None and zone not in ZONES:
            raise InvalidInput(f"unknown lifecycle zone {zone!r}", f"one of: {', '.join(ZONES)}")
        if trust is not None and trust not in TRUST_BANDS:
            raise InvalidInput(f"unknown trust band {trust!r}", f"one of: {', '.join(TRUST_BANDS)}")
        ids = self.store.repo.ordered_ids(flt, zone, newest_first=sort != "oldest")
        if trust is None and not sort.endswith("trusted") and self.caller.is_owner:
            return ids.tolist()
        trusts = self._trusts(ids)
        keep = np.ones(len(ids), bool) if self.caller.is_owner else ~trust_model.quarantined(trusts)
        if trust is not None:
            low, high = TRUST_BANDS[trust]
            keep &= (trusts >= low) & (trusts < high)
        ids, trusts = ids[keep], trusts[keep]
        if sort.endswith("trusted"):  # stable: equal trust keeps the newest first
            ids = ids[np.argsort(-trusts if sort == "most trusted" else trusts, kind="stable")]
        return ids.tolist()

    def summaries(self, ids: list[int]) -> list[Listed]:
        """These memories in the order asked (those an agent may not see, or that are gone, left out)."""
        hidden = self.caller.hidden(ids)
        rows = [row for row in self.store.repo.get_many(ids) if row.id not in hidden]
        found = [row.id for row in rows]
        trusts = self.store.trust.memory_trusts(found)
        positions = self.store.lifecycle.positions(found)
        zones = langevin.zone_of(np.array([positions.get(i, 0.0) for i in found]))
        return [Listed(row, trusts.get(row.id, 1.0), str(zone)) for row, zone in zip(rows, zones, strict=True)]

    def _trusts(self, ids: np.ndarray) -> np.ndarray:
        """Each memory's trust, aligned with `ids` (`trust_array` wants them sorted)."""
        order = np.argsort(ids)
        trusts = np.empty(len(ids))
        trusts[order] = self.store.trust.trust_array(ids[order])
        return trusts
