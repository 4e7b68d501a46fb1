"""Tiny writers for the two non-JSON formats clients read (TOML for Codex, YAML for Goose and Continue).

Only what the snippets need: strings, booleans, integers, lists of strings and nested tables/mappings. Every
string is written double-quoted with everything outside printable ASCII escaped (`\\uXXXX`, `\\UXXXXXXXX`), a form
TOML basic strings and YAML double-quoted scalars read the same way, so a path with quotes, backslashes, control
characters, line separators or emoji stays one exact string and the output is plain ASCII.
"""

from __future__ import annotations

import re

from slm.errors import InvalidInput

_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}  # YAML 1.1 reads these bare as non-strings


def quote(value: str) -> str:
    """`value` as a double-quoted TOML basic string, which is also a YAML double-quoted scalar."""
    out = []
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif 0xD800 <= code <= 0xDFFF:  # an undecodable byte in a path (surrogateescape): no format can carry it
            raise InvalidInput(f"{value!r} is not valid Unicode", "move slm or the store to a path that is")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    return '"' + "".join(out) + '"'


def key(name: str) -> str:
    """A mapping key: bare when both formats read it as that string, else quoted."""
    return name if _BARE_KEY.fullmatch(name) and name.lower() not in _YAML_WORDS else quote(name)


def scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "[" + ", ".join(map(quote, value)) + "]"
    if isinstance(value, dict) and all(isinstance(item, str) for item in value.values()):
        return "{ " + ", ".join(f"{key(k)} = {quote(v)}" for k, v in value.items()) + " }"  # TOML inline table
    raise TypeError(f"no TOML/YAML form for {value!r}")


def toml_table(name: list[str], table: dict) -> str:
    """One TOML table `[a.b]` of scalar values (dicts of strings become inline tables)."""
    lines = ["[" + ".".join(map(key, name)) + "]"]
    lines += [f"{key(k)} = {scalar(v)}" for k, v in table.items()]
    return "\n".join(lines)


def yaml_block(mapping: dict, indent: int = 0) -> list[str]:
    """A YAML block mapping: nested dicts as blocks, lists of dicts as block sequences, the rest flow scalars."""
    pad = " " * indent
    lines = []
    for name, value in mapping.items():
        if isinstance(value, dict) and value:
            lines += [f"{pad}{key(name)}:", *yaml_block(value, indent + 2)]
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            lines.append(f"{pad}{key(name)}:")
            for item in value:
                first, *rest = yaml_block(item, indent + 4)
                lines += [f"{pad}  - {first.lstrip()}", *rest]
        elif isinstance(value, dict):
            lines.append(f"{pad}{key(name)}: {{}}")
        else:
            lines.append(f"{pad}{key(name)}: {scalar(value)}")
    return lines
