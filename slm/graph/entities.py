"""Entities in a memory or a question, found without a model, each with a canonical key so that "Postgres" in one
memory, "psql" in another and "PostgreSQL 15" in a question all meet on the entity "postgresql".

Technologies, organisations and places come from a gazetteer (slm/graph/data/gazetteer.tsv); people, paths, URLs,
identifiers, versions, dates and other names from finders that start at characters rare in prose. It runs inside
every write and every recall query, so it is built for speed. How overlapping finds are ranked and what the keys
look like: docs/ARCHITECTURE.md, "Engine", entities.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from operator import itemgetter

KINDS = ("technology", "person", "place", "organization", "path", "url", "identifier", "version", "date", "name")
GAZETTEER = "data/gazetteer.tsv"  # inside the slm.graph package


@dataclass(frozen=True, slots=True)
class Entity:
    key: str  # canonical identity, lowercase, e.g. "postgresql", "person:sarah", "path:src/app/main.py"
    name: str  # display name, e.g. "PostgreSQL", "Sarah", "src/app/main.py"
    kind: str  # one of KINDS


def extract(text: str, limit: int = 64) -> list[Entity]:
    """Distinct entities (by key) in order of first appearance, at most `limit`."""
    if not isinstance(text, str):
        raise TypeError(f"extract() needs the text as a str, not {type(text).__name__}")
    if limit <= 0 or not text.strip():
        return []
    gaz = _gazetteer()
    claimed = bytearray(len(text))  # 1 where a kept span already sits
    spans = _claim(_candidates(text, gaz), claimed)
    spans += _capitalised(text, claimed, gaz)
    spans += _backticked(text, spans, gaz)
    return _distinct(spans, limit)


def canonical(surface: str) -> Entity | None:
    """The entity a single surface form names via the gazetteer/aliases ("Postgres" -> PostgreSQL), else None.

    Case rules apply ("pg" names PostgreSQL, "PG" nothing) but context rules cannot: a lone "Go" or "C" is taken
    at its word. A known capitalised first name is a person.
    """
    if not isinstance(surface, str):
        raise TypeError(f"canonical() needs a str, not {type(surface).__name__}")
    gaz, surface = _gazetteer(), _norm(surface)
    alias = gaz.lookup(surface)
    if alias is not None:
        return alias.entity
    return _person(surface) if surface in gaz.first_names else None


# --- the gazetteer -------------------------------------------------------------------------------------------------

_FLAGS = "=?!@"  # see the header of gazetteer.tsv
_ROW_KINDS = ("technology", "organization", "place", "person")


@dataclass(frozen=True, slots=True)
class _Alias:
    entity: Entity
    flag: str  # "" (any case) or one of _FLAGS


@dataclass(frozen=True, slots=True)
class _Gazetteer:
    any_case: dict[str, _Alias]  # lowercased alias -> alias
    exact: dict[str, _Alias]  # flagged alias as written -> alias
    first_names: frozenset[str]
    trie: str  # every alias, lowercased, as one regex alternation
    conflicts: tuple[str, ...]  # aliases claimed by two entities (the first wins); the tests keep this empty

    def lookup(self, surface: str) -> _Alias | None:
        """The alias `surface` (whitespace-normalised) spells: in any case, or exactly as written if flagged."""
        return self.any_case.get(surface.lower()) or self.exact.get(surface)

    @property
    def pattern(self) -> re.Pattern[str]:
        """For lowercased text: no IGNORECASE, which makes a trie of literals about 4 times slower."""
        return _compiled(self.trie, 0)

    @property
    def pattern_any_case(self) -> re.Pattern[str]:
        """For the rare text whose lowercase changes its length ("İ"), so that spans stay aligned."""
        return _compiled(self.trie, re.IGNORECASE)


@cache
def _gazetteer() -> _Gazetteer:
    """Loaded once per process on first use (about 35 ms with the regex compile), not at import."""
    text = resources.files("slm.graph").joinpath(GAZETTEER).read_text(encoding="utf-8")
    return _build(text.splitlines())


@cache
def _compiled(trie: str, flags: int) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.\-@#$])(?:{trie})(?![\w+#@]|\.\w)", flags)


def _build(lines: Iterable[str]) -> _Gazetteer:
    any_case: dict[str, _Alias] = {}
    exact: dict[str, _Alias] = {}
    first_names: set[str] = set()
    conflicts: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, kind, aliases = _row(line, number)
        if kind == "person":
            first_names.add(name)
            continue
        entity = Entity(name.lower(), name, kind)
        for alias in aliases:
            flag = alias[0] if alias[0] in _FLAGS else ""
            surface = _norm(alias[len(flag) :])
            table, key = (exact, surface) if flag else (any_case, surface.lower())
            other = table.get(key) or (any_case.get(key.lower()) if flag else None)
            if other is not None and other.entity != entity:
                conflicts.append(f"line {number}: {surface!r} is already {other.entity.name}")
                continue
            table[key] = _Alias(entity, flag)
    lowered = {*any_case, *(surface.lower() for surface in exact)}
    return _Gazetteer(any_case, exact, frozenset(first_names), _trie_pattern(_trie(lowered)), tuple(conflicts))


def _row(line: str, number: int) -> tuple[str, str, list[str]]:
    """One gazetteer line: the name, its kind, and its aliases, the name first unless an alias respells it."""
    cells = [cell.strip() for cell in line.split("\t")]
    if len(cells) < 2 or not cells[0] or cells[1] not in _ROW_KINDS:
        raise ValueError(f"{GAZETTEER} line {number}: expected 'name<TAB>kind[<TAB>aliases]', got {line!r}")
    name, kind = _norm(cells[0]), cells[1]
    aliases = [alias.strip() for alias in cells[2].split("|")] if len(cells) > 2 else []
    aliases = [alias for alias in aliases if alias.lstrip(_FLAGS)]
    if not any(_norm(alias.lstrip(_FLAGS)).lower() == name.lower() for alias in aliases):
        aliases.insert(0, name)
    return name, kind, aliases


def _trie(words: Iterable[str]) -> dict:
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return root


def _trie_pattern(node: dict) -> str:
    """A trie as a regex: a word costs a few steps whatever the number of aliases. Greedy, so the longest alias
    wins, backtracking to a shorter one when the longer fails its word boundary ("Gopher" is not "Go")."""
    branches = [_char_pattern(char) + _trie_pattern(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return "(?!)" if not node else ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _char_pattern(char: str) -> str:
    return {" ": r"\s+", "'": "['’]"}.get(char) or re.escape(char)


def _words(text: str) -> frozenset[str]:
    """A word list written as prose, which reads better than a list of quoted words."""
    return frozenset(text.split())


def _norm(surface: str) -> str:
    """Whitespace runs to one space, typographic apostrophes to ASCII: how aliases and names are compared."""
    return " ".join(surface.split()).replace("’", "'")


# --- candidate spans -----------------------------------------------------------------------------------------------

# Rank of each finder's spans: the lower wins an overlap.
_URL_RANK, _PATH_RANK, _FILE_RANK, _DATE_RANK, _CALL_RANK, _GAZ_RANK, _VERSION_RANK, _BARE_VERSION_RANK, _ID_RANK = (
    range(9)
)
_Candidate = tuple[int, int, int, int, Entity]  # rank, -length, start, end, entity: sorts best first
_Span = tuple[int, int, Entity]  # start, end, entity
_CANDIDATE_ORDER = itemgetter(0, 1, 2)  # never the entity: Entity has no order


def _candidates(text: str, gaz: _Gazetteer) -> list[_Candidate]:
    found: list[_Candidate] = []
    for finder in _FINDERS:
        finder(text, gaz, found)
    return found


def _candidate(rank: int, start: int, end: int, entity: Entity) -> _Candidate:
    return rank, start - end, start, end, entity


def _claim(candidates: list[_Candidate], claimed: bytearray) -> list[_Span]:
    """Keep candidates by rank, then length, then position, unless a kept one already holds any of their text."""
    kept: list[_Span] = []
    for _, _, start, end, entity in sorted(candidates, key=_CANDIDATE_ORDER):
        if claimed.find(1, start, end) == -1:
            claimed[start:end] = b"\x01" * (end - start)
            kept.append((start, end, entity))
    return kept


def _distinct(spans: list[_Span], limit: int) -> list[Entity]:
    """First appearances, in order; a name that the text elsewhere shows to be a person is that person ("Emeka and
    Tariq paired on it. Emeka reviewed it." makes both mentions of Emeka the same person)."""
    people = {entity.name.lower() for _, _, entity in spans if entity.kind == "person"}
    seen: dict[str, Entity] = {}
    for _, _, entity in sorted(spans, key=itemgetter(0)):
        if entity.kind == "name" and entity.name.lower() in people:
            entity = _person(entity.name)
        if entity.key not in seen:
            seen[entity.key] = entity
            if len(seen) == limit:
                break
    return list(seen.values())


# The characters of the token around an anchor, by kind of token.
_WORD_CHARS = re.compile(r"\w*")
_NAME_CHARS = re.compile(r"[\w.]*")
_DOTTED_CHARS = re.compile(r"[\w.\-]*")
_PATH_CHARS = re.compile(r"[\w.@+~\-]*")
_DRIVE_CHARS = re.compile(r"[\w.@+~\-:]*")


def _token_start(rev: str, position: int, chars: re.Pattern[str]) -> int:
    """Where the run of `chars` that ends at `position` starts: matched forwards on the reversed text `rev`, so
    that the scan runs in C (a Python loop over the characters costs more than all the regexes)."""
    at = len(rev) - position
    return position - (chars.match(rev, at).end() - at)  # type: ignore[union-attr] - `*` always matches


def _widen(text: str, rev: str, start: int, end: int, chars: re.Pattern[str]) -> tuple[int, int]:
    """The token of `chars` around [start, end)."""
    return _token_start(rev, start, chars), chars.match(text, end).end()  # type: ignore[union-attr]


# URLs: http(s) only; trailing punctuation is prose, not URL, unless it closes a bracket the URL opened.
_URL = re.compile(r"[hH](?<!\w[hH])[tT][tT][pP][sS]?://[^\s<>\"'`\\^{}|]+")
_URL_PARTS = re.compile(r"([^:]+)://([^/?#]*)(.*)", re.DOTALL)
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _urls(text: str, gaz: _Gazetteer, found: list[_Candidate]) -> None:
    if "://" not in text:
        return
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        parts = _URL_PARTS.match(url)
        if parts and parts[2]:
            scheme, host, rest = parts.groups()
            key = f"url:{scheme.lower()}://{host.lower()}{'' if rest == '/' else rest}"
            found.append(_candidate(_URL_RANK, match.start(), match.start() + len(url), Entity(key, url, "url")))


def _trim_url(url: str) -> str:
    while url[-1] in ".,;:!?'\")]}>*":
        opener = _CLOSERS.get(url[-1])
        if opener and url.count(opener) >= url.count(url[-1]):
            break
        url = url[:-1]
    return url


# Paths, found from their slashes. A relative path needs two slashes, a trailing slash, a known extension or a
# known first directory, so "and/or", "TCP/IP", "CI/CD" and "24/7" are not paths; "~/x", "./x", "../x", "/x" and
# "C:\x" always are.
_SLASH = re.compile(r"[/\\]")
_SEG = r"[\w.@+\-]+"
_PATH = re.compile(rf"(?<![\w.~/\\:@+\-])(?:(?:~|\.\.?)?(?:/{_SEG})+/?|{_SEG}(?:/{_SEG})+/?|{_SEG}/(?![\w/]))")
_WINDOWS_PATH = re.compile(r"(?<!\w)[A-Za-z]:\\[^\s:*?\"<>|,;]*")
_DIRS = _words(
    "src lib libs app apps test tests spec docs doc bin cmd pkg internal scripts config configs etc usr var opt home "
    "tmp packages public static assets build dist vendor node_modules migrations benchmarks examples tools .github "
    ".vscode"
)


def _paths(text: str, gaz: _Gazetteer, found: list[_Candidate]) -> None:
    done, rev = 0, text[::-1]
    for slash in _SLASH.finditer(text):
        if slash.start() < done:
            continue  # a later slash of a path already found
        start = _token_start(rev, slash.start(), _DRIVE_CHARS)
        match = _WINDOWS_PATH.match(text, start) if slash.group() == "\\" else None
        if match is None:
            start = _token_start(rev, slash.start(), _PATH_CHARS)
            match = _PATH.match(text, start)
        if match is None:
            continue
        path = match.group().rstrip(".")
        done = match.end()
        if match.re is _WINDOWS_PATH or _is_path(path):
            found.append(_candidate(_PATH_RANK, start, start + len(path), _path(path)))


def _is_path(path: str) -> bool:
    if path[0] in "~./":
        return bool(path.strip("~./"))
    segments = path.rstrip("/").split("/")
    if all(segment.isdigit() for segment in segments):  # 24/7, 1/2
        return False
    return (
        len(segments) > 2
        or (path.endswith("/") and len(segments[0]) > 1)
        or segments[0] in _DIRS
        or _FILE.fullmatch(segments[-1]) is not None
    )


def _path(path: str) -> Entity:
    return Entity(f"path:{path.lower()}", path, "path")


# Dotted tokens, found from a dot inside a word: file names with a known extension ("README.md", unless the name is
# an alias: "Node.js", "llama.cpp") and module paths ("os.path.join"; not "e.g", "a.m" or a host "example.com").
_INNER_DOT = re.compile(r"\.(?<=[\w\-]\.)(?=\w)")
_EXTENSIONS = _words(
    """py pyi pyx ipynb js mjs cjs jsx ts tsx mts cts vue svelte astro json jsonl ndjson json5 yaml yml toml ini cfg
    conf env lock md mdx rst txt adoc tex html htm css scss sass less xml svg csv tsv parquet sql db sqlite sqlite3 sh
    bash zsh fish ps1 bat cmd rs go java kt kts scala groovy gradle swift c h cc cpp cxx hpp hh cs fs vb rb erb php pl
    pm lua jl dart ex exs erl hrl hs ml clj cljs zig nim tf tfvars hcl proto graphql gql wasm gguf safetensors bin pt
    pth onnx pkl npy npz h5 zip tar gz tgz bz2 xz 7z whl jar war apk ipa dmg exe dll so dylib log pdf png jpg jpeg
    gif webp ico mp3 mp4 wav mov pro plist pbxproj xcodeproj storyboard xib mk cmake patch diff pem crt j2 jinja tmpl
    tpl hbs ejs pug njk"""
)
_FILE = re.compile(r"[\w\-]+(?:\.[\w\-]+)*\.(?i:" + "|".join(sorted(_EXTENSIONS)) + ")")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_DOMAIN_ENDS = frozenset({"com", "org", "net", "edu", "gov"})
_SPECIAL_FILES = (
    re.compile(
        r"(?:Dockerfile|Containerfile|Makefile|Justfile|Jenkinsfile|Procfile|Gemfile|Rakefile|Vagrantfile|Brewfile"
        r"|Podfile|CODEOWNERS)(?![\w.\-])"
    ),
    re.compile(
        r"\.(?:env|gitignore|gitattributes|gitmodules|dockerignore|editorconfig|npmrc|nvmrc|yarnrc|bashrc|zshrc"
        r"|bash_profile|profile|vimrc|envrc|prettierrc|eslintrc|babelrc|pylintrc|python-version|tool-versions)"
        r"(?:\.[\w\-]+)*(?![\w\-])"
    ),
)  # each starts with a literal: a regex that does not is tried at every position of the text, 30 times slower


def _dotted(text: str, gaz: _Gazetteer, found: list[_Candidate]) -> None:
    done, rev = 0, text[::-1]
    for dot in _INNER_DOT.finditer(text):
        if dot.start() < done:
            continue
        start, done = _widen(text, rev, dot.start(), dot.end(), _DOTTED_CHARS)
        token = text[start:done].rstrip(".-")
        end = start + len(token)
        if _FILE.fullmatch(token) and not token.startswith(".") and gaz.lookup(token) is None:
            found.append(_candidate(_FILE_RANK, start, end, _path(token)))
        elif _DOTTED.fullmatch(token) and _code_boundaries(text, start, end):
            parts = token.split(".")
            if min(map(len, parts)) >= 2 and parts[-1].lower() not in _DOMAIN_ENDS:
                found.append(_candidate(_ID_RANK, start, end, _identifier(token)))
    for pattern in _SPECIAL_FILES:
        for match in pattern.finditer(text):
            if _code_boundaries(text, match.start(), match.end(), before="_.-/"):
                found.append(_candidate(_FILE_RANK, match.start(), match.end(), _path(match.group())))


def _code_boundaries(text: str, start: int, end: int, before: str = "_.-/@$'’") -> bool:
    """Not the middle of something larger: a path, an e-mail address, a hyphenated word, a longer dotted name."""
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in before):
        return False
    after = text[end : end + 2]
    return not after or not (after[0].isalnum() or after[0] in "_-@" or (after[0] == "." and after[1:].isalnum()))


