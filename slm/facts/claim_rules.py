"""The table of rules that find claims in a sentence (`RULES`) and the regex fragments they are written in, with
the patterns the extraction shares: sentence breaks, questions, change words and times.

The rules run in order on each sentence and the first that gives claims wins, so the specific shapes ("moved from
A to B") come before the general ones ("X is Y"). They are compiled once, on first use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from slm.facts.claim_values import CATEGORIES, NAMED_ATTRIBUTES

_SUBJ = r"(?P<subj>[`'\"\w@./+#-]+(?:\s+[`'\"\w@./+#-]+){0,3}?)"
_VAL = r"(?P<val>[`'\"\w@./+#-]+(?:\s+[`'\"\w@./+#-]+){0,3}?)"
_OLD = _VAL.replace("val", "old")
_NEW = _VAL.replace("val", "new")
_STOP = (
    r"(?=\s*(?:[,;:()!?]|\.(?:\s|$)|$|\s(?:for|as|in|since|because|with|via|from|to|instead|over|and|but|which|that"
    r"|so|when|until|on|at|by|now|anymore|any\s+more|too|also|again|today|going|after|before|starting|if|unless"
    r"|rather|than|across|everywhere|here|there|locally|internally|behind|last|next|this|yesterday|earlier"
    r"|later|soon|ago)\b|\s\d+\s+(?:days?|weeks?|months?|years?)\s+ago\b))"
)
_LEAD = r"^(?:(?:so|also|now|currently|today|btw|note|fyi|update|heads up|remember|reminder)\b[,:]?\s*)?"
_DATE = (
    r"(?:\d{4}-\d{2}(?:-\d{2})?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"(?:\s+\d{1,2}(?:st|nd|rd|th)?)?(?:,?\s+\d{4})?|\d{4}|last\s+(?:week|month|year|quarter|sprint)"
    r"|yesterday|today|\d+\s+(?:days|weeks|months)\s+ago)"
)
_TIME_LEAD = r"(?:(?:(?:in|since|as\s+of|starting|from|on)\s+)?" + _DATE + r"\s*,?\s+)?"
_NOT = r"(?:does\s+not|doesn't|do\s+not|don't|did\s+not|didn't|never|is\s+not|isn't|are\s+not|aren't)"
_NO_LONGER = r"(?:no\s+longer|not\s+anymore)"
_USE = (
    r"(?:uses|use|is\s+using|are\s+using|runs\s+on|run\s+on|is\s+running\s+on|runs"
    r"|used|ran\s+on|was\s+using|was\s+on|relied\s+on|was\s+backed\s+by|was\s+hosted\s+on|relies\s+on|is\s+backed\s+by|stores\s+(?:its\s+)?data\s+in|is\s+deployed\s+(?:to|on)|is\s+hosted\s+on"
    r"|targets|is\s+on|are\s+on|is\s+pinned\s+to|requires)"
)
_USE_BARE = r"(?:use|run\s+on|run|rely\s+on|depend\s+on|store\s+(?:its\s+)?data\s+in|target|need|require)"
_MOVERS = r"\b(?:we|i|they|(?:the\s+|our\s+)?[\w-]+(?:\s+[\w-]+)?\s+team)"  # "we moved X to Y", "the web team ..."
_ADVERB = r"(?:(?:primarily|mainly|mostly|usually|currently|typically|only|still|also|always)\s+)?"
_USE_ANY = r"(?:" + _USE_BARE + r"s?|depends\s+on|runs\s+on|relies\s+on|stores\s+(?:its\s+)?data\s+in)"
_CHANGE_VERB = r"(?:moved|migrated|switched|changed|upgraded|downgraded|ported|went|transitioned)"
_PHRASE = r"(?P<attr>[a-z][a-z0-9 -]{1,30}?)"  # any attribute phrase: "logging library", "primary store"


def trie(spellings: Iterable[str]) -> str:
    """An alternation of `spellings` as a regex trie: a sentence's character is tested against each branch once,
    not against every spelling (the known attributes are ~150: most of the cost of the rules naming them). A
    longer spelling is tried before its prefix, as in a longest-first alternation. A space matches any whitespace."""
    root: dict[str, dict] = {}
    for spelling in spellings:
        node = root
        for char in spelling:
            node = node.setdefault(r"\s+" if char == " " else re.escape(char), {})
        node[""] = {}
    return _branches(root)


def _branches(node: dict[str, dict]) -> str:
    children = [atom + _branches(child) for atom, child in sorted(node.items()) if atom]
    if not children:
        return ""
    group = "(?:" + "|".join(children) + ")"
    return group + "?" if "" in node else group  # greedy: the longer spelling first


def _known_attributes() -> str:
    spellings = {spelling for spellings in NAMED_ATTRIBUTES.values() for spelling in spellings.split("|")}
    return r"(?P<attr>" + trie(spellings | set(CATEGORIES)) + r")"


_KNOWN = _known_attributes()  # "port", "default branch", "package manager", "runtime", ...


USE_RULES = {"uses", "uses for", "now uses", "no longer uses", "not ... anymore", "does not use", "we use for",
             "we don't use for", "always use", "moved from", "we moved", "moved to", "replaced"}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str  # groups: subj, val (or old/new), attr, person
    attribute: str  # "by value": from the value's category; else the attribute's name; "named": from group attr
    polarity: int = 1
    change: bool = False
    anchored: bool = True  # the subject starts the clause
    # Words of which every match holds one as a whole word (or ":" / "="): a sentence without any is not searched,
    # which skips most of the rules for most sentences (the backfill of 100k memories: issue 20). Name a word
    # the pattern cannot match without, between spaces or word boundaries; "" tries the rule on every sentence.
    needs: str = ""


RULES: tuple[Rule, ...] = (
    # changes: "X moved from A to B", "we migrated X to B", "X now uses B", "X no longer uses A"
    Rule("moved from", _SUBJ + r"\s+(?:has\s+|have\s+)?" + _CHANGE_VERB + r"\s+(?:over\s+)?from\s+" + _OLD
         + r"\s+to\s+" + _NEW + _STOP, "by value", change=True,
         needs="moved migrated switched changed upgraded downgraded ported went transitioned"),
    Rule("we moved", _MOVERS + r"(?:'ve|\s+have)?\s+(?:moved|migrated|switched|ported|upgraded)"
         r"\s+" + _SUBJ + r"\s+(?:over\s+)?(?:from\s+" + _OLD + r"\s+)?to\s+" + _NEW + _STOP, "by value",
         change=True, anchored=False, needs="moved migrated switched ported upgraded"),
    Rule("replaced", r"\b(?:we\s+)?replaced\s+" + _OLD + r"\s+with\s+" + _NEW + r"\s+in\s+" + _SUBJ + _STOP,
         "by value", change=True, anchored=False, needs="replaced"),
    Rule("moved to", _SUBJ + r"\s+(?:has\s+|have\s+)?" + _CHANGE_VERB + r"\s+(?:over\s+)?to\s+" + _NEW + _STOP,
         "by value", change=True,
         needs="moved migrated switched changed upgraded downgraded ported went transitioned"),
    Rule("now uses", _SUBJ + r"\s+(?:now\s+" + _USE + r"|" + _USE + r"\s+now)\s+" + _VAL + _STOP, "by value",
         change=True, needs="now"),
    Rule("no longer uses", _SUBJ + r"\s+" + _NO_LONGER + r"\s+" + _USE_ANY + r"\s+" + _VAL + _STOP, "by value",
         polarity=-1, change=True, needs="longer anymore"),
    Rule("not ... anymore", _SUBJ + r"\s+" + _NOT + r"\s+" + _USE_BARE + r"\s+" + _VAL
         + r"\s+(?:anymore|any\s+more)\b", "by value", polarity=-1, change=True, needs="anymore any"),
    # uses, negated or not; "we use X for Y" is about Y
    Rule("we don't use for", r"^(?:we|i)\s+(?:don't|do\s+not|never)\s+use\s+" + _VAL + r"\s+(?:for|in|on)\s+" + _SUBJ
         + _STOP, "by value", polarity=-1, needs="use"),
    Rule("we use for", r"^(?:we|i)\s+(?:use|run|are\s+on|deploy\s+(?:to|on))\s+" + _VAL + r"\s+(?:for|in|on)\s+"
         + _SUBJ + _STOP, "by value", needs="we i"),
    Rule("lasts", _SUBJ + r"\s+(?:lasts?|expires?(?:\s+after)?|times?\s+out\s+after|(?:is|are)\s+cached\s+for"
         r"|(?:is|are)\s+kept\s+for|(?:is|are)\s+valid\s+for)\s+(?:for\s+)?(?P<val>\d+(?:\.\d+)?\s*[a-z]+)\b",
         "lifetime", needs="last lasts expire expires time times cached kept valid"),
    Rule("does not use", _SUBJ + r"\s+" + _NOT + r"\s+" + _USE_BARE + r"\s+" + _VAL + _STOP, "by value", polarity=-1,
         needs="not never doesn don didn isn aren"),
    Rule("is written in", _SUBJ + r"\s+(?:is|are)\s+(?:written|implemented|coded)\s+in\s+" + _VAL + _STOP,
         "language", needs="written implemented coded"),
    Rule("depends on", _SUBJ + r"\s+(?:depends|depend)\s+on\s+" + _VAL + _STOP, "depends on", needs="depends depend"),
    Rule("always use", r"^(?:always|please\s+always|please)\s+use\s+" + _VAL + _STOP, "by value", anchored=False,
         needs="use"),
    Rule("supports from", _SUBJ + r"\s+(?:supports|requires|needs|targets)\s+(?P<val>[\w.-]+\s*v?\d+(?:\.\d+)*)\s*"
         r"(?:\+|and\s+(?:up|newer|above|later)|or\s+(?:newer|later|above|higher))", "minimum",
         needs="supports requires needs targets"),
    Rule("uses for", _SUBJ + r"\s+" + _USE + r"\s+" + _VAL + r"\s+(?:for|as)\s+(?:its\s+|the\s+|our\s+|a\s+)?"
         + _PHRASE + _STOP, "phrase", needs="for as"),
    Rule("runs in", _SUBJ + r"\s+(?:runs|is\s+deployed|is\s+hosted|lives|is)\s+" + _ADVERB
         + r"in\s+(?P<val>[a-z]{2}(?:-[a-z]+)+-?\d)\b", "region", needs="in"),  # AWS / GCP region names
    Rule("uses", _SUBJ + r"\s+" + _USE + r"\s+" + _ADVERB + _VAL + _STOP, "by value",
         needs="uses use is are runs run used ran was relied relies stores targets requires"),
    # preferences
    Rule("prefers over", _SUBJ + r"\s+(?:prefers?|likes?|wants?|favou?rs?)\s+" + _VAL + r"\s+(?:over|to|rather\s+than"
         r"|instead\s+of)\s+" + _OLD + _STOP, "prefers",
         needs="prefer prefers like likes want wants favor favors favour favours"),
    Rule("prefers", _SUBJ + r"\s+(?:prefers?|likes?|wants?)\s+" + _VAL + _STOP, "prefers",
         needs="prefer prefers like likes want wants"),
    # status
    Rule("no longer deprecated", _SUBJ + r"\s+is\s+" + _NO_LONGER + r"\s+(?P<val>deprecated)\b", "status",
         polarity=-1, change=True, needs="deprecated"),
    Rule("not deprecated", _SUBJ + r"\s+(?:is\s+not|isn't)\s+(?P<val>deprecated)\b", "status", polarity=-1,
         needs="deprecated"),
    Rule("deprecated now", _SUBJ + r"\s+(?:is\s+now|are\s+now|ha(?:s|ve)\s+(?:now\s+)?been|was(?:\s+just)?"
         r"|were(?:\s+just)?|got)\s+"
         r"(?P<val>deprecated|archived|sunset|retired|decommissioned)\b", "status", change=True,
         needs="deprecated archived sunset retired decommissioned"),
    Rule("deprecated", _SUBJ + r"\s+(?:is|are)\s+(?P<val>deprecated|archived|sunset|retired|end-of-life|frozen"
         r"|decommissioned)\b", "status", needs="deprecated archived sunset retired end frozen decommissioned"),
    # owners
    Rule("handed over", _SUBJ + r"\s+(?:was|has\s+been|got)\s+(?:handed|passed|transferred)\s+(?:over\s+)?to\s+"
         + _VAL + _STOP, "owner", change=True, needs="handed passed transferred"),
    Rule("owned by", _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?(?:owned|maintained|run)\s+by\s+" + _VAL + _STOP, "owner",
         needs="by"),
    Rule("owns", r"^(?P<val>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?|the\s+[\w -]+?\s+team)\s+(?:now\s+)?(?:owns|maintains)\s+"
         + _SUBJ + _STOP, "owner", needs="owns maintains"),
    Rule("is the owner of", r"^(?P<val>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)\s+is\s+(?:now\s+)?(?:the\s+)?"
         r"(?P<attr>owner|maintainer|tech\s+lead|dri|product\s+owner|product\s+manager|pm|point\s+of\s+contact)"
         r"\s+(?:of|for|on)\s+" + _SUBJ + _STOP, "named", needs="is"),
    Rule("belongs to", _SUBJ + r"\s+belongs\s+to\s+" + _VAL + _STOP, "owner", needs="belongs"),
    # deadlines
    Rule("due", _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?(?:due|scheduled)\s+(?:on|by|for)?\s*" + _VAL + _STOP,
         "deadline", needs="due scheduled"),
    Rule("ships on", _SUBJ + r"\s+(?:ships|launches|goes\s+live|releases)\s+(?:on|by|in)\s+" + _VAL + _STOP,
         "deadline", needs="ships launches goes releases"),
    Rule("pushed to", r"(?:the\s+)?(?:deadline|due\s+date|launch|release)\s+(?:for|of)\s+" + _SUBJ
         + r"\s+(?:was|has\s+been|got)\s+(?:moved|pushed|pulled|changed|slipped)\s+(?:back\s+|up\s+)?to\s+" + _VAL
         + _STOP, "deadline", change=True, needs="moved pushed pulled changed slipped"),
    # ports
    Rule("listens on", _SUBJ + r"\s+(?:listens|runs|is\s+served|serves|is\s+exposed)\s+on\s+port\s+"
         r"(?P<val>\d{2,5})\b", "port", needs="port"),
    # named attributes: "the owner of X is Y", "X's database is Y", "X port is 8080", "deadline for X is Friday"
    Rule("the attr of", r"^(?:the\s+)?" + _PHRASE + r"\s+(?:of|for)\s+" + _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?"
         + _VAL + _STOP, "phrase", needs="is are"),
    Rule("x's attr is", _SUBJ + r"(?:'s|’s)\s+" + _PHRASE + r"\s+(?:is|are)\s+(?:now\s+)?" + _VAL + _STOP,
         "phrase", needs="is are"),
    Rule("x attr is", _SUBJ + r"\s+" + _KNOWN + r"\s+(?:is|are)\s+(?:now\s+)?" + _VAL + _STOP, "named",
         needs="is are"),
    Rule("x attr: value", r"^(?P<subj>[`'\"\w@./+#-]+(?:\s+[`'\"\w@./+#-]+){0,3}?)?\s*" + _KNOWN + r"\s*[:=]\s+" + _VAL
         + _STOP, "named", needs=": ="),
    Rule("is done with", _SUBJ + r"\s+(?:is|are)\s+(?:now\s+)?(?P<attr>[a-z]+ed|run|built|done|made|kept|sent"
         r"|written|held|set)\s+(?:with|by|via|through|using|to|at|in|on|from|under|as)\s+(?:the\s+)?" + _VAL + _STOP,
         "phrase", needs="is are"),
    Rule("does with", _SUBJ + r"\s+(?P<attr>(?!is\b|are\b|was\b|has\b)[a-z]+s(?:\s+(?!the\b)[a-z]+){0,2}?)\s+"
         r"(?:with|via|through|using|over|at|in|to)\s+(?:the\s+|a\s+|an\s+)?" + _VAL + _STOP, "phrase",
         needs="with via through using over at in to"),
    # "X is Y" last: the least specific shape
    Rule("is not", _SUBJ + r"\s+(?:is\s+not|isn't)\s+(?:a\s+|an\s+)?" + _VAL + _STOP, "is", polarity=-1,
         needs="not isn"),
    Rule("is", _SUBJ + r"\s+is\s+(?:a\s+|an\s+)?" + _VAL + _STOP, "is", needs="is"),
)  # fmt: skip

_ASKS = re.compile(r"(?:does|do|did|should|could|would|can|is|are|was|were|who|what|which|why|how|when|where)\b",
                   re.IGNORECASE)  # fmt: skip


def is_question(sentence: str) -> bool:
    """Whether `sentence` asks rather than states: it ends with "?" (whitespace aside) or opens with a question
    word. Not one regex search: that tried "?" at every character of every sentence."""
    return sentence.rstrip().endswith("?") or _ASKS.match(sentence) is not None


MORE_VALUES = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)" + _VAL + _STOP, re.IGNORECASE)
CHANGE_WORDS = re.compile(r"\b(?:now|since|as\s+of|starting|from\s+now\s+on|no\s+longer|anymore|switched|moved"
                          r"|migrated|upgraded|downgraded|replaced|changed)\b", re.IGNORECASE)  # fmt: skip
TIME_WORDS = re.compile(r"(?:\b(?:in|since|as\s+of|on|starting|from)\s+)?\b(" + _DATE + r")\b", re.IGNORECASE)
# Breaks between sentences: whitespace after . ! ? or ;, newlines, or " but " (and whereas, while). Written to begin
# with the whitespace every break starts with, so the search skips other characters without trying each branch.
SENTENCE = re.compile(r"\s(?:(?<=[.!?;]\s)\s*|(?<=\n)\n*|\s*(?:but|whereas|while)\s+)")


# The letters that IGNORECASE matches to an ASCII letter but `str.lower` does not make one (tests check all).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def fold(text: str) -> str:
    """`text` in the case the rules' `needs` are written in, character for character (tests check all). Most text
    is ASCII, which has nothing to translate (`isascii` costs nothing: CPython knows it of every string)."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


