"""Reading the prose around a position: the word before it and whether a sentence starts there, the context tests
that the finders of names, numbers and gazetteer aliases share; and word lists written as prose.
"""

from __future__ import annotations

import re


def word_set(text: str) -> frozenset[str]:
    """A word list written as prose, which reads better than a list of quoted words."""
    return frozenset(text.split())


def last_word(text: str, position: int) -> str:
    """The lowercased word just before `position`, across whitespace only ("" after other punctuation)."""
    before = text[max(0, position - 24) : position]
    if before[-1:].isspace():
        words = before.split()
        return words[-1].lower() if words else ""
    return ""


_LEADING = " \t\"'“‘([{*•>#-–—"  # what may stand between a sentence end and its first word
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|incl|approx|al|Dr|Mr|Mrs|Ms|Mx|Prof|St|Jr|Sr|No|Fig)\.$")


def sentence_start(text: str, position: int) -> bool:
    """Whether `position` begins a sentence, a line or a list item: capitals there say nothing about names."""
    i = position - 1
    while i >= 0 and text[i] in _LEADING:
        i -= 1
    if i < 0 or text[i] in "\n\r!?:…":
        return True
    return text[i] == "." and not _ABBREVIATION.search(text, max(0, i - 5), i + 1)