# Code identifiers: snake_case (found from its underscores), camelCase and PascalCase with an inner capital (found
# from that capital), ticket keys such as JIRA-123 (from the hyphen), calls ("foo()" always, "foo(x)" only if foo
# already looks like code: "file(s)" is prose).
_UNDERSCORE = re.compile(r"_")
_TICKET_HYPHEN = re.compile(r"-(?<=[A-Z0-9]-)(?=\d)")
_TICKET = re.compile(r"[A-Z][A-Z0-9]{1,9}-\d+")
_TICKET_CHARS = re.compile(r"[\w\-]*")
_INNER_CAPITAL = re.compile(r"[A-Z](?:(?<=[a-z0-9][A-Z])|(?<=[A-Z][A-Z])(?=[a-z]))")
_MIXED = re.compile(r"(?=[A-Za-z0-9]*[a-z])[A-Za-z][a-z0-9]*[A-Z][A-Za-z0-9]*")
_NOT_CODE = re.compile(r"(?:Mc|Mac)[A-Z][a-z]+|[A-Z]+s|PhD|SaaS|PaaS|IaaS|DevOps|FinTech")  # names, plurals, words
_OPEN_PAREN = re.compile(r"\((?<=[\w]\()")
_CALL_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _identifiers(text: str, gaz: _Gazetteer, found: list[_Candidate]) -> None:
    done, rev = 0, text[::-1]
    for underscore in _UNDERSCORE.finditer(text):
        if underscore.start() < done:
            continue
        start, done = _widen(text, rev, underscore.start(), underscore.end(), _WORD_CHARS)
        token = text[start:done]
        if any(char.isalpha() for char in token) and _code_boundaries(text, start, done):
            found.append(_candidate(_ID_RANK, start, done, _identifier(token)))
    done = 0
    for capital in _INNER_CAPITAL.finditer(text):
        if capital.start() < done:
            continue
        start, done = _widen(text, rev, capital.start(), capital.end(), _WORD_CHARS)
        token = text[start:done]
        if gaz.lookup(token) is not None or _NOT_CODE.fullmatch(token):
            continue  # PostgreSQL, GitHub: the gazetteer's, and cheaper to skip here than to lose in _claim
        if _MIXED.fullmatch(token) and _code_boundaries(text, start, done):
            found.append(_candidate(_ID_RANK, start, done, _identifier(token)))
    done = 0
    for hyphen in _TICKET_HYPHEN.finditer(text):
        if hyphen.start() < done:
            continue
        start, done = _widen(text, rev, hyphen.start(), hyphen.end(), _TICKET_CHARS)
        if _TICKET.fullmatch(text, start, done) and _code_boundaries(text, start, done):
            found.append(_candidate(_ID_RANK, start, done, _identifier(text[start:done])))


