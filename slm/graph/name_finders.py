"""Names in capitalised words that no other finder claimed: people, organisations and other names.

A run of capitalised words is split at stop words, months and claimed words; each group is an organisation (by
its first or last word), a person (a known first name, or a cue such as "told", "my colleague", "Dr." before it or
"said" after it) or a generic name. A lone capitalised word opening a sentence is no name.
"""

from __future__ import annotations

import re

from slm.graph.entity_keys import Entity, norm, person_entity
from slm.graph.gazetteer import Gazetteer
from slm.graph.prose import sentence_start, word_set
from slm.graph.spans import Span


def _upper_class() -> str:
    """A regex class of the uppercase letters of the alphabetic scripts (Latin, Greek, Cyrillic, ...)."""
    codes = [code for code in range(0x2000) if chr(code).isupper()]
    ranges, first, last = [], codes[0], codes[0]
    for code in [*codes[1:], -1]:
        if code == last + 1:
            last = code
            continue
        ranges.append(re.escape(chr(first)) + (f"-{re.escape(chr(last))}" if last > first else ""))
        first = last = code
    return "[" + "".join(ranges) + "]"


_UPPER = _upper_class()
_WORD = rf"{_UPPER}(?<![\w.\-/@#$'’]{_UPPER})(?:[^\W_]|['’\-](?=[^\W\d_]))*"
_CAP_WORD = re.compile(_WORD)
_CONNECTOR = r"(?:of the|of|de|da|di|du|del|della|der|den|van|von|la|le|bin|al)"
_RUN = re.compile(rf"{_WORD}(?:(?:[ \t]+{_CONNECTOR})?[ \t]+{_WORD})*")

_CUE_VERBS = word_set(
    """told tell tells asked ask asks met meet meeting thanked thank thanks pinged ping cc emailed email called texted
    messaged hired interviewed married dating"""
)
_RELATIONS = word_set(
    """friend colleague coworker co-worker teammate manager boss lead mentor partner wife husband girlfriend boyfriend
    fiance fiancee fiancé fiancée sister brother sibling mother father mom mum dad son daughter cousin aunt uncle
    niece nephew grandma grandmother grandpa grandfather neighbor neighbour roommate flatmate doctor dentist
    therapist coach teacher professor landlord intern recruiter ceo cto"""
)
_TITLES = frozenset({"Dr", "Mr", "Mrs", "Ms", "Mx", "Prof", "Sir", "Dame", "Miss"})  # as written: "110 ms. See"
_WEAK_CUES = frozenset({"with", "from", "to", "by"})  # also before places and products: only for 2+ words
PERSON_AFTER = re.compile(
    r"[ \t]+(?:said|says|told|tells|asked|asks|wants|wanted|suggested|suggests|thinks|thought|mentioned|mentions|"
    r"prefers|preferred|likes|liked|loves|loved|hates|recommended|recommends|replied|replies|wrote|agreed|agrees|"
    r"explained|noted|reported|believes|believed|feels|felt|decided|promised|confirmed|emailed|texted|messaged|"
    r"pinged|joined|paired|reviewed|approved|owns|will own|is on call|was on call|and I)\b"
)
_ORG_TAILS = word_set(
    """inc corp corporation ltd llc gmbh ag plc co company labs technologies systems software foundation university
    institute bank group partners capital ventures holdings studios games media networks solutions consulting
    hospital college school agency ministry council association society"""
)
_ORG_HEADS = word_set("university bank institute ministry department college school museum")
STOP = word_set(
    """i i'm i'll i've i'd me my mine we we're we'll we've our ours us you you're your yours he he's him his she she's
    her hers they they're their them it it's its this that these those there there's here here's the a an and or
    but nor if then so because as at by for from in into of on onto to with without within about above below after
    before during since until till while when where what what's which who whom whose why how is are was were be been
    being am do does did done have has had can could will would shall should may might must not no yes yeah ok okay
    hi hello hey thanks thank please sorry also just only even still yet now today tomorrow yesterday tonight maybe
    perhaps all any some every each both either neither none nothing everything something anything everyone someone
    anyone nobody everybody somebody anybody one two three four five six seven eight nine ten first second third next
    last new old other another such same more most less many much few very too again once always never sometimes
    often usually however therefore although though otherwise meanwhile instead well oh wow let let's lets don't
    doesn't didn't can't won't isn't aren't wasn't weren't note todo fixme fyi asap api apis ui ux id ids url urls
    cli pr prs ceo cto cfo vp hr qa eta faq dm am pm utc gmt est pst cet cest edt pdt bst tbd wip lgtm imo imho afaik
    btw tl dr mr mrs ms mx prof sir dame miss phd etc eg ie vs re cc ps nb dear best regards cheers mom mum dad
    january february march april may june july august september october november december jan feb mar apr jun jul
    aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs
    fri sat sun cannot kb mb gb tb pb kib mib gib ms get post put patch delete head options q1 q2 q3 q4 h1 h2
    fy"""
)


