"""What a question says beyond its words: the people it names, its quoted phrases, its content terms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slm.recall.fts_query import STOPWORDS, fts_match, keyword_terms

_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,80})[\"“”]")
_CAPITALISED = re.compile(r"\b([A-Z][\w'’-]*)")
_POSSESSIVE = re.compile(r"['’]s?$")
_SUFFIXES = ("ing", "ies", "ied", "es", "ed", "ly", "s")
_NOT_WORD = re.compile(r"[\W_]+")
SPEAKER_KEYS = ("speaker", "role", "author", "name")


@dataclass(frozen=True)
class Query:
    text: str
    match: str | None  # the FTS5 expression: OR of the content words and the quoted phrases
    stems: tuple[str, ...]  # the content words, roughly stemmed, for coverage
    names: frozenset[str]  # capitalised words other than question and stop words, lower case: people, places
    phrases: tuple[str, ...]  # quoted phrases, lower case


def analyse(text: str) -> Query:
    words = _CAPITALISED.findall(text)
    names = {_POSSESSIVE.sub("", w).lower() for w in words}
    phrases = tuple(p.lower().strip() for p in _QUOTED.findall(text))
    quoted = [f'"{p}"' for p in phrases if len(p.split()) > 1]  # an FTS5 phrase: its words in that order
    return Query(
        text=text,
        match=" OR ".join(filter(None, [fts_match(text), *quoted])) or None,
        stems=tuple(dict.fromkeys(stem(t) for t in keyword_terms(text) if t not in STOPWORDS and len(t) > 1)),
        names=frozenset(n for n in names if n and n not in STOPWORDS),
        phrases=phrases,
    )


def stem(word: str) -> str:
    """A crude suffix strip, enough to match "hobbies" with "hobby" and "cooking" with "cook" by prefix."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def speaker_of(meta: dict) -> str | None:
    """Who said a memory, from a speaker-like meta field; lower case. Never guessed from the text: in notes a
    leading "Decision:", "TODO:" or "ETL note 3:" is no speaker, and the speaker feature weighs heavily."""
    for key in SPEAKER_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return None


def coverage(query: Query, text: str) -> float:
    """The share of the question's content stems that start some word of the text."""
    if not query.stems:
        return 0.0
    words = " " + _NOT_WORD.sub(" ", text.lower())
    return sum(f" {stem}" in words for stem in query.stems) / len(query.stems)
