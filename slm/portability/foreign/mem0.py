"""mem0: what mem0's get_all returns, or the platform's export.

A list of records, or {"results": [...]}, each {"id", "memory", "hash", "metadata", "categories", "created_at",
"user_id", "agent_id", "run_id", ...}. One item per record; mem0's `run_id` (its session or conversation) is the
item's session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from slm.portability.foreign.common import META_BUDGET, Problem, Result, finish, json_size, json_type, tags

_MEM0_META = ("id", "hash", "user_id", "run_id", "app_id", "actor_id", "role", "updated_at", "expiration_date")


def _mem0_records(data: object) -> list | None:
    """The records of get_all's answer: a bare list (mem0 v1.0), or the "results" of {"results": [...]}."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    return None


def looks_like_mem0(path: Path) -> bool:
    try:
        records = _mem0_records(json.loads(path.read_bytes()))
    except (OSError, ValueError, RecursionError):
        return False
    return bool(records) and isinstance(records[0], dict) and "memory" in records[0]


def read_mem0(path: Path, project: str | None) -> Iterator[Result]:
    """A mem0 export is one JSON document, so it is parsed whole; the records are then yielded one by one."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as err:
        yield Problem(path.name, f"cannot read: {err.strerror}")
        return
    except UnicodeDecodeError as err:
        yield Problem(path.name, f"not valid UTF-8 (byte {err.start + 1}); re-save it as UTF-8")
        return
    except (ValueError, RecursionError) as err:
        yield Problem(path.name, f"invalid JSON: {err}")
        return
    records = _mem0_records(data)
    if records is None:
        yield Problem(path.name, 'expected a list of memories or {"results": [...]}, as mem0\'s get_all returns')
        return
    for number, record in enumerate(records, 1):
        yield _mem0_item(record, f"{path.name} record {number}", project)


def _mem0_item(record: object, where: str, project: str | None) -> Result:
    if not isinstance(record, dict):
        return Problem(where, f"expected a JSON object, got {json_type(record)}")
    if not isinstance(record.get("memory"), str):
        return Problem(where, 'no "memory" text')
    categories = record.get("categories") or []
    if not isinstance(categories, list):
        return Problem(where, f'"categories" must be a list, not {json_type(categories)}')
    meta: dict = {"source": "mem0"} | {key: record[key] for key in _MEM0_META if record.get(key) is not None}
    metadata = record.get("metadata")
    if metadata is not None:
        if json_size(meta) + json_size(metadata) > META_BUDGET:
            meta["metadata_omitted"] = f"{json_size(metadata):,} bytes, over slm's meta limit"
        else:
            meta["metadata"] = metadata
    item = {
        "text": record["memory"],
        "time": record.get("created_at"),
        "agent": record.get("agent_id") or "mem0",
        "project": project,
        "tags": tags(categories, meta),
        "meta": meta,
        "kind": "fact",
        "session": record.get("run_id"),
    }
    return finish(where, "", item)
