"""What a question says beyond its words: the people it names, its quoted phrases, its content terms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slm.recall.fts_query import STOPWORDS, fts_match, keyword_terms

_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,80})[\"“”]")
_CAPITALISED = re.compile(r"\b([A-Z][\w'’-]*)")
_POSSESSIVE = re.compile(r"['’]s?$")
_SUFFIXES = ("ing", "ies", "ied", "es", "ed", "ly", "s")
SPEAKER_KEYS = ("speaker", "role", "author", "name")
# Words developers shorten: either form in a question covers the other in a memory ("which database" finds a
# memory tagged "db").
SHORT_FORMS = {
    "application": "app",
    "authentication": "auth",
    "configuration": "config",
    "database": "db",
    "dependency": "dep",
    "development": "dev",
    "directory": "dir",
    "documentation": "docs",
    "environment": "env",
    "infrastructure": "infra",
    "kubernetes": "k8s",
    "library": "lib",
    "performance": "perf",
    "production": "prod",
    "repository": "repo",
    "specification": "spec",
}


Needle = tuple[str, bool]  # lower-case text that must start a word, and whether it must also end it


@dataclass(frozen=True)
class Query:
    text: str
    match: str | None  # the FTS5 expression: OR of the content words and the quoted phrases
    stems: tuple[str, ...]  # the content words, roughly stemmed, for coverage
    needles: tuple[tuple[Needle, ...], ...]  # per stem, what covers it: the stem, or its other form (SHORT_FORMS)
    names: frozenset[str]  # capitalised words other than question and stop words, lower case: people, places
    phrases: tuple[str, ...]  # quoted phrases, lower case


def analyse(text: str) -> Query:
    words = _CAPITALISED.findall(text)
    names = {_POSSESSIVE.sub("", w).lower() for w in words}
    phrases = tuple(p.lower().strip() for p in _QUOTED.findall(text))
    quoted = [f'"{p}"' for p in phrases if len(p.split()) > 1]  # an FTS5 phrase: its words in that order
    stems = tuple(dict.fromkeys(stem(t) for t in keyword_terms(text) if t not in STOPWORDS and len(t) > 1))
    return Query(
        text=text,
        match=" OR ".join(filter(None, [fts_match(text), *quoted])) or None,
        stems=stems,
        needles=tuple(((s, False), *_OTHER_FORMS.get(s, ())) for s in stems),
        names=frozenset(n for n in names if n and n not in STOPWORDS),
        phrases=phrases,
    )


def stem(word: str) -> str:
    """A crude suffix strip, enough to match "hobbies" with "hobby" and "cooking" with "cook" by prefix."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


_OTHER_FORMS: dict[str, tuple[Needle]] = {stem(long): ((short, True),) for long, short in SHORT_FORMS.items()} | {
    short: ((stem(long), False),) for long, short in SHORT_FORMS.items()
}


def speaker_of(meta: dict) -> str | None:
    """Who said a memory, from a speaker-like meta field; lower case. Never guessed from the text: in notes a
    leading "Decision:", "TODO:" or "ETL note 3:" is no speaker, and the speaker feature weighs heavily."""
    for key in SPEAKER_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return None


def coverage(query: Query, text: str) -> float:
    """The share of the question's content stems that start some word of the text (or whose other form is one)."""
    if not query.needles:
        return 0.0
    text = text.lower()
    return sum(any(_in_words(text, *n) for n in needles) for needles in query.needles) / len(query.needles)


def _in_words(text: str, needle: str, whole: bool) -> bool:
    """Whether `needle` starts a word of `text` (and ends one if `whole`); words are runs of letters and digits
    (str.isalnum). Finding the needle is ~4x faster than normalising the text's punctuation first."""
    at = text.find(needle)
    while at >= 0:
        end = at + len(needle)
        if (at == 0 or not text[at - 1].isalnum()) and (not whole or end == len(text) or not text[end].isalnum()):
            return True
        at = text.find(needle, at + 1)
    return False