@cache
def compiled_rules() -> tuple[tuple[Rule, re.Pattern[str]], ...]:
    return tuple((rule, re.compile((_LEAD + _TIME_LEAD if rule.anchored else "") + rule.pattern, re.IGNORECASE))
                 for rule in RULES)  # fmt: skip


@cache
def _by_word() -> tuple[int, dict[str, int]]:
    """The rules (bit i: RULES[i]) tried on every sentence, and those each needed word lets in."""
    always, by_word = 0, {}
    for i, rule in enumerate(RULES):
        always |= (not rule.needs) << i
        for word in rule.needs.split():
            by_word[word] = by_word.get(word, 0) | 1 << i
    return always, by_word


@cache
def _needed() -> re.Pattern[str]:
    """Finds the needed words (whole, as `\\b` sees them) and signs in a folded sentence: one pass, instead of
    listing all its words."""
    words = [w for w in _by_word()[1] if re.fullmatch(r"\w+", w)]
    signs = "".join(re.escape(w) for w in _by_word()[1] if w not in words)
    return re.compile(r"\b" + trie(words) + r"\b" + (f"|[{signs}]" if signs else ""))


def candidates(sentence: str) -> tuple[tuple[Rule, re.Pattern[str]], ...]:
    """The rules that may match `sentence`, in order: those needing no word, and those it has a needed word of."""
    chosen, by_word = _by_word()
    for word in _needed().findall(fold(sentence)):
        chosen |= by_word[word]
    return _rules_of(chosen)


@lru_cache(maxsize=4096)
def _rules_of(chosen: int) -> tuple[tuple[Rule, re.Pattern[str]], ...]:
    """The rules whose bits are set in `chosen`, in order (few sets recur: each is made once)."""
    return tuple(rule for i, rule in enumerate(compiled_rules()) if chosen >> i & 1)
