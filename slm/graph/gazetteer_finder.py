"""The gazetteer's aliases found in a text, with the context rules of the ?, ! and @ flags (see the header of
gazetteer.tsv) that keep "Go", "C" or "Ruby" from naming a technology where the text means the English word, the
letter or a person, and the version right after a technology ("PostgreSQL 16").
"""

from __future__ import annotations

import re

from slm.graph.entity_keys import norm, version_entity
from slm.graph.gazetteer import Gazetteer
from slm.graph.name_finders import PERSON_AFTER, person_cue
from slm.graph.prose import last_word, sentence_start, word_set
from slm.graph.spans import GAZ_RANK, VERSION_RANK, Candidate, candidate

# The version after a technology ("PostgreSQL 16", "Python v3.12", "Xcode 16.2"), unless a unit follows it
# ("Redis 3 times").
_UNITS = (
    "%|x|times|seconds|secs|minutes|mins|hours|hrs|days|weeks|months|years|ms|s|m|h|d|gb|mb|kb|tb|replicas|nodes|"
    "instances|pods|workers|servers|connections|requests|items|rows|users|people|cores|threads|processes|retries|"
    "attempts|copies|tables|columns|files|lines|steps|points|stars"
)
_TECH_VERSION = re.compile(
    rf"(?:[ \t]+(?:version[ \t]+)?|-)(v?\d+(?:\.\d+){{0,3}})(?![\w%]|\.\d|:\d|/\d|[ \t]*(?i:{_UNITS})\b)"
)
_TECH_NOUNS = word_set(
    """code codebase program programs programming module modules package packages library libraries lib service
    services binary binaries app apps application applications project projects version versions compiler compilers
    toolchain runtime sdk api apis developer developers dev devs programmer programmers file files source script
    scripts server servers client clients test tests build builds dependency dependencies generics function
    functions struct structs interface interfaces cli tooling crate crates gem gems install installation upgrade
    docs documentation syntax ecosystem stack backend frontend team job jobs container containers image images
    cluster clusters config configuration plugin plugins extension extensions workspace repo repos repository
    bindings binding header headers standard language macro macros pointer pointers template templates goroutine
    goroutines channel channels linter formatter debugger profiler interpreter shell command commands worker workers
    handler handlers release releases support port wrapper"""
)
_VERSION_FIRST = frozenset("0123456789vV")  # the character after the separator, when a version follows
_NEXT_WORD = re.compile(r"[ \t]+([A-Za-z]+)")
_LANGUAGE_CUES = word_set(
    """in using with learn learning write writes writing wrote written coded program programming port ported rewrite
    rewrote rewritten use uses used prefer prefers know knows like likes"""
)


def gazetteer_matches(text: str, gaz: Gazetteer, found: list[Candidate]) -> None:
    lowered = text.lower()
    matches = gaz.pattern.finditer(lowered) if len(lowered) == len(text) else gaz.pattern_any_case.finditer(text)
    for match in matches:
        start, end = match.span()
        surface = text[start:end]
        alias = gaz.lookup(surface if surface.isalnum() else norm(surface))
        if alias is None or (alias.flag and not _in_context(text, start, end, alias.flag)):
            continue
        found.append(candidate(GAZ_RANK, start, end, alias.entity))
        if alias.entity.kind == "technology" and (version := _version_after(text, end)):
            found.append(candidate(VERSION_RANK, *version.span(1), version_entity(version[1], alias.entity)))


def _version_after(text: str, end: int) -> re.Match[str] | None:
    """The version right after a technology, if any; the cheap test first, as most technologies have none."""
    return _TECH_VERSION.match(text, end) if text[end + 1 : end + 2] in _VERSION_FIRST else None


def _in_context(text: str, start: int, end: int, flag: str) -> bool:
    if flag == "?":
        return not sentence_start(text, start) or _technical_after(text, end)
    if flag == "!":
        return _technical_after(text, end) or last_word(text, start) in _LANGUAGE_CUES
    if flag == "@":
        return not (person_cue(text, start) == "strong" or PERSON_AFTER.match(text, end))
    return True


def _technical_after(text: str, end: int) -> bool:
    if _version_after(text, end):
        return True
    word = _NEXT_WORD.match(text, end)
    return word is not None and word.group(1).lower() in _TECH_NOUNS
