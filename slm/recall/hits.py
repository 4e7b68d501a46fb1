"""What a recall returns: the memories with their ranks per channel, trust, zone and whether they still hold."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from slm.recall.weighing import UNWEIGHED, Standing
from slm.storage.memories import MemoryRow


@dataclass(frozen=True)
class ChannelRank:
    rank: int  # 1-based in the channel; 0 for a group of the learned ranker's features, which do not rank
    score: float  # the channel's own score: BM25 (higher is better), cosine, PageRank mass, day number
    contribution: float = 0.0  # what it added to the score: weight / (RRF_K + rank), or its features' share
    parts: dict[str, float] = field(default_factory=dict)  # the learned ranker's features behind `contribution`


@dataclass(frozen=True)
class Hit:
    id: int
    text: str
    score: float  # 1 / (60 + learned rank), or the fused RRF score; weighted by trust and the lifecycle
    time: str  # event time if known, else when it was stored
    agent: str
    project: str
    kind: str
    tags: tuple[str, ...]
    meta: dict
    channels: dict[str, ChannelRank] = field(default_factory=dict)
    trust: float = 1.0  # the memory's trust: its author's, moved by corroborations and contradictions
    zone: str = "active"  # its lifecycle zone: active, warm, cold or archived
    current: bool = True  # False once later claims superseded everything it says (it is history)

    def to_dict(self) -> dict:
        return asdict(self)


Fused = list[tuple[int, float, dict[str, ChannelRank]]]


def to_hits(
    rows: list[MemoryRow], fused: Fused, standings: dict[int, Standing] | None = None, versions: bool = False
) -> list[Hit]:
    """Hits in fused order; without `versions`, memories updated since a channel read them are dropped."""
    by_id = {row.id: row for row in rows if versions or row.superseded_by is None}
    return [
        Hit(
            id=row.id,
            text=row.content,
            score=score,
            time=row.event_time or row.created_at,
            agent=row.agent,
            project=row.project,
            kind=row.kind,
            tags=row.tags,
            meta=row.meta,
            channels=channels,
            trust=(standing := (standings or {}).get(memory_id, UNWEIGHED)).trust,
            zone=standing.zone,
            current=standing.current,
        )
        for memory_id, score, channels in fused
        if (row := by_id.get(memory_id)) is not None
    ]