def _calls(text: str, gaz: _Gazetteer, found: list[_Candidate]) -> None:
    rev = text[::-1]
    for paren in _OPEN_PAREN.finditer(text):
        start = _token_start(rev, paren.start(), _NAME_CHARS)
        name = text[start : paren.start()]
        if not _CALL_NAME.fullmatch(name) or text[start - 1 : start] == "$":
            continue
        empty = text[paren.end() : paren.end() + 1] == ")"
        if empty or "_" in name or "." in name or _MIXED.fullmatch(name):
            end = paren.end() + (1 if empty else 0)
            found.append(_candidate(_CALL_RANK, start, end, _identifier(name, f"{name}()")))


def _identifier(name: str, display: str | None = None) -> Entity:
    return Entity(f"id:{name.lower()}", display or name, "identifier")


# Dates and versions, found from a digit, a "v" or a month name that starts a word.
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


def _numbers(text: str, gaz: _Gazetteer, found: list[_Candidate]) -> None:
    done = 0
    for first in sorted([*_NUMBER_START.finditer(text), *_MONTH_START.finditer(text)], key=re.Match.start):
        start = first.start()
        if start < done or (text[start] == "v" and not text[start + 1 : start + 2].isdigit()):
            continue
        match = _NUMBERISH.match(text, start)
        if match is None:
            continue
        done = match.end()
        if match["version"] or (match["dotted"] and _last_word(text, start) in _VERSION_CUES):
            found.append(_candidate(_BARE_VERSION_RANK, start, done, _version(match.group())))
        elif not match["dotted"] and (key := _date_key(match)):
            found.append(_candidate(_DATE_RANK, start, done, Entity(key, _norm(match.group()), "date")))


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