def capitalised(text: str, claimed: bytearray, gaz: Gazetteer) -> list[Span]:
    """Runs of capitalised words outside the claimed spans, split at stop words, months and claimed words, each
    then a person, an organisation or a generic name. A lone capitalised word opening a sentence is no name."""
    found: list[Span] = []
    for run in _RUN.finditer(text):
        if claimed.find(0, *run.span()) == -1:
            continue  # all of it is a technology, a place, an identifier...
        if " " in run.group() or "\t" in run.group():
            _split_run(text, run, claimed, gaz, found)
            continue
        start, end = run.start(), _drop_possessive(text, *run.span())  # one word: the common case, made short
        word = text[start:end]
        if end - start < 2 or word.lower() in STOP or claimed.find(1, start, end) != -1:
            continue
        at_start = sentence_start(text, start)
        if at_start and word not in gaz.first_names and not PERSON_AFTER.match(text, end):
            continue  # "Fixed the bug.", "Remember to..." (what _add_group would conclude, only sooner)
        _add_group(text, [(start, end)], at_start, gaz, found)
    return found


def _split_run(text: str, run: re.Match[str], claimed: bytearray, gaz: Gazetteer, found: list[Span]) -> None:
    words = [(w.start(), _drop_possessive(text, *w.span())) for w in _CAP_WORD.finditer(text, *run.span())]
    if all(text[start:end].isupper() for start, end in words):
        return  # SHOUTED TEXT, not a run of acronyms
    leading = True  # only stop words so far: a sentence start still counts ("Then Sarah said")
    group: list[tuple[int, int]] = []
    for start, end in words:
        word = text[start:end]
        taken = claimed.find(1, start, end) != -1
        stop = end - start < 2 or word.lower() in STOP
        if not (taken or stop or word.isupper()):
            group.append((start, end))
            continue
        if group:
            _add_group(text, group, leading and sentence_start(text, run.start()), gaz, found)
            group, leading = [], False
        if not (taken or stop):  # an acronym stands alone: "ECONNRESET", not "Error ECONNRESET"
            _add_group(text, [(start, end)], leading and sentence_start(text, run.start()), gaz, found)
        leading = leading and stop
    if group:
        _add_group(text, group, leading and sentence_start(text, run.start()), gaz, found)


def _drop_possessive(text: str, start: int, end: int) -> int:
    return end - 2 if end - start > 3 and text[end - 2] in "'’" and text[end - 1] == "s" else end


def _add_group(text: str, group: list[tuple[int, int]], at_start: bool, gaz: Gazetteer, found: list[Span]) -> None:
    cued = len(group) > 1 and text[slice(*group[0])].lower() in _CUE_VERBS  # "Ask Imogen", "Thank Tom"
    if cued or (at_start and len(group) > 1 and text[slice(*group[1])] in gaz.first_names):
        group, at_start = group[1:], False  # "Meeting Sarah tomorrow": the opening word is not part of the name
    start, end = group[0][0], group[-1][1]
    name = norm(text[start:end])
    words = name.split()
    if len(words) > 1 and (words[-1].lower() in _ORG_TAILS or words[0].lower() in _ORG_HEADS):
        found.append((start, end, Entity(f"org:{name.lower()}", name, "organization")))
    elif len(group) <= 3 and not name.isupper() and (cued or _is_person(text, start, end, group, at_start, gaz)):
        found.append((start, end, person_entity(name)))
    elif len(words) <= 4 and not (at_start and len(group) == 1):
        found.append((start, end, Entity(f"name:{name.lower()}", name, "name")))


def _is_person(text: str, start: int, end: int, group: list[tuple[int, int]], at_start: bool, gaz: Gazetteer) -> bool:
    if text[slice(*group[0])] in gaz.first_names or PERSON_AFTER.match(text, end):
        return True
    if at_start:
        return False  # what comes before ends another sentence: no cue
    cue = person_cue(text, start)
    return cue == "strong" or (cue == "weak" and len(group) > 1)


def person_cue(text: str, start: int) -> str:
    """Whether a cue word stands right before `start`: "strong" after "told", "my colleague", "Dr." and the like,
    "weak" after "with", "from", "to" or "by", else ""."""
    before = text[max(0, start - 24) : start]
    if not before[-1:].isspace():
        return ""
    words = before.split()
    if not words:
        return ""
    last = words[-1].lower()
    if last in _CUE_VERBS or last in _RELATIONS or words[-1].rstrip(".") in _TITLES:
        return "strong"
    return "weak" if last in _WEAK_CUES else ""
