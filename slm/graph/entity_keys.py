"""What an entity is and how its key is spelled, kept apart so that every finder builds keys the same way.

A key is canonical and lowercase: the gazetteer's canonical name ("postgresql"), else a prefix and the normalised
text ("person:sarah chen", "path:src/app/main.py", "id:generate_invoices", "version:python 3.12").
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("technology", "person", "place", "organization", "path", "url", "identifier", "version", "date", "name")


@dataclass(frozen=True, slots=True)
class Entity:
    key: str  # canonical identity, lowercase, e.g. "postgresql", "person:sarah", "path:src/app/main.py"
    name: str  # display name, e.g. "PostgreSQL", "Sarah", "src/app/main.py"
    kind: str  # one of KINDS


def norm(surface: str) -> str:
    """Whitespace runs to one space, typographic apostrophes to ASCII: how aliases and names are compared."""
    return " ".join(surface.split()).replace("’", "'")


def person_entity(name: str) -> Entity:
    return Entity(f"person:{name.lower()}", name, "person")


def path_entity(path: str) -> Entity:
    return Entity(f"path:{path.lower()}", path, "path")


def identifier_entity(name: str, display: str | None = None) -> Entity:
    return Entity(f"id:{name.lower()}", display or name, "identifier")


def version_entity(number: str, technology: Entity | None = None) -> Entity:
    plain = number.lower().removeprefix("v")
    if technology is None:
        return Entity(f"version:{plain}", number, "version")
    return Entity(f"version:{technology.key} {plain}", f"{technology.name} {plain}", "version")
