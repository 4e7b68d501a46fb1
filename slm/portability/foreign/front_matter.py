"""The YAML front matter of basic-memory notes, read with PyYAML rather than by hand.

Only text and lists of text are taken, exactly as written: a date stays the text of the date, `yes` stays "yes".
Invalid YAML and any other shape raise an `Unreadable` saying where, never a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_NULL = "tag:yaml.org,2002:null"
_FENCE = re.compile(r"---[ \t]*")


class Unreadable(ValueError):
    """Front matter this reader will not guess at."""


@dataclass(frozen=True)
class _Entry:
    """One top-level front-matter key, the line it is on and its YAML node."""

    key: str
    line: int
    node: Node

    def fail(self, why: str) -> Unreadable:
        return Unreadable(f"front matter {self.key!r} (line {self.line}): {why}")


def parse(content: str) -> tuple[dict[str, _Entry], str]:
    """The top-level entries of the front matter and the body after it ({} and everything without one)."""
    lines = content.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if start == len(lines) or not _FENCE.fullmatch(lines[start]):
        return {}, content
    end = next((i for i in range(start + 1, len(lines)) if _FENCE.fullmatch(lines[i])), None)
    if end is None:
        raise Unreadable(f"front matter opened on line {start + 1} is never closed by a '---' line")
    first = start + 2  # the file line of the front matter's first line

    def line_of(mark: yaml.Mark) -> int:
        return first + mark.line

    try:
        root = yaml.compose("\n".join(lines[start + 1 : end]), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        line = line_of(err.problem_mark) if err.problem_mark else None
        where = f" on line {line}" if line else ""
        context = ""
        if err.context and err.context_mark:
            since = line_of(err.context_mark)
            context = f" ({err.context}{f' from line {since}' if since != line else ''})"
        raise Unreadable(f"front matter is not valid YAML: {err.problem}{where}{context}") from None
    except yaml.YAMLError as err:
        raise Unreadable(f"front matter is not valid YAML: {err}") from None
    entries: dict[str, _Entry] = {}
    if root is None:
        return entries, "\n".join(lines[end + 1 :])
    if not isinstance(root, MappingNode):
        line = line_of(root.start_mark)
        raise Unreadable(f"front matter line {line} is not 'key: value': {lines[line - 1][:80]!r}")
    for key, node in root.value:
        line = line_of(key.start_mark)
        if not isinstance(key, ScalarNode):
            raise Unreadable(f"front matter line {line}: a key must be text")
        if key.value in entries:
            raise Unreadable(f"front matter line {line}: {key.value!r} is given twice")
        entries[key.value] = _Entry(key.value, line, node)
    return entries, "\n".join(lines[end + 1 :])


def value_of(entry: _Entry) -> str | list[str] | None:
    """A scalar, a list of scalars, or None; nulls in a list are left out. Scalars are the text as written."""
    node = entry.node
    if isinstance(node, ScalarNode):
        return _text(node)
    if isinstance(node, SequenceNode):
        if not all(isinstance(item, ScalarNode) for item in node.value):
            raise entry.fail("nested lists or mappings are not read")
        return [text for text in map(_text, node.value) if text is not None]
    raise entry.fail("a nested mapping or block, where text or a list of text was expected")


def _text(node: ScalarNode) -> str | None:
    """The scalar's text, without YAML's typing (a timestamp, number or boolean stays as written); null is None."""
    return None if node.tag == _NULL else node.value


def text_of(entries: dict[str, _Entry], key: str) -> str | None:
    """The stripped text of a key, None when it is absent, null or blank; a list is refused."""
    if key not in entries:
        return None
    value = value_of(entries[key])
    if isinstance(value, list):
        raise entries[key].fail("expected text, found a list")
    return (value.strip() or None) if value is not None else None
