"""Finders of what developers write that prose does not: URLs, paths, file names, dotted module names, code
identifiers, ticket keys, calls and `backticked` code.

Each starts from a character rare in prose ("://", "/", ".", "_", an inner capital, "-" before a digit, "(",
"`") and widens to the token around it, instead of trying a pattern at every position of the text.
"""

from __future__ import annotations

import re

from slm.graph.entity_keys import Entity, identifier_entity, norm, path_entity
from slm.graph.gazetteer import Gazetteer
from slm.graph.prose import word_set
from slm.graph.spans import CALL_RANK, FILE_RANK, ID_RANK, PATH_RANK, URL_RANK, Candidate, Span, candidate

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


def urls(text: str, gaz: Gazetteer, found: list[Candidate]) -> None:
    if "://" not in text:
        return
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        parts = _URL_PARTS.match(url)
        if parts and parts[2]:
            scheme, host, rest = parts.groups()
            key = f"url:{scheme.lower()}://{host.lower()}{'' if rest == '/' else rest}"
            found.append(candidate(URL_RANK, match.start(), match.start() + len(url), Entity(key, url, "url")))


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
_DIRS = word_set(
    "src lib libs app apps test tests spec docs doc bin cmd pkg internal scripts config configs etc usr var opt home "
    "tmp packages public static assets build dist vendor node_modules migrations benchmarks examples tools .github "
    ".vscode"
)


def paths(text: str, gaz: Gazetteer, found: list[Candidate]) -> None:
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
            found.append(candidate(PATH_RANK, start, start + len(path), path_entity(path)))


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


# Dotted tokens, found from a dot inside a word: file names with a known extension ("README.md", unless the name is
# an alias: "Node.js", "llama.cpp") and module paths ("os.path.join"; not "e.g", "a.m" or a host "example.com").
_INNER_DOT = re.compile(r"\.(?<=[\w\-]\.)(?=\w)")
_EXTENSIONS = word_set(
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


def dotted(text: str, gaz: Gazetteer, found: list[Candidate]) -> None:
    done, rev = 0, text[::-1]
    for dot in _INNER_DOT.finditer(text):
        if dot.start() < done:
            continue
        start, done = _widen(text, rev, dot.start(), dot.end(), _DOTTED_CHARS)
        token = text[start:done].rstrip(".-")
        end = start + len(token)
        if _FILE.fullmatch(token) and not token.startswith(".") and gaz.lookup(token) is None:
            found.append(candidate(FILE_RANK, start, end, path_entity(token)))
        elif _DOTTED.fullmatch(token) and _code_boundaries(text, start, end):
            parts = token.split(".")
            if min(map(len, parts)) >= 2 and parts[-1].lower() not in _DOMAIN_ENDS:
                found.append(candidate(ID_RANK, start, end, identifier_entity(token)))
    for pattern in _SPECIAL_FILES:
        for match in pattern.finditer(text):
            if _code_boundaries(text, match.start(), match.end(), before="_.-/"):
                found.append(candidate(FILE_RANK, match.start(), match.end(), path_entity(match.group())))


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


def identifiers(text: str, gaz: Gazetteer, found: list[Candidate]) -> None:
    done, rev = 0, text[::-1]
    for underscore in _UNDERSCORE.finditer(text):
        if underscore.start() < done:
            continue
        start, done = _widen(text, rev, underscore.start(), underscore.end(), _WORD_CHARS)
        token = text[start:done]
        if any(char.isalpha() for char in token) and _code_boundaries(text, start, done):
            found.append(candidate(ID_RANK, start, done, identifier_entity(token)))
    done = 0
    for capital in _INNER_CAPITAL.finditer(text):
        if capital.start() < done:
            continue
        start, done = _widen(text, rev, capital.start(), capital.end(), _WORD_CHARS)
        token = text[start:done]
        if gaz.lookup(token) is not None or _NOT_CODE.fullmatch(token):
            continue  # PostgreSQL, GitHub: the gazetteer's, and cheaper to skip here than to lose in spans.claim
        if _MIXED.fullmatch(token) and _code_boundaries(text, start, done):
            found.append(candidate(ID_RANK, start, done, identifier_entity(token)))
    done = 0
    for hyphen in _TICKET_HYPHEN.finditer(text):
        if hyphen.start() < done:
            continue
        start, done = _widen(text, rev, hyphen.start(), hyphen.end(), _TICKET_CHARS)
        if _TICKET.fullmatch(text, start, done) and _code_boundaries(text, start, done):
            found.append(candidate(ID_RANK, start, done, identifier_entity(text[start:done])))


def calls(text: str, gaz: Gazetteer, found: list[Candidate]) -> None:
    rev = text[::-1]
    for paren in _OPEN_PAREN.finditer(text):
        start = _token_start(rev, paren.start(), _NAME_CHARS)
        name = text[start : paren.start()]
        if not _CALL_NAME.fullmatch(name) or text[start - 1 : start] == "$":
            continue
        empty = text[paren.end() : paren.end() + 1] == ")"
        if empty or "_" in name or "." in name or _MIXED.fullmatch(name):
            end = paren.end() + (1 if empty else 0)
            found.append(candidate(CALL_RANK, start, end, identifier_entity(name, f"{name}()")))


_BACKTICK = re.compile(r"`(?<!``)([^`\n]{1,100})`(?!`)")


def backticked(text: str, spans: list[Span], gaz: Gazetteer) -> list[Span]:
    """Backticked text is an identifier as a whole ("`make itest`") but claims nothing: the words inside still
    count. Skipped when all of it is already one entity (a path, a call, an alias such as `pytest`)."""
    if "`" not in text:
        return []
    whole = {(start, end) for start, end, _ in spans}
    found: list[Span] = []
    for match in _BACKTICK.finditer(text):
        code = match.group(1).strip()
        if not code:
            continue
        start = match.start(1) + match.group(1).index(code)
        if (start, start + len(code)) in whole or gaz.lookup(norm(code)) is not None:
            continue
        found.append((match.start(), match.end(), identifier_entity(norm(code).removesuffix("()"), norm(code))))
    return found
