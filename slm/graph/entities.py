"""Entities in a memory or a question, found without a model, each with a canonical key so that "Postgres" in one
memory, "psql" in another and "PostgreSQL 15" in a question all meet on the entity "postgresql".

Technologies, organisations and places come from a gazetteer (gazetteer.py); people, paths, URLs, identifiers,
versions, dates and other names from finders that start at characters rare in prose (code_finders.py,
number_finders.py, gazetteer_finder.py, name_finders.py). This module runs them in order and keeps the best of
overlapping finds (spans.py). It runs inside every write and every recall query, so it is built for speed. How
overlapping finds are ranked and what the keys look like: docs/ARCHITECTURE.md, "Engine", entities.py.
"""

from __future__ import annotations

from collections.abc import Callable

from slm.graph.code_finders import backticked, calls, dotted, identifiers, paths, urls
from slm.graph.entity_keys import KINDS, Entity, norm, person_entity
from slm.graph.gazetteer import GAZETTEER, Gazetteer, load
from slm.graph.gazetteer_finder import gazetteer_matches
from slm.graph.name_finders import capitalised
from slm.graph.number_finders import numbers
from slm.graph.spans import Candidate, claim, distinct

__all__ = ["GAZETTEER", "KINDS", "Entity", "canonical", "extract"]

# In this order: it breaks ties between candidates of one rank, length and position.
_FINDERS: tuple[Callable[[str, Gazetteer, list[Candidate]], None], ...] = (
    urls,
    paths,
    dotted,
    numbers,
    calls,
    gazetteer_matches,
    identifiers,
)


def extract(text: str, limit: int = 64) -> list[Entity]:
    """Distinct entities (by key) in order of first appearance, at most `limit`."""
    if not isinstance(text, str):
        raise TypeError(f"extract() needs the text as a str, not {type(text).__name__}")
    if limit <= 0 or not text.strip():
        return []
    gaz = load()
    claimed = bytearray(len(text))  # 1 where a kept span already sits
    spans = claim(_candidates(text, gaz), claimed)
    spans += capitalised(text, claimed, gaz)
    spans += backticked(text, spans, gaz)
    return distinct(spans, limit)


def canonical(surface: str) -> Entity | None:
    """The entity a single surface form names via the gazetteer/aliases ("Postgres" -> PostgreSQL), else None.

    Case rules apply ("pg" names PostgreSQL, "PG" nothing) but context rules cannot: a lone "Go" or "C" is taken
    at its word. A known capitalised first name is a person.
    """
    if not isinstance(surface, str):
        raise TypeError(f"canonical() needs a str, not {type(surface).__name__}")
    gaz, surface = load(), norm(surface)
    alias = gaz.lookup(surface)
    if alias is not None:
        return alias.entity
    return person_entity(surface) if surface in gaz.first_names else None


def _candidates(text: str, gaz: Gazetteer) -> list[Candidate]:
    found: list[Candidate] = []
    for finder in _FINDERS:
        finder(text, gaz, found)
    return found
