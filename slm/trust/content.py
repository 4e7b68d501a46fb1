"""What a memory's text says about its writer: instructions aimed at agents, hidden Unicode, and whether two texts
state the same fact (a corroboration) rather than a variation of it (which may be a contradiction).

A memory is data for later agents to read; text written to steer them ("ignore previous instructions", "always
run ...", characters a human cannot see) is how memory poisoning works (OWASP ASI06). Reasons name the pattern,
never the text, so a trust record stays content-free when the memory is erased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = r"(?:\w+\W+){0,4}?"

# (name, signal, pattern): "instruction" marks are strong enough to quarantine on their own.
PATTERNS = [
    (
        "override-instructions",
        "instruction",
        rf"\b(?:ignore|disregard|forget|override|bypass)\W+{_WORDS}(?:previous|prior|above|earlier|all|any|your|"
        r"system|safety)\W+(?:\w+\W+)?(?:instructions?|prompts?|rules|guidelines|guardrails|messages)\b",
    ),
    ("role-reassignment", "instruction", r"\byou are now\b|\bfrom now on,? you\b|\bnew (?:system )?instructions?\s*:"),
    (
        "hide-from-user",
        "instruction",
        rf"\b(?:do not|don't|never)\s+(?:tell|inform|mention\s+to|warn|alert)\b\W+{_WORDS}(?:the\s+)?user\b(?!')",
    ),
    ("addressed-to-reader", "instruction", r"\bwhen(?:ever)? you (?:read|see|recall|retrieve|load) this\b"),
    (
        "fake-markup",
        "instruction",
        r"<\s*/?\s*(?:system|instructions?|im_start|im_end)\s*>|\[\s*/?(?:system|INST)\s*\]",
    ),
    (
        "always-do",
        "directive",
        r"\b(?:always|never|must)\s+(?:run|execute|call|install|send|upload|push|delete|"
        r"disable|approve|merge|curl)\b",
    ),
    ("pipe-to-shell", "directive", r"\b(?:curl|wget)\b[^|\n]{0,200}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"),
    (
        "agents-must",
        "directive",
        r"\b(?:assistants?|agents?|AIs?|LLMs?|models?)\s+(?:must|should|shall)\s+(?:always|"
        r"never|now|ignore)\b",
    ),
]
_COMPILED = [(name, signal, re.compile(pattern, re.IGNORECASE)) for name, signal, pattern in PATTERNS]

# Invisible characters that change what an agent reads but not what a person sees: zero-width space and
# non-joiner, bidirectional overrides and isolates, word joiners, a byte-order mark inside text, and the Unicode
# tag block (ASCII smuggling). The zero-width joiner is left alone: emoji sequences need it.
HIDDEN = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")


@dataclass(frozen=True)
class Flag:
    signal: str  # "instruction" or "directive": a key of model.SIGNALS
    pattern: str


def flags(text: str) -> list[Flag]:
    """The instruction-like patterns the text matches, strongest first."""
    found = [Flag("instruction", "hidden-unicode")] if HIDDEN.search(text) else []
    found += [Flag(signal, name) for name, signal, pattern in _COMPILED if pattern.search(text)]
    return sorted(found, key=lambda flag: flag.signal != "instruction")


# -- corroboration ------------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\d[\d.,:]*\d|\d|[A-Za-z][\w+#-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)([A-Za-z][\w+#-]*)")
_CALENDAR = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "daily", "weekly",
    "monthly", "yearly", "hourly",
}  # fmt: skip
_FUNCTION_WORDS = {
    "the", "a", "an", "we", "our", "i", "my", "you", "your", "they", "their", "it", "its", "this", "that", "these",
    "those", "there", "he", "she", "in", "on", "at", "for", "to", "from", "with", "and", "but", "so", "if", "when",
    "after", "before", "please", "note", "also", "all", "every", "each", "as", "since", "now", "then",
}  # fmt: skip
_NEGATIONS = re.compile(r"\b(?:not|no|never|none|without|instead|stopped|removed|dropped)\b|n't\b", re.IGNORECASE)


def values(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The parts of a fact that make it this fact and not a variation — numbers, names, days and months,
    identifiers — and, apart, the capitalised words that open a sentence, which may be a name ("Alice owns auth")
    or just a word ("Failed webhooks are retried")."""
    starts = {m.start(1) for m in _SENTENCE_START.finditer(text)}
    found, openers = set(), set()
    for match in _TOKEN.finditer(text):
        token = match.group()
        lower = token.lower().rstrip("s") if token.lower().rstrip("s") in _CALENDAR else token.lower()
        if token[0].isdigit() or lower in _CALENDAR or any(c.isdigit() or c in "-_" for c in token):
            found.add(lower)  # numbers, days, identifiers: 5432, tuesday, api-gateway, user_id, py311
        elif token[0].isupper():
            (openers if match.start() in starts else found).add(lower)
    return frozenset(found), frozenset(openers)


def _words(text: str) -> set[str]:
    return {w for token in _TOKEN.findall(text.lower()) for w in (token, token.rstrip("s"))}


def same_fact(a: str, b: str) -> bool:
    """Whether two texts that embed close together say the same thing: the same values and the same negations,
    and each sentence-opening capital of one is a word of the other too.

    "The gateway uses PostgreSQL 15" and "the gateway uses MySQL 8" embed at cosine 0.82, "port 5432" and "port
    5433" at 0.98: closeness alone cannot tell a corroboration from a contradiction, so the values decide.
    """
    (found_a, openers_a), (found_b, openers_b) = values(a), values(b)
    words_a, words_b = _words(a), _words(b)
    openers_agree = all({w, w.rstrip("s")} & words_b for w in openers_a - _FUNCTION_WORDS) and all(
        {w, w.rstrip("s")} & words_a for w in openers_b - _FUNCTION_WORDS
    )
    negations_agree = len(_NEGATIONS.findall(a)) == len(_NEGATIONS.findall(b))
    return found_a == found_b and openers_agree and negations_agree
