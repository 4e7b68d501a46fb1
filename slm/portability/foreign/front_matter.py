"""The small YAML front-matter reader of basic-memory notes: top-level keys whose values are text or lists of text,
as basic-memory writes them. Anything else YAML allows is refused with an `Unreadable` saying where, not guessed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


class Unreadable(ValueError):
    """Front matter this reader will not guess at."""


@dataclass
class _Entry:
    """One top-level front-matter key: its line, the text after the colon and the lines that continue it."""

    key: str
    line: int
    first: str
    rest: list[str] = field(default_factory=list)

    def fail(self, why: str) -> Unreadable:
        return Unreadable(f"front matter {self.key!r} (line {self.line}): {why}")


_FENCE = re.compile(r"---[ \t]*")
_NOT_PLAIN = re.compile(r"[\[\]{},&*!|>%@`]|[-?](?: |$)|.*: |.*:$")  # YAML syntax, not text: refused
_KEY = re.compile(r"([A-Za-z0-9_][\w .-]*?)[ \t]*:(?:[ \t]+(.*))?")


def parse(content: str) -> tuple[dict[str, _Entry], str]:
    """The top-level entries of the front matter and the body after it ({} and everything without one)."""
    lines = content.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if start == len(lines) or not _FENCE.fullmatch(lines[start]):
        return {}, content
    end = next((i for i in range(start + 1, len(lines)) if _FENCE.fullmatch(lines[i])), None)
    if end is None:
        raise Unreadable(f"front matter opened on line {start + 1} is never closed by a '---' line")
    entries: dict[str, _Entry] = {}
    current: _Entry | None = None
    for number, line in enumerate(lines[start + 1 : end], start + 2):
        if current is not None and (line[:1] in (" ", "\t", "-") or not line.strip()):
            current.rest.append(line)
        elif line.strip() and not line.startswith("#"):
            match = _KEY.fullmatch(line)
            if match is None:
                raise Unreadable(f"front matter line {number} is not 'key: value': {line[:80]!r}")
            if match[1] in entries:
                raise Unreadable(f"front matter line {number}: {match[1]!r} is given twice")
            current = entries[match[1]] = _Entry(match[1], number, match[2] or "")
    return entries, "\n".join(lines[end + 1 :])


def value_of(entry: _Entry) -> str | list[str] | None:
    """A scalar, a block or flow list of scalars, or None; anything else YAML allows is refused, not guessed."""
    first = entry.first.strip()
    rest = [line for line in entry.rest if line.strip() and not line.strip().startswith("#")]
    try:
        if not first:
            return _block_list(rest) if rest else None
        if first.startswith("["):
            return _flow_list(" ".join([first, *(line.strip() for line in rest)]))
        if any(line[:1] not in (" ", "\t") for line in rest):
            raise Unreadable("a list item follows a value")
        return _scalar(_fold([first, *entry.rest]))
    except Unreadable as err:
        raise entry.fail(str(err)) from None


def _block_list(lines: list[str]) -> list[str]:
    """`- item` lines, indented or not; a longer line wrapped onto the next (as PyYAML writes it) is joined."""
    if not lines[0].strip().startswith("-"):
        raise Unreadable("a nested mapping or block, where text or a list of text was expected")
    items: list[list[str]] = []
    for line in lines:
        stripped = line.strip()
        if stripped == "-" or stripped.startswith("- "):
            items.append([stripped[1:]])
        else:
            items[-1].append(stripped)
    values = [_scalar(_fold(item)) for item in items]
    return [value for value in values if value is not None]


def _fold(lines: list[str]) -> str:
    """YAML line folding of a multi-line scalar: a line break is a space, an empty line a newline."""
    text, breaks = "", 0
    for line in lines:
        if not line.strip():
            breaks += 1
            continue
        if text:
            text += "\n" * breaks if breaks else " "
        text, breaks = text + line.strip(), 0
    return text


def _flow_list(text: str) -> list[str]:
    """`[a, 'b c', "d"]` -> its items; nested brackets are refused."""
    items, current, quote, escaped = [], "", "", False
    for index, char in enumerate(text[1:], 1):
        if quote:
            current += char
            if escaped:
                escaped = False
            elif quote == '"' and char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote, current = char, current + char
        elif char == ",":
            items, current = [*items, current], ""
        elif char == "]":
            tail = text[index + 1 :].strip()
            if tail and not tail.startswith("#"):
                raise Unreadable(f"unexpected text after the list: {tail[:40]!r}")
            values = [_scalar(item) for item in [*items, current] if item.strip()]
            return [value for value in values if value is not None]
        elif char in "[]{}":
            raise Unreadable("nested lists or mappings are not read")
        else:
            current += char
    raise Unreadable("the list is never closed with ']'")


def _scalar(text: str) -> str | None:
    """One YAML scalar as text: quoted ('...' or "..."), or plain with an optional ' #comment'; null is None."""
    text = text.strip()
    if text[:1] in ("'", '"'):
        value, tail = _quoted(text)
        if tail and not tail.startswith("#"):
            raise Unreadable(f"unexpected text after the quoted value: {tail[:40]!r}")
        return value
    plain = re.sub(r"(?:^|[ \t])#.*", "", text).rstrip()
    if _NOT_PLAIN.match(plain):
        raise Unreadable(f"cannot read {text[:60]!r} (quote it, or use the simple forms basic-memory writes)")
    return None if plain in ("", "~", "null", "Null", "NULL") else plain


def _quoted(text: str) -> tuple[str, str]:
    """A quoted scalar at the start of text -> (its value, what follows it)."""
    quote, index = text[0], 1
    while index < len(text):
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and text[index + 1 : index + 2] == "'":
                index += 2
                continue
            break
        index += 1
    else:
        raise Unreadable(f"the quote in {text[:60]!r} is never closed")
    body, tail = text[: index + 1], text[index + 1 :].strip()
    if quote == "'":
        return body[1:-1].replace("''", "'"), tail
    try:
        return json.loads(body, strict=False), tail
    except json.JSONDecodeError:
        raise Unreadable(f"cannot read the escapes in {body[:60]!r}") from None


def text_of(entries: dict[str, _Entry], key: str) -> str | None:
    if key not in entries:
        return None
    value = value_of(entries[key])
    if isinstance(value, list):
        raise entries[key].fail("expected text, found a list")
    return (value.strip() or None) if value is not None else None
