"""Candidate spans and how their overlaps are decided, so that one stretch of text names one entity.

Every finder proposes spans with a rank (URL > path > file name > date > call > gazetteer > version > identifier);
by rank, then length, then position, a span is kept unless a better one already holds one of its characters: a
URL's path is not also a path, and "Google Cloud" beats "Google".
"""

from __future__ import annotations

from operator import itemgetter

from slm.graph.entity_keys import Entity, person_entity

# Rank of each finder's spans: the lower wins an overlap.
URL_RANK, PATH_RANK, FILE_RANK, DATE_RANK, CALL_RANK, GAZ_RANK, VERSION_RANK, BARE_VERSION_RANK, ID_RANK = range(9)
Candidate = tuple[int, int, int, int, Entity]  # rank, -length, start, end, entity: sorts best first
Span = tuple[int, int, Entity]  # start, end, entity
_CANDIDATE_ORDER = itemgetter(0, 1, 2)  # never the entity: Entity has no order


def candidate(rank: int, start: int, end: int, entity: Entity) -> Candidate:
    return rank, start - end, start, end, entity


def claim(candidates: list[Candidate], claimed: bytearray) -> list[Span]:
    """Keep candidates by rank, then length, then position, unless a kept one already holds any of their text."""
    kept: list[Span] = []
    for _, _, start, end, entity in sorted(candidates, key=_CANDIDATE_ORDER):
        if claimed.find(1, start, end) == -1:
            claimed[start:end] = b"\x01" * (end - start)
            kept.append((start, end, entity))
    return kept


def distinct(spans: list[Span], limit: int) -> list[Entity]:
    """First appearances, in order; a name that the text elsewhere shows to be a person is that person ("Emeka and
    Tariq paired on it. Emeka reviewed it." makes both mentions of Emeka the same person)."""
    people = {entity.name.lower() for _, _, entity in spans if entity.kind == "person"}
    seen: dict[str, Entity] = {}
    for _, _, entity in sorted(spans, key=itemgetter(0)):
        if entity.kind == "name" and entity.name.lower() in people:
            entity = person_entity(entity.name)
        if entity.key not in seen:
            seen[entity.key] = entity
            if len(seen) == limit:
                break
    return list(seen.values())
