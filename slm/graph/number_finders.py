"""Finders of dates and versions, which start at a digit, a "v" or a month name that starts a word, and try one
regex there. A version right after a technology ("PostgreSQL 16") is found with it, in gazetteer_finder.py.
"""

from __future__ import annotations

import re
from datetime import date

from slm.graph.entity_keys import Entity, norm, version_entity
from slm.graph.gazetteer import Gazetteer
from slm.graph.prose import last_word
from slm.graph.spans import BARE_VERSION_RANK, DATE_RANK, Candidate, candidate

# Dates: ISO (2023-05-20, 2023/05/20, 2023-05, with an optional time), "May 2023", "May 5, 2023", "5 May 2023".
# Month names must be capitalised ("may 2023" is not a date); a year outside 1900-2199 is more likely a count.
# Versions: "v1.2", "v2", "1.2.3" (three parts: a bare "1.2" is as often a decimal), "version 1.2".
_NUMBER_START = re.compile(r"[\dv](?<![\w.\-/][\dv])")
_MONTH_START = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?<![\w.\-/]...)")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH = rf"(?:{_MONTHS}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_NUMBERISH = re.compile(  # one regex, one attempt per anchor: dates, then versions, then other dotted numbers
    r"(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?:(?P=sep)(?P<d>\d{1,2}))?"
    r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?(?![\w\-/]|\.\d)"
    rf"|(?P<mn1>{_MONTH})[ \t]+(?P<d1>{_DAY}),?[ \t]+(?P<y1>\d{{4}})(?!\w)"
    rf"|(?P<d2>{_DAY})[ \t]+(?:of[ \t]+)?(?P<mn2>{_MONTH}),?[ \t]+(?P<y2>\d{{4}})(?!\w)"
    rf"|(?P<mn3>{_MONTH}),?[ \t]+(?P<y3>\d{{4}})(?!\w)"
    r"|(?P<version>(?:v\d+(?:\.\d+){0,3}|\d+\.\d+\.\d+)"
    r"(?:-(?:alpha|beta|rc|dev|pre|preview|post)[\w.]*|(?:a|b|rc|dev|post)\d+)?)(?![\w\-]|\.\d)"
    r"|(?P<dotted>\d+(?:\.\d+)+)(?![\w\-]|\.\d)"
)
_MONTH_NUMBER = {name[:3].lower(): number for number, name in enumerate(_MONTHS.split("|"), start=1)}
_VERSION_CUES = frozenset({"version", "release", "ver", "ver."})


def numbers(text: str, gaz: Gazetteer, found: list[Candidate]) -> None:
    done = 0
    for first in sorted([*_NUMBER_START.finditer(text), *_MONTH_START.finditer(text)], key=re.Match.start):
        start = first.start()
        if start < done or (text[start] == "v" and not text[start + 1 : start + 2].isdigit()):
            continue
        match = _NUMBERISH.match(text, start)
        if match is None:
            continue
        done = match.end()
        if match["version"] or (match["dotted"] and last_word(text, start) in _VERSION_CUES):
            found.append(candidate(BARE_VERSION_RANK, start, done, version_entity(match.group())))
        elif not match["dotted"] and (key := _date_key(match)):
            found.append(candidate(DATE_RANK, start, done, Entity(key, norm(match.group()), "date")))


def _date_key(match: re.Match[str]) -> str | None:
    parts = match.groupdict()
    year = int(parts["y"] or parts["y1"] or parts["y2"] or parts["y3"])
    month_name = parts["mn1"] or parts["mn2"] or parts["mn3"]
    month = _MONTH_NUMBER[month_name[:3].lower()] if month_name else int(parts["m"])
    day_text = parts["d"] or parts["d1"] or parts["d2"]
    day = int(day_text.rstrip("stndrh")) if day_text else None
    try:
        date(year, month, day or 1)  # a real month and day
    except ValueError:
        return None
    if not 1900 <= year <= 2199:
        return None
    return f"date:{year}-{month:02d}" + (f"-{day:02d}" if day else "")
