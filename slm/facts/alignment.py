"""Aligned statements: two sentences that say the same but for one value ("order events are published to Kafka"
/ "... to RabbitMQ"), found where no rule of claim_rules.py applies. validity.py turns such a pair of memories
into two claims on one slot, which then disagree like any others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slm.facts.claim_rules import CHANGE_WORDS, SENTENCE, is_question
from slm.facts.claim_values import slot_value, stem

_TOKEN = re.compile(r"[\w@/+#'’-]+(?:[.:][\w@/+#'’-]+)*")
_FUNCTION_WORDS = frozenset(re.split(
    " ", "is are was were be been to of in on for with at by the a an and or but not no never from as it its that "
    "this via than into over under after before also only just all any some"))  # fmt: skip
_MANY_VERBS = frozenset(re.split(
    " ", "uses use using depends depend includes include imports import supports support has have contains contain "
    "needs need requires require calls call talks talk and exposes expose provides provide handles handle emits emit "
    "exports export"))  # a value after these is one of several  # fmt: skip


@dataclass(frozen=True)
class Alignment:
    """Two sentences that are one statement with a different value in one place ("order events are published to
    Kafka" / "... to RabbitMQ"): the slot, as its words before and after, and each side's value."""

    subject: str  # the words before the value
    attribute: str  # "_" and the words after it
    first: str
    second: str
    change: bool  # the second sentence says it changed


def aligned(first: str, second: str) -> Alignment | None:
    """The one slot two texts fill with different values, if some sentence of each is the same statement but for
    a short value (no function words in it, at least three shared words, most of each sentence shared, the
    value not first, and not after a verb that takes several values such as "depends on")."""
    if not isinstance(first, str) or not isinstance(second, str):
        return None
    by_first_word: dict[str, list[tuple[list[str], str]]] = {}
    for tokens, sentence in _statements(second):
        by_first_word.setdefault(tokens[0], []).append((tokens, sentence))
    for tokens, _ in _statements(first):  # only sentences that start alike can share a prefix: no n × m scan
        for other, sentence in by_first_word.get(tokens[0], ()):
            if abs(len(tokens) - len(other)) <= 3:  # each side differs in at most 4 words
                found = _slot(tokens, other, sentence)
                if found is not None:
                    return found
    return None


def _statements(text: str) -> list[tuple[list[str], str]]:
    """The lowercased words of each sentence that is not a question."""
    found = []
    for sentence in SENTENCE.split(text[:2000]):
        tokens = _TOKEN.findall(sentence.lower())
        if tokens and not is_question(sentence):
            found.append((tokens, sentence))
    return found


def _slot(a: list[str], b: list[str], other: str) -> Alignment | None:
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    left, right = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    shared = prefix + suffix
    if prefix == 0 or not (1 <= len(left) <= 4 and 1 <= len(right) <= 4) or shared < 3:
        return None
    if shared < 0.5 * max(len(a), len(b)) or _FUNCTION_WORDS & set(left + right) or a[prefix - 1] in _MANY_VERBS:
        return None
    if prefix > 1 and a[prefix - 2] in _MANY_VERBS:  # "depends on _"
        return None
    first, second = slot_value(" ".join(left)), slot_value(" ".join(right))
    if first == second:
        return None  # the same value in other words: a paraphrase
    subject = " ".join(stem(w) for w in a[:prefix] if w not in _DETERMINER_WORDS)[:60]
    attribute = " ".join(["_", *(stem(w) for w in a[len(a) - suffix :])])[:60]
    return Alignment(subject, attribute, first, second, bool(CHANGE_WORDS.search(other)))


_DETERMINER_WORDS = frozenset({"the", "our", "my", "your", "their", "this", "that", "a", "an"})