def _version(number: str, technology: Entity | None = None) -> Entity:
    plain = number.lower().removeprefix("v")
    if technology is None:
        return Entity(f"version:{plain}", number, "version")
    return Entity(f"version:{technology.key} {plain}", f"{technology.name} {plain}", "version")


# Gazetteer matches, with the context rules of the ?, ! and @ flags (see the header of gazetteer.tsv), and the
# version after a technology ("PostgreSQL 16", "Python v3.12", "Xcode 16.2") unless a unit follows ("Redis 3 times").
_UNITS = (
    "%|x|times|seconds|secs|minutes|mins|hours|hrs|days|weeks|months|years|ms|s|m|h|d|gb|mb|kb|tb|replicas|nodes|"
    "instances|pods|workers|servers|connections|requests|items|rows|users|people|cores|threads|processes|retries|"
    "attempts|copies|tables|columns|files|lines|steps|points|stars"
)
_TECH_VERSION = re.compile(
    rf"(?:[ \t]+(?:version[ \t]+)?|-)(v?\d+(?:\.\d+){{0,3}})(?![\w%]|\.\d|:\d|/\d|[ \t]*(?i:{_UNITS})\b)"
)
_TECH_NOUNS = _words(
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
_LANGUAGE_CUES = _words(
    """in using with learn learning write writes writing wrote written coded program programming port ported rewrite
    rewrote rewritten use uses used prefer prefers know knows like likes"""
)


def _gazetteer_matches(text: str, gaz: _Gazetteer, found: list[_Candidate]) -> None:
    lowered = text.lower()
    matches = gaz.pattern.finditer(lowered) if len(lowered) == len(text) else gaz.pattern_any_case.finditer(text)
    for match in matches:
        start, end = match.span()
        surface = text[start:end]
        alias = gaz.lookup(surface if surface.isalnum() else _norm(surface))
        if alias is None or (alias.flag and not _in_context(text, start, end, alias.flag)):
            continue
        found.append(_candidate(_GAZ_RANK, start, end, alias.entity))
        if alias.entity.kind == "technology" and (version := _version_after(text, end)):
            found.append(_candidate(_VERSION_RANK, *version.span(1), _version(version[1], alias.entity)))


def _version_after(text: str, end: int) -> re.Match[str] | None:
    """The version right after a technology, if any; the cheap test first, as most technologies have none."""
    return _TECH_VERSION.match(text, end) if text[end + 1 : end + 2] in _VERSION_FIRST else None


def _in_context(text: str, start: int, end: int, flag: str) -> bool:
    if flag == "?":
        return not _sentence_start(text, start) or _technical_after(text, end)
    if flag == "!":
        return _technical_after(text, end) or _last_word(text, start) in _LANGUAGE_CUES
    if flag == "@":
        return not (_person_cue(text, start) == "strong" or _PERSON_AFTER.match(text, end))
    return True


def _technical_after(text: str, end: int) -> bool:
    if _version_after(text, end):
        return True
    word = _NEXT_WORD.match(text, end)
    return word is not None and word.group(1).lower() in _TECH_NOUNS


def _last_word(text: str, position: int) -> str:
    """The lowercased word just before `position`, across whitespace only ("" after other punctuation)."""
    before = text[max(0, position - 24) : position]
    if before[-1:].isspace():
        words = before.split()
        return words[-1].lower() if words else ""
    return ""


_FINDERS: tuple[Callable[[str, _Gazetteer, list[_Candidate]], None], ...] = (
    _urls,
    _paths,
    _dotted,
    _numbers,
    _calls,
    _gazetteer_matches,
    _identifiers,
)


# --- sentences -----------------------------------------------------------------------------------------------------

_LEADING = " \t\"'“‘([{*•>#-–—"  # what may stand between a sentence end and its first word
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|incl|approx|al|Dr|Mr|Mrs|Ms|Mx|Prof|St|Jr|Sr|No|Fig)\.$")


