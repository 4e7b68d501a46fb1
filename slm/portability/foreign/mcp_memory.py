"""mcp-memory: the knowledge graph of the reference MCP memory server (@modelcontextprotocol/server-memory).

It keeps its graph in memory.jsonl (memory.json in older versions), one JSON object a line: entities
{"type": "entity", "name", "entityType", "observations": [str]} then relations
{"type": "relation", "from", "to", "relationType"}. One item per observation, one per relation.
JSONL is streamed a line at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from slm.portability.foreign.common import Problem, Result, finish, json_type, tags


def first_json_line(path: Path) -> object:
    """The first non-blank line of a file parsed as JSON, or None when it is unreadable or not JSON."""
    try:
        with path.open("rb") as lines:
            for raw in lines:
                if raw.strip():
                    return json.loads(raw.decode("utf-8").lstrip("\ufeff"))
    except (OSError, ValueError, RecursionError):
        return None
    return None


def read_mcp(path: Path, project: str | None) -> Iterator[Result]:
    try:
        lines = path.open("rb")
    except OSError as err:
        yield Problem(path.name, f"cannot open: {err.strerror}")
        return
    with lines:
        for number, raw in enumerate(lines, 1):
            yield from _mcp_line(raw, f"{path.name} line {number}", project)


def _mcp_line(raw: bytes, where: str, project: str | None) -> Iterator[Result]:
    try:
        line = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as err:
        yield Problem(where, f"not valid UTF-8 (byte {err.start + 1} of the line)")
        return
    if not line.strip():
        return
    try:
        record = json.loads(line.strip())
    except json.JSONDecodeError as err:
        yield Problem(where, f"invalid JSON ({err.msg.removesuffix(' at')}, column {err.colno})")
        return
    except RecursionError:
        yield Problem(where, "JSON nested too deeply")
        return
    if not isinstance(record, dict):
        yield Problem(where, f"expected a JSON object, got {json_type(record)}")
    elif record.get("type") == "entity":
        yield from _mcp_entity(record, where, project)
    elif record.get("type") == "relation":
        yield _mcp_relation(record, where, project)
    else:
        yield Problem(where, f'unknown "type" {record.get("type")!r}: expected "entity" or "relation"')


def _missing(record: dict, keys: tuple[str, ...]) -> list[str]:
    return [key for key in keys if not isinstance(record.get(key), str) or not record[key].strip()]


def _mcp_entity(record: dict, where: str, project: str | None) -> Iterator[Result]:
    missing = _missing(record, ("name", "entityType"))
    if missing:
        yield Problem(where, f"entity without {' or '.join(repr(k) for k in missing)} text")
        return
    name, entity_type, observations = record["name"].strip(), record["entityType"].strip(), record.get("observations")
    if not isinstance(observations, list):
        yield Problem(where, f"entity {name!r}: 'observations' must be a list of text, not {json_type(observations)}")
        return
    for number, observation in enumerate(observations, 1):
        label = f"entity {name!r}, observation {number}: "
        if not isinstance(observation, str) or not observation.strip():
            found = "empty text" if isinstance(observation, str) else json_type(observation)
            yield Problem(where, f"{label}expected text, got {found}")
            continue
        meta = {"source": "mcp-memory", "entity": name}
        item = {
            "text": f"{name} ({entity_type}): {observation.strip()}",
            "time": None,
            "agent": "mcp-memory",
            "project": project,
            "tags": tags([entity_type], meta),
            "meta": meta,
            "kind": "fact",
        }
        yield finish(where, label, item)


def _mcp_relation(record: dict, where: str, project: str | None) -> Result:
    missing = _missing(record, ("from", "relationType", "to"))
    if missing:
        return Problem(where, f"relation without {' or '.join(repr(k) for k in missing)} text")
    source, relation, target = (record[key].strip() for key in ("from", "relationType", "to"))
    item = {
        "text": f"{source} {relation.replace('_', ' ')} {target}",  # works_at -> "Alice works at Acme"
        "time": None,
        "agent": "mcp-memory",
        "project": project,
        "tags": [],
        "meta": {"source": "mcp-memory", "relation": {"from": source, "relationType": relation, "to": target}},
        "kind": "relation",
    }
    return finish(where, "relation: ", item)
