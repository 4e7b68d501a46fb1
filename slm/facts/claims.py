"""Claims in a memory, found by rules, without a model: (subject, attribute, value, polarity, time).

"api-gateway uses PostgreSQL 15" gives (api gateway, database, postgresql) and (api gateway, postgresql version,
15); "we moved api-gateway to MySQL in May" gives (api gateway, database, mysql), a change dated May. The rules
are one table (`RULES`, claim_rules.py); canonical forms (claim_values.py) make paraphrases meet, and an attribute
is single-valued or not, which decides what disagrees (docs/ARCHITECTURE.md, "Claims and contradictions"). This
module applies the rules to each sentence and turns matches into claims; `aligned` (alignment.py) compares two
sentences that no rule covers. Text that matches no rule gives no claims; nothing here raises on odd text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from slm import time_expressions
from slm.facts.alignment import Alignment, aligned
from slm.facts.claim_rules import (
    CHANGE_WORDS,
    MORE_VALUES,
    RULES,
    SENTENCE,
    TIME_WORDS,
    USE_RULES,
    Rule,
    candidates,
    is_question,
)
from slm.facts.claim_values import (
    CATEGORIES,
    DETERMINERS,
    NAMED_ATTRIBUTES,
    attribute_name,
    attribute_names,
    attribute_of,
    category_of,
    clean,
    date_value,
    slot_value,
    subject_key,
    value_parts,
)
from slm.graph import entities

__all__ = [
    "CATEGORIES",
    "MAX_CLAIMS",
    "NAMED_ATTRIBUTES",
    "RULES",
    "Alignment",
    "Claim",
    "Rule",
    "aligned",
    "extract",
    "subject_key",
    "value_parts",
]


MAX_CLAIMS = 32  # per memory: a pasted document is not a list of facts to check against each other
_CODE = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_BLANKS = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Claim:
    subject: str
    attribute: str
    value: str
    polarity: int = 1  # -1: the text denies it ("does not use", "no longer uses", "is not deprecated")
    single: bool = True  # the attribute holds one value at a time
    change: bool = False  # the text says it changed ("moved to", "now", "no longer") or dates it ("in May")
    when: datetime | None = None  # the time the text gives for it, if any
    rule: str = ""  # the name of the rule in RULES that found it

    @property
    def key(self) -> tuple[str, str]:
        return self.subject, self.attribute


_NOT_SUBJECTS = {"always", "never", "please",
                 "it", "this", "that", "there", "which", "what", "who", "he", "she", "they", "you", "here", "one",
                 "everything", "nothing", "something", "everyone", "nobody", "all", "each", "both", "none"}  # fmt: skip
_NOT_VALUES = {"it", "this", "that", "them", "something", "anything", "nothing", "everything", "one", "fine", "ok",
               "okay", "good", "bad", "great", "true", "false", "done", "here", "there", "not", "also", "still",
               "now", "only", "just", "very", "really", "so", "too", "the", "a", "an", "no", "being", "used",
               "going", "supposed", "able", "never"}  # fmt: skip


def extract(text: str, now: datetime | None = None) -> list[Claim]:
    """The claims of a memory, at most MAX_CLAIMS; `now` resolves relative times ("in May")."""
    if not isinstance(text, str) or not text.strip():
        return []
    prose = text[:20_000]
    if "```" in prose:
        prose = _CODE.sub(" ", prose)  # code is not a statement of fact
    prose = _one_space(prose)
    found: list[Claim] = []
    seen: set[tuple] = set()
    for sentence in SENTENCE.split(prose):
        made = _sentence_claims(sentence.strip(), now)
        for claim in _listed(made) if made else ():
            identity = (claim.subject, claim.attribute, claim.value, claim.polarity)
            if identity not in seen:
                seen.add(identity)
                found.append(claim)
            if len(found) >= MAX_CLAIMS:
                return found
    return found


def _one_space(prose: str) -> str:
    """Each run of spaces and tabs as one space. Most texts have no run to change: their search is skipped, which
    found each single space (a tenth of the cost of finding claims)."""
    return _BLANKS.sub(" ", prose) if "  " in prose or "\t" in prose else prose


def _listed(claims: list[Claim]) -> list[Claim]:
    """Several values of one attribute in one sentence ("written in Kotlin and Swift") are a set, not a choice."""
    keys = [c.key for c in claims if c.polarity > 0]
    return [replace(c, single=False) if keys.count(c.key) > 1 else c for c in claims]


def _sentence_claims(sentence: str, now: datetime | None) -> list[Claim]:
    if len(sentence) < 5 or is_question(sentence):
        return []
    for rule, pattern in candidates(sentence):  # most rules need a word most sentences lack
        match = pattern.search(sentence)
        if match is None:
            continue
        claims = _claims_of(rule, match, sentence, now)
        if claims:
            return claims
    return []


def _claims_of(rule: Rule, match: re.Match[str], sentence: str, now: datetime | None) -> list[Claim]:
    groups = match.groupdict()
    subject = subject_key(groups["subj"]) if groups.get("subj") else "project"
    if not subject or subject in _NOT_SUBJECTS or len(subject) > 60:
        return []
    attribute = rule.attribute
    purpose = clean(groups.get("subj") or "").lower()
    spoken = DETERMINERS.sub("", purpose)
    if attribute in ("named", "phrase"):
        attribute = attribute_name(groups["attr"])
    elif spoken in attribute_of() and attribute in ("by value", "is"):  # "CI runs on X", "the cache is Y"
        subject, attribute = "project", attribute_of()[spoken]
    change = rule.change or bool(CHANGE_WORDS.search(sentence))
    when = None if attribute == "deadline" else _time_in(sentence, now)
    change = change or when is not None  # a dated statement tells when it became so
    claims = []
    for raw in _values(groups["val"] if groups.get("val") else groups["new"], sentence[match.end() :]):
        claims += _value_claims(rule.name, subject, attribute, raw, (rule.polarity, change, when), now)
    if rule.name == "we use for" and claims and claims[0].polarity > 0 and _is_activity(purpose):
        purpose = attribute_name(purpose)  # "we use Rollbar for error tracking": the team's error tracker
        claims.append(replace(claims[0], subject="project", attribute=purpose, single=True))
    if rule.name == "is" and re.match(r"(?:our|the\s+team's)\s", groups["subj"].strip(), re.IGNORECASE) and claims:
        claims = [replace(claims[0], subject="project", attribute=attribute_name(spoken), single=True)]
    if rule.name == "prefers over" and claims:
        claims = [_preference(claims[0], groups["old"])]
    elif groups.get("old") and claims:  # "from A to B": A no longer holds (unless only its version changed)
        claims += [replace(c, polarity=-1, change=True) for c in _value_claims(
            rule.name, subject, claims[0].attribute if claims[0].single else rule.attribute, groups["old"],
            (-1, True, when), now) if c.attribute == claims[0].attribute and c.value != claims[0].value]  # fmt: skip
    return claims


def _is_activity(phrase: str) -> bool:
    """'error tracking', 'state management', 'CI': a purpose a tool is chosen for, not a place ('the frontend')."""
    last = phrase.split()[-1] if phrase.split() else ""
    return last.endswith("ing") or last in ("management", "orchestration") or phrase in attribute_of()


def _values(first: str, rest: str) -> list[str]:
    """The value a rule matched and those listed after it: 'Kotlin and Swift', 'March 3, 2026' (one date)."""
    year = re.match(r",?\s+(\d{4})\b", rest)
    if year and re.search(r"[a-z]\.?\s+\d{1,2}(?:st|nd|rd|th)?$", first, re.IGNORECASE):
        return [f"{first} {year[1]}"]
    values = [first]
    while (more := MORE_VALUES.match(rest)) and (" and " in more[0] or entities.canonical(clean(more["val"]))):
        values.append(more["val"])  # "Kotlin and Swift", "Go, Rust"; not "GitHub Actions, main workflow in ..."
        rest = rest[more.end() :]
    return values


def _value_claims(
    rule: str, subject: str, attribute: str, raw: str, how: tuple[int, bool, datetime | None], now: datetime | None
) -> list[Claim]:
    polarity, change, when = how
    if attribute == "deadline":
        value, version = date_value(raw, now) or value_parts(raw)[0], None
    elif attribute == "lifetime":
        value, version = slot_value(raw), None
    else:
        value, version = value_parts(raw)
    if attribute == "minimum":  # "supports iOS 14 and up": the minimum iOS is 14
        if version is None:
            return []
        return [Claim(subject, attribute_name(f"minimum {value}"), version, polarity, True, change, when, rule)]
    if re.fullmatch(r"[a-z]+ed", value) and attribute != "status" and value not in category_of():  # a predicate
        return []
    if not value or value.split()[0] in _NOT_VALUES or len(value) > 60 or value == subject:
        return []
    category = category_of().get(value)
    single = True
    if attribute not in attribute_names() and category and attribute not in ("is", "depends on", "prefers"):
        attribute = category  # "its primary store is MongoDB", "caches lookups in Memcached": the database, the cache
    if attribute == "by value":
        attribute, single = (category, True) if category else ("uses", False)
    elif attribute in ("is", "depends on", "prefers"):
        single = False
        if attribute == "prefers" and category:
            attribute, single = f"prefers {category}", True
    claims = [Claim(subject, attribute, value, polarity, single, change, when, rule)]
    if rule in USE_RULES and attribute != "uses":  # "uses Celery for jobs" also says it uses Celery at all
        claims.append(Claim(subject, "uses", value, polarity, False, change, when, rule))
    if version is not None and polarity > 0:
        claims.append(Claim(subject, f"{value} version", version, 1, True, change, when, rule))
    return claims


def _preference(claim: Claim, other: str) -> Claim:
    """'prefers A over B': one value of the choice between A and B, whichever order the text names them in."""
    other_value = value_parts(other)[0]
    category = category_of().get(claim.value)
    if category and category == category_of().get(other_value):  # "tabs over spaces" and "I prefer tabs" meet
        return replace(claim, attribute=f"prefers {category}", single=True)
    pair = sorted([claim.value, other_value])
    return Claim(claim.subject, f"prefers {pair[0]} or {pair[1]}", claim.value, 1, True, claim.change, claim.when,
                 claim.rule)  # fmt: skip


def _time_in(sentence: str, now: datetime | None) -> datetime | None:
    match = TIME_WORDS.search(sentence)
    if match is None or now is None:
        return None
    phrase = match.group(1).lower()
    if re.fullmatch(r"\d{4}-\d{2}", phrase):
        phrase += "-01"
    intent = time_expressions.parse(phrase if re.search(r"ago|last|yesterday|today", phrase) else f"in {phrase}", now)
    return intent.start if intent.has_window else None
