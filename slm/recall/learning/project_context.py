"""Layer 2, project context: the project being worked on when the caller named none to filter by, inferred from
the caller's workspace, what its session used lately and the entities of the question that point to one project;
its memories are favoured, the others' kept."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from slm.recall.learning.replay import Facts, Shown

WORKSPACE = 1.0  # how much each clue weighs in the distribution over projects
RECENT = 0.5
ENTITY = 0.5
POINTS = 0.8  # an entity points to a project when this share of its used memories are that project's
MIN_USES = 3.0
FORGOTTEN = 0.05


@dataclass
class ProjectContext:
    """Recency-weighted uses per project, and per entity of the used memories per project."""

    activity: dict[str, float] = field(default_factory=dict)
    by_entity: dict[str, dict[str, float]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, r: Shown, facts: Facts) -> None:
        for memory_id, weight in r.positives.items():
            project = facts.projects.get(memory_id)
            if project is None:
                continue
            self.activity[project] = self.activity.get(project, 0.0) + weight
            for key, name, _ in facts.entities.get(memory_id, ()):
                projects = self.by_entity.setdefault(key, {})
                projects[project] = projects.get(project, 0.0) + weight
                self.names.setdefault(key, name)

    def decay(self, factor: float) -> None:
        self.activity = {p: w * factor for p, w in self.activity.items() if w * factor >= FORGOTTEN}
        kept = {}
        for key, projects in self.by_entity.items():
            projects = {p: w * factor for p, w in projects.items() if w * factor >= FORGOTTEN}
            if projects:
                kept[key] = projects
        self.by_entity = kept
        self.names = {k: n for k, n in self.names.items() if k in kept}

    def points_to(self, key: str) -> tuple[str, float] | None:
        """The project an entity's used memories nearly all belong to, and that share; None if none."""
        projects = self.by_entity.get(key)
        if not projects or len(self.activity) < 2:
            return None
        uses = sum(projects.values())
        project, weight = max(projects.items(), key=lambda item: item[1])
        return (project, weight / uses) if uses >= MIN_USES and weight / uses >= POINTS else None

    def distribution(self, workspace: str | None, recent: list[str], query_keys: frozenset[str]) -> dict[str, float]:
        """How likely each project is the one worked on: the clues weighed and summed to 1 (empty: no clue)."""
        weights: dict[str, float] = defaultdict(float)
        if workspace:
            weights[workspace] += WORKSPACE
        for project in recent:
            weights[project] += RECENT / len(recent)
        pointed = [found[0] for k in query_keys if (found := self.points_to(k)) is not None]
        for project in pointed:
            weights[project] += ENTITY / len(pointed)
        total = sum(weights.values())
        return {p: w / total for p, w in weights.items()} if total else {}

    def feature(self, memory_ids: list[int], facts: Facts, likely: dict[str, float]) -> np.ndarray:
        return np.array([likely.get(facts.projects.get(i, ""), 0.0) for i in memory_ids])

    def detected(self, count: int = 8) -> list[dict]:
        """The projects the user works on, busiest first, with the names that point to each."""
        total = sum(self.activity.values()) or 1.0
        pointers = {k: found for k in self.by_entity if (found := self.points_to(k)) is not None}
        out = []
        for project, weight in sorted(self.activity.items(), key=lambda item: -item[1])[:count]:
            clues = sorted((k for k, (p, _) in pointers.items() if p == project),
                           key=lambda k: -sum(self.by_entity[k].values()))  # fmt: skip
            out.append({"project": project, "share": round(weight / total, 3),
                        "named_by": [self.names[k] for k in clues[:5]]})  # fmt: skip
        return out

    def to_dict(self) -> dict:
        return {
            "activity": {p: round(w, 4) for p, w in self.activity.items()},
            "by_entity": {k: {p: round(w, 4) for p, w in projects.items()} for k, projects in self.by_entity.items()},
            "names": self.names,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> ProjectContext:
        return cls(dict(raw["activity"]), {k: dict(v) for k, v in raw["by_entity"].items()}, dict(raw["names"]))


def recent_projects(shown: list[Shown], facts: Facts) -> list[str]:
    """The projects of what these recalls (the session's latest) had used."""
    return [
        project for r in shown for memory_id in r.positives if (project := facts.projects.get(memory_id)) is not None
    ]
