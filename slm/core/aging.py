"""Running the lifecycle over a store: a Langevin step (when due), zone counts, one memory's place."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from slm import validation
from slm.core.callers import Caller
from slm.errors import InvalidInput
from slm.lifecycle import langevin
from slm.lifecycle import steps as lifecycle


class Aging:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.store = caller.store
        self.repo = caller.store.lifecycle

    def step(self, now: object, seed: int | None) -> lifecycle.StepReport:
        moment = lifecycle.days(validation.parse_time(now, "now") or validation.now_utc())
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
            raise InvalidInput(f"the seed must be a whole number from 0 to 2^63 - 1, got {seed!r}")
        began = time.perf_counter()
        with self.store.conn.write_transaction():
            if seed is not None:
                self.repo.set_numbers({lifecycle.SEED: seed})
            report = lifecycle.step(self.repo, self.store.trust, self.store.existing_behavior(), moment)
            committing = time.perf_counter()
        commit_ms = round((time.perf_counter() - committing) * 1000, 2)
        return replace(report, seconds=time.perf_counter() - began, parts_ms=report.parts_ms | {"commit": commit_ms})

    def is_due(self) -> bool:
        return lifecycle.due(self.repo, lifecycle.days(validation.now_utc()))

    def status(self) -> dict:
        last = self.repo.get_number(lifecycle.LAST_STEP, float("nan"))
        return {
            "zones": {name: 0 for name, _ in langevin.ZONES} | self.repo.zone_counts(),
            "steps": int(self.repo.get_number(lifecycle.STEPS, 0)),
            "last_step": _from_days(last),
            "seed": int(self.repo.get_number(lifecycle.SEED, 0)),
            "due": self.is_due(),
            "zone_bounds": {name: bound for name, bound in langevin.ZONES if bound != float("inf")},
            "stiffness_per_day": langevin.STIFFNESS,
            "spread": langevin.SPREAD,
        }

    def of_memory(self, memory_id: int) -> dict:
        row = self.repo.row(self.caller.get(memory_id).id) or {}  # every write makes one in its transaction
        position = row.get("position", 0.0)
        return row | {
            "born": _from_days(row.get("born")),
            "last_used": _from_days(row.get("last_used")),
            "zone": str(langevin.zone_of(np.array([position]))[0]),
            "ball_radius": float(langevin.ball_radius(np.array(position))),  # its coordinate in the Poincaré ball
            "rank_weight": float(langevin.rank_weight(position)),
        }

    def nearest_archive(self, limit: int) -> list[dict]:
        limit = validation.clean_limit(limit, "limit", 1000)
        found = self.repo.nearest_archive(limit)
        rows = {row.id: row for row in self.store.repo.get_many([memory_id for memory_id, _, _ in found])}
        return [
            {"memory": rows[i], "position": p, "zone": zone, "rank_weight": float(langevin.rank_weight(p))}
            for i, p, zone in found
            if i in rows
        ]


def _from_days(value: float | None) -> str | None:
    """Days since 1970 (the lifecycle's clock) as ISO-8601 UTC; None for no value."""
    if value is None or value != value:
        return None
    return validation.format_time(datetime.fromtimestamp(value * 86400, UTC))
