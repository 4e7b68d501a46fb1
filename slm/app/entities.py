"""Zero-LLM entity extraction: the named things in a memory, canonicalised so that aliases meet.

A maintained gazetteer (`data/gazetteer.tsv`: technologies, organisations, places, first names, with aliases and
the flags its header explains) plus patterns for what no list can hold: URLs, file paths, code identifiers,
versions, dates, people named through cues ("my colleague Priya", "Tom said") and other capitalised names.
Where matches overlap, the more specific kind wins, in `_PRIORITY` order: a URL's path is not also a file path,
"PostgreSQL 15" is the technology plus its version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

KINDS = ("technology", "person", "place", "organization", "path", "url", "identifier", "version", "date", "name")


@dataclass(frozen=True, slots=True)
class Entity:
    key: str  # canonical identity, lowercase: "postgresql", "person:sarah", "path:src/app/main.py"
    name: str  # display name: "PostgreSQL", "Sarah", "src/app/main.py"
    kind: str  # one of KINDS


@dataclass(frozen=True, slots=True)
class _Alias:
    entity: Entity
    flag: str  # "" any case, else exact: "=" always, "?" cue at a sentence start, "!" cue, "@" unless a person


@dataclass(frozen=True)
class _Gazetteer:
    any_case: dict[str, _Alias]  # lowercased, whitespace-normalised alias
    exact: dict[str, _Alias]  # alias as written
    first_names: frozenset[str]
    pattern: re.Pattern


_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"  # noqa: E501
_NOT_NAMES = frozenset(
    """i a an the this that these those it its he she they we you his her their our your my me him them us
    monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
    january february march april may june july august september october november december
    yes no ok okay hi hello hey thanks thank please sorry also but and or so if then when while because however
    what which who whom whose where why how there here let lets let's i'm i've i'd i'll it's that's there's
    can could would should will shall might must do does did done is are was were be been being have has had
    one two three first second next last new old great good nice sure well just maybe some any all each every
    note notes todo fixme update step steps example user assistant answer question""".split()  # noqa: SIM905
)
_TECH_NOUNS = frozenset(
    """code module modules package packages library libraries version versions app apps service services server
    program programs binary binaries compiler runtime routine routines file files project projects script scripts
    api apis sdk toolchain lang language developer developers backend frontend build builds test tests""".split()  # noqa: SIM905
)
_LANGUAGE_CUES = frozenset(
    {"in", "using", "with", "use", "uses", "used", "learn", "learning", "write", "writing", "written", "wrote"}
    | {"coded", "prefer", "know", "knows", "plain"}
)
_PERSON_BEFORE = re.compile(
    r"(?:\b(?:with|told|asked|met|called|emailed|thanked|and)\s+|\bmy\s+(?:friend|colleague|coworker|co-worker|"
    r"sister|brother|mom|mum|dad|mother|father|wife|husband|partner|boss|manager|cousin|aunt|uncle|son|daughter|"
    r"teammate|roommate|neighbou?r)\s+|\b(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)$"
)
_PERSON_AFTER = re.compile(
    r"^\s+(?:said|says|told|asked|wants|wanted|suggested|thinks|thought|mentioned|recommended)\b"
)
_NAME_WORD = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
_CUED_PERSON = re.compile(
    r"(?:\b(?:told|asked|met|called|emailed|thanked)\s+|\bmy\s+(?:friend|colleague|coworker|co-worker|sister|brother|"
    r"mom|mum|dad|mother|father|wife|husband|partner|boss|manager|cousin|aunt|uncle|son|daughter|teammate|roommate|"
    rf"neighbou?r)\s+|\b(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)({_NAME_WORD}(?:\s+{_NAME_WORD})?)"
    rf"|\b({_NAME_WORD}(?:\s+{_NAME_WORD})?)(?=\s+(?:said|says|told|suggested|recommended|mentioned)\b)"
)
_URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]}]+", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})\b")
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_EXTENSIONS = (
    "py|pyi|js|mjs|cjs|ts|tsx|jsx|md|rst|json|jsonl|yaml|yml|toml|sql|sh|bash|zsh|go|rs|java|kt|c|h|cc|cpp|hpp|cs|rb|"
    "php|html|htm|css|scss|txt|csv|tsv|lock|cfg|ini|env|conf|xml|gradle|swift|lua|ipynb|db|sqlite|log|pdf|png|jpg|svg|"
    "vue|svelte|tf|proto|gguf|whl|zip|gz|tar"
)
_PATH = re.compile(
    r"(?<![\w/@:.-])(?:[A-Za-z]:\\[\w .\\-]+|(?:~|\.{1,2})?/?(?:[\w.@-]+/)+[\w.@-]+/?"
    rf"|[\w-]+(?:\.[\w-]+)*\.(?:{_EXTENSIONS}))(?![\w/])"
)
_BACKTICKED = re.compile(r"`([^`\n]{1,80})`")
_IDENTIFIER = re.compile(
    r"(?<![\w.])(?:[A-Za-z_]\w*\(\)|[a-z_][a-z0-9]*_[a-z0-9_]*[a-z0-9]|[a-z]+[A-Z][A-Za-z0-9]*"
    r"|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*|[a-z_]\w*(?:\.[a-z_]\w*)+(?=\(|\b))(?![\w])"
)
_VERSION = re.compile(r"(?<![\w.])v?(\d+\.\d+(?:\.\d+)?(?:[-.]?(?:alpha|beta|rc|dev)\.?\d*)?)(?![\w.]*\d)")
_TECH_VERSION = re.compile(r"^\s+v?(\d+(?:\.\d+){0,2})\b")
_CAPITALISED_RUN = re.compile(rf"\b{_NAME_WORD}(?:\s+(?:of\s+|de\s+|the\s+)?{_NAME_WORD}){{0,3}}\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n]\s*|[\"'(]\s*)$")
_PRIORITY = ("url", "date", "path", "gazetteer", "person", "version", "identifier", "name")


def extract(text: str, limit: int = 64) -> list[Entity]:
    """Distinct entities (by key) in order of first appearance, at most `limit`."""
    if not isinstance(text, str):
        raise TypeError(f"extract() needs text (str), got {type(text).__name__}")
    if not text.strip():
        return []
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, Entity]] = []
    for finder in (_urls, _dates, _paths, _gazetteer_matches, _cued_people, _versions, _identifiers, _names):
        for start, end, entity in finder(text):
            if not any(start < e and s < end for s, e in taken):
                taken.append((start, end))
                found.append((start, entity))
    seen: dict[str, Entity] = {}
    for _, entity in sorted(found, key=lambda pair: pair[0]):
        seen.setdefault(entity.key, entity)
    return list(seen.values())[:limit]


def canonical(surface: str) -> Entity | None:
    """The entity a single surface form names through the gazetteer ("Postgres" -> PostgreSQL), else None."""
    if not isinstance(surface, str):
        raise TypeError(f"canonical() needs a str, got {type(surface).__name__}")
    gazetteer = _load()
    surface = " ".join(surface.split())
    alias = gazetteer.exact.get(surface) or gazetteer.any_case.get(surface.lower())
    if alias is not None:
        return alias.entity
    if surface in gazetteer.first_names:
        return Entity(f"person:{surface.lower()}", surface, "person")
    return None


# -- finders: each yields (start, end, entity) ------------------------------------------------------------------
def _urls(text: str):
    for m in _URL.finditer(text):
        url = m.group().rstrip(".,;:!?")
        scheme, _, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        normal = f"{scheme.lower()}://{host.lower()}{slash}{path}"
        yield m.start(), m.start() + len(url), Entity(f"url:{normal}", normal, "url")


def _dates(text: str):
    for m in _ISO_DATE.finditer(text):
        yield from _date(m, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for m in _MONTH_DAY_YEAR.finditer(text):
        yield from _date(m, int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2)))
    for m in _DAY_MONTH_YEAR.finditer(text):
        yield from _date(m, int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
    for m in _MONTH_YEAR.finditer(text):
        yield from _date(m, int(m.group(2)), _MONTHS[m.group(1).lower()], None)


def _date(m: re.Match, year: int, month: int, day: int | None):
    if not (1 <= month <= 12 and (day is None or 1 <= day <= 31)):
        return
    key = f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day else "")
    yield m.start(), m.end(), Entity(f"date:{key}", key, "date")


def _paths(text: str):
    for m in _PATH.finditer(text):
        path = m.group().rstrip(".")
        is_file = re.search(rf"\.(?:{_EXTENSIONS})$", path, re.IGNORECASE) is not None
        leading = path.startswith(("/", "~", "./", "../")) or "\\" in path
        if "/" in path and not (is_file or leading or path.count("/") >= 2):
            continue  # "and/or", "client/server": words, not a path
        if "/" not in path and "\\" not in path and not is_file:
            continue
        if "/" not in path and "\\" not in path and re.fullmatch(r"[\d.]+", path.rsplit(".", 1)[0]):
            continue
        yield m.start(), m.start() + len(path), Entity(f"path:{path.lower()}", path, "path")


def _gazetteer_matches(text: str):
    gazetteer = _load()
    for m in gazetteer.pattern.finditer(text):
        surface = m.group()
        alias = gazetteer.exact.get(surface)
        if alias is None:
            alias = gazetteer.any_case.get(" ".join(surface.lower().split()).replace("’", "'"))
            if alias is None:
                continue
        elif not _flag_allows(alias.flag, text, m.start(), m.end()):
            if alias.flag == "@":
                yield m.start(), m.end(), Entity(f"person:{surface.lower()}", surface, "person")
            continue
        end = m.end()
        yield m.start(), end, alias.entity
        if alias.entity.kind == "technology" and (version := _TECH_VERSION.match(text[end:])):
            number = version.group(1)
            name = f"{alias.entity.name} {number}"
            yield end, end + version.end(), Entity(f"version:{alias.entity.key} {number}", name, "version")
    for m in re.finditer(rf"\b({_NAME_WORD})(?:\s+({_NAME_WORD}))?", text):
        if m.group(1) in gazetteer.first_names:
            surname = m.group(2)
            if surname and (_load().any_case.get(surname.lower()) or surname.lower() in _NOT_NAMES):
                surname = None
            full = m.group(1) + (f" {surname}" if surname else "")
            end = m.start() + len(full)
            yield m.start(), end, Entity(f"person:{full.lower()}", full, "person")


def _flag_allows(flag: str, text: str, start: int, end: int) -> bool:
    """Whether a case-sensitive flagged alias counts here (see the gazetteer's header)."""
    after = text[end:].split(None, 1)
    next_word = after[0].strip(".,;:!?)").lower() if after else ""
    cue_after = bool(re.match(r"v?\d", next_word)) or next_word in _TECH_NOUNS
    if flag == "?":
        return not _SENTENCE_START.search(text[:start]) or cue_after
    if flag == "!":
        before = text[:start].split()
        return cue_after or (bool(before) and before[-1].lower() in _LANGUAGE_CUES)
    if flag == "@":
        return not (_PERSON_BEFORE.search(text[max(0, start - 40) : start]) or _PERSON_AFTER.match(text[end:]))
    return True


def _cued_people(text: str):
    for m in _CUED_PERSON.finditer(text):
        group = 1 if m.group(1) else 2
        name = m.group(group)
        words = name.split()
        if words[0].lower() in _NOT_NAMES or (len(words) == 1 and canonical(words[0]) is not None):
            continue
        yield m.start(group), m.end(group), Entity(f"person:{name.lower()}", name, "person")


def _versions(text: str):
    for m in _VERSION.finditer(text):
        if m.group().startswith("v") or m.group(1).count(".") >= 2:
            yield m.start(), m.end(), Entity(f"version:{m.group(1)}", m.group(), "version")


def _identifiers(text: str):
    for m in _BACKTICKED.finditer(text):
        code = m.group(1).strip()
        if code:
            yield m.start(1), m.end(1), Entity(f"id:{code}", code, "identifier")
    for m in _IDENTIFIER.finditer(text):
        code = m.group()
        name = code[:-2] if code.endswith("()") else code
        yield m.start(), m.end(), Entity(f"id:{name}", name, "identifier")


def _names(text: str):
    for m in _CAPITALISED_RUN.finditer(text):
        words = m.group().split()
        while words and words[0].lower() in _NOT_NAMES:
            words = words[1:]
        if not words:
            continue
        start = m.start() + m.group().index(words[0])
        at_sentence_start = bool(_SENTENCE_START.search(text[:start]))
        if at_sentence_start and len(words) < 2:
            continue
        name = " ".join(words)
        yield start, m.end(), Entity(f"name:{name.lower()}", name, "name")


# -- the gazetteer ------------------------------------------------------------------------------------------------
@cache
def _load() -> _Gazetteer:
    any_case: dict[str, _Alias] = {}
    exact: dict[str, _Alias] = {}
    first_names: set[str] = set()
    text = resources.files("slm.app.data").joinpath("gazetteer.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, kind, *rest = line.split("\t")
        if kind == "person":
            first_names.add(name)
            continue
        entity = Entity(name.lower(), name, kind)
        aliases = [a for a in (rest[0].split("|") if rest and rest[0] else []) if a]
        flagged = {a[1:] for a in aliases if a[0] in "=?!@"}
        if name not in flagged:
            any_case.setdefault(name.lower(), _Alias(entity, ""))
        for alias in aliases:
            if alias[0] in "=?!@":
                exact.setdefault(alias[1:], _Alias(entity, alias[0]))
            else:
                any_case.setdefault(" ".join(alias.lower().split()), _Alias(entity, ""))
    surfaces = sorted(set(any_case) | set(exact), key=len, reverse=True)
    alternation = "|".join(re.escape(s).replace(r"\ ", r"\s+").replace("'", "['’]") for s in surfaces)
    pattern = re.compile(rf"(?<![\w./@-])(?:{alternation})(?![\w]|[.@/-]\w)", re.IGNORECASE)
    return _Gazetteer(any_case, exact, frozenset(first_names), pattern)