def _sentence_start(text: str, position: int) -> bool:
    """Whether `position` begins a sentence, a line or a list item: capitals there say nothing about names."""
    i = position - 1
    while i >= 0 and text[i] in _LEADING:
        i -= 1
    if i < 0 or text[i] in "\n\r!?:…":
        return True
    return text[i] == "." and not _ABBREVIATION.search(text, max(0, i - 5), i + 1)


# --- capitalised words: people, organisations, other names ---------------------------------------------------------


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

_CUE_VERBS = _words(
    """told tell tells asked ask asks met meet meeting thanked thank thanks pinged ping cc emailed email called texted
    messaged hired interviewed married dating"""
)
_RELATIONS = _words(
    """friend colleague coworker co-worker teammate manager boss lead mentor partner wife husband girlfriend boyfriend
    fiance fiancee fiancé fiancée sister brother sibling mother father mom mum dad son daughter cousin aunt uncle
    niece nephew grandma grandmother grandpa grandfather neighbor neighbour roommate flatmate doctor dentist
    therapist coach teacher professor landlord intern recruiter ceo cto"""
)
_TITLES = frozenset({"Dr", "Mr", "Mrs", "Ms", "Mx", "Prof", "Sir", "Dame", "Miss"})  # as written: "110 ms. See"
_WEAK_CUES = frozenset({"with", "from", "to", "by"})  # also before places and products: only for 2+ words
_PERSON_AFTER = re.compile(
    r"[ \t]+(?:said|says|told|tells|asked|asks|wants|wanted|suggested|suggests|thinks|thought|mentioned|mentions|"
    r"prefers|preferred|likes|liked|loves|loved|hates|recommended|recommends|replied|replies|wrote|agreed|agrees|"
    r"explained|noted|reported|believes|believed|feels|felt|decided|promised|confirmed|emailed|texted|messaged|"
    r"pinged|joined|paired|reviewed|approved|owns|will own|is on call|was on call|and I)\b"
)
_ORG_TAILS = _words(
    """inc corp corporation ltd llc gmbh ag plc co company labs technologies systems software foundation university
    institute bank group partners capital ventures holdings studios games media networks solutions consulting
    hospital college school agency ministry council association society"""
)
_ORG_HEADS = _words("university bank institute ministry department college school museum")
_STOP = _words(
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


def _capitalised(text: str, claimed: bytearray, gaz: _Gazetteer) -> list[_Span]:
    """Runs of capitalised words outside the claimed spans, split at stop words, months and claimed words, each
    then a person, an organisation or a generic name. A lone capitalised word opening a sentence is no name."""
    found: list[_Span] = []
    for run in _RUN.finditer(text):
        if claimed.find(0, *run.span()) == -1:
            continue  # all of it is a technology, a place, an identifier...
        if " " in run.group() or "\t" in run.group():
            _split_run(text, run, claimed, gaz, found)
            continue
        start, end = run.start(), _drop_possessive(text, *run.span())  # one word: the common case, made short
        word = text[start:end]
        if end - start < 2 or word.lower() in _STOP or claimed.find(1, start, end) != -1:
            continue
        at_start = _sentence_start(text, start)
        if at_start and word not in gaz.first_names and not _PERSON_AFTER.match(text, end):
            continue  # "Fixed the bug.", "Remember to..." (what _add_group would conclude, only sooner)
        _add_group(text, [(start, end)], at_start, gaz, found)
    return found


def _split_run(text: str, run: re.Match[str], claimed: bytearray, gaz: _Gazetteer, found: list[_Span]) -> None:
    words = [(w.start(), _drop_possessive(text, *w.span())) for w in _CAP_WORD.finditer(text, *run.span())]
    if all(text[start:end].isupper() for start, end in words):
        return  # SHOUTED TEXT, not a run of acronyms
    leading = True  # only stop words so far: a sentence start still counts ("Then Sarah said")
    group: list[tuple[int, int]] = []
    for start, end in words:
        word = text[start:end]
        taken = claimed.find(1, start, end) != -1
        stop = end - start < 2 or word.lower() in _STOP
        if not (taken or stop or word.isupper()):
            group.append((start, end))
            continue
        if group:
            _add_group(text, group, leading and _sentence_start(text, run.start()), gaz, found)
            group, leading = [], False
        if not (taken or stop):  # an acronym stands alone: "ECONNRESET", not "Error ECONNRESET"
            _add_group(text, [(start, end)], leading and _sentence_start(text, run.start()), gaz, found)
        leading = leading and stop
    if group:
        _add_group(text, group, leading and _sentence_start(text, run.start()), gaz, found)


def _drop_possessive(text: str, start: int, end: int) -> int:
    return end - 2 if end - start > 3 and text[end - 2] in "'’" and text[end - 1] == "s" else end


def _add_group(text: str, group: list[tuple[int, int]], at_start: bool, gaz: _Gazetteer, found: list[_Span]) -> None:
    cued = len(group) > 1 and text[slice(*group[0])].lower() in _CUE_VERBS  # "Ask Imogen", "Thank Tom"
    if cued or (at_start and len(group) > 1 and text[slice(*group[1])] in gaz.first_names):
        group, at_start = group[1:], False  # "Meeting Sarah tomorrow": the opening word is not part of the name
    start, end = group[0][0], group[-1][1]
    name = _norm(text[start:end])
    words = name.split()
    if len(words) > 1 and (words[-1].lower() in _ORG_TAILS or words[0].lower() in _ORG_HEADS):
        found.append((start, end, Entity(f"org:{name.lower()}", name, "organization")))
    elif len(group) <= 3 and not name.isupper() and (cued or _is_person(text, start, end, group, at_start, gaz)):
        found.append((start, end, _person(name)))
    elif len(words) <= 4 and not (at_start and len(group) == 1):
        found.append((start, end, Entity(f"name:{name.lower()}", name, "name")))


def _is_person(text: str, start: int, end: int, group: list[tuple[int, int]], at_start: bool, gaz: _Gazetteer) -> bool:
    if text[slice(*group[0])] in gaz.first_names or _PERSON_AFTER.match(text, end):
        return True
    if at_start:
        return False  # what comes before ends another sentence: no cue
    cue = _person_cue(text, start)
    return cue == "strong" or (cue == "weak" and len(group) > 1)


def _person_cue(text: str, start: int) -> str:
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


def _person(name: str) -> Entity:
    return Entity(f"person:{name.lower()}", name, "person")


# --- `backticked` text -----------------------------------------------------------------------------------------------

_BACKTICK = re.compile(r"`(?<!``)([^`\n]{1,100})`(?!`)")


def _backticked(text: str, spans: list[_Span], gaz: _Gazetteer) -> list[_Span]:
    """Backticked text is an identifier as a whole ("`make itest`") but claims nothing: the words inside still
    count. Skipped when all of it is already one entity (a path, a call, an alias such as `pytest`)."""
    if "`" not in text:
        return []
    whole = {(start, end) for start, end, _ in spans}
    found: list[_Span] = []
    for match in _BACKTICK.finditer(text):
        code = match.group(1).strip()
        if not code:
            continue
        start = match.start(1) + match.group(1).index(code)
        if (start, start + len(code)) in whole or gaz.lookup(_norm(code)) is not None:
            continue
        found.append((match.start(), match.end(), _identifier(_norm(code).removesuffix("()"), _norm(code))))
    return found
