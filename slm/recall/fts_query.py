"""Turn free text into an FTS5 MATCH expression that can never be a syntax error.

Every word becomes a double-quoted string (FTS5's literal form), joined with OR, so user text such as
`NOT`, `col:x`, `a*`, `-flag`, `"unbalanced` or `(x` is searched for, never parsed as query syntax.
Common English words are dropped unless nothing else is left: they match most rows and cost BM25 time.
"""

from __future__ import annotations

import re

MAX_TERMS = 32
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers herself
    him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves""".split()  # noqa: SIM905 - a word list reads better as prose
)


def keyword_terms(text: str) -> list[str]:
    """Distinct lowercase words of `text`, content words first; stopwords only if there is nothing else."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:MAX_TERMS]


def fts_match(text: str) -> str | None:
    """The MATCH expression for `text`, or None when it holds no searchable word (e.g. only emoji or punctuation)."""
    terms = keyword_terms(text)
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms)
