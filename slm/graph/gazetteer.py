"""The gazetteer of technologies, organisations, places and first names (data/gazetteer.tsv, read from the
slm.graph package) and the one trie-shaped regex of all its aliases.

It is loaded and compiled once per process, on first use, so that every write and recall query after the first
finds an alias in a few regex steps whatever the size of the list. The case flags of the aliases ("=", "?", "!",
"@") are explained in the header of the TSV; their context rules live in gazetteer_finder.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from slm.graph.entity_keys import Entity, norm

GAZETTEER = "data/gazetteer.tsv"  # inside the slm.graph package


_FLAGS = "=?!@"  # see the header of gazetteer.tsv
_ROW_KINDS = ("technology", "organization", "place", "person")


@dataclass(frozen=True, slots=True)
class Alias:
    entity: Entity
    flag: str  # "" (any case) or one of _FLAGS


@dataclass(frozen=True, slots=True)
class Gazetteer:
    any_case: dict[str, Alias]  # lowercased alias -> alias
    exact: dict[str, Alias]  # flagged alias as written -> alias
    first_names: frozenset[str]
    trie: str  # every alias, lowercased, as one regex alternation
    conflicts: tuple[str, ...]  # aliases claimed by two entities (the first wins); the tests keep this empty

    def lookup(self, surface: str) -> Alias | None:
        """The alias `surface` (whitespace-normalised) spells: in any case, or exactly as written if flagged."""
        return self.any_case.get(surface.lower()) or self.exact.get(surface)

    @property
    def pattern(self) -> re.Pattern[str]:
        """For lowercased text: no IGNORECASE, which makes a trie of literals about 4 times slower."""
        return _compiled(self.trie, 0)

    @property
    def pattern_any_case(self) -> re.Pattern[str]:
        """For the rare text whose lowercase changes its length ("İ"), so that spans stay aligned."""
        return _compiled(self.trie, re.IGNORECASE)


@cache
def load() -> Gazetteer:
    """Loaded once per process on first use (about 35 ms with the regex compile), not at import."""
    text = resources.files("slm.graph").joinpath(GAZETTEER).read_text(encoding="utf-8")
    return _build(text.splitlines())


@cache
def _compiled(trie: str, flags: int) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.\-@#$])(?:{trie})(?![\w+#@]|\.\w)", flags)


def _build(lines: Iterable[str]) -> Gazetteer:
    any_case: dict[str, Alias] = {}
    exact: dict[str, Alias] = {}
    first_names: set[str] = set()
    conflicts: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, kind, aliases = _row(line, number)
        if kind == "person":
            first_names.add(name)
            continue
        entity = Entity(name.lower(), name, kind)
        for alias in aliases:
            flag = alias[0] if alias[0] in _FLAGS else ""
            surface = norm(alias[len(flag) :])
            table, key = (exact, surface) if flag else (any_case, surface.lower())
            other = table.get(key) or (any_case.get(key.lower()) if flag else None)
            if other is not None and other.entity != entity:
                conflicts.append(f"line {number}: {surface!r} is already {other.entity.name}")
                continue
            table[key] = Alias(entity, flag)
    lowered = {*any_case, *(surface.lower() for surface in exact)}
    return Gazetteer(any_case, exact, frozenset(first_names), _trie_pattern(_trie(lowered)), tuple(conflicts))


def _row(line: str, number: int) -> tuple[str, str, list[str]]:
    """One gazetteer line: the name, its kind, and its aliases, the name first unless an alias respells it."""
    cells = [cell.strip() for cell in line.split("\t")]
    if len(cells) < 2 or not cells[0] or cells[1] not in _ROW_KINDS:
        raise ValueError(f"{GAZETTEER} line {number}: expected 'name<TAB>kind[<TAB>aliases]', got {line!r}")
    name, kind = norm(cells[0]), cells[1]
    aliases = [alias.strip() for alias in cells[2].split("|")] if len(cells) > 2 else []
    aliases = [alias for alias in aliases if alias.lstrip(_FLAGS)]
    if not any(norm(alias.lstrip(_FLAGS)).lower() == name.lower() for alias in aliases):
        aliases.insert(0, name)
    return name, kind, aliases


def _trie(words: Iterable[str]) -> dict:
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return root


def _trie_pattern(node: dict) -> str:
    """A trie as a regex: a word costs a few steps whatever the number of aliases. Greedy, so the longest alias
    wins, backtracking to a shorter one when the longer fails its word boundary ("Gopher" is not "Go")."""
    branches = [_char_pattern(char) + _trie_pattern(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return "(?!)" if not node else ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _char_pattern(char: str) -> str:
    return {" ": r"\s+", "'": "['’]"}.get(char) or re.escape(char)
