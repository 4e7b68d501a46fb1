"""What the readers of every format share: the result types, and the helpers that turn what a tool wrote into an
item slm accepts (tags normalised, meta kept under slm's size limit, every field checked by slm's own rules)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from slm import validation
from slm.errors import InvalidInput

META_BUDGET = validation.MAX_META_BYTES - 512  # room left for the keys that say what was cut


@dataclass(frozen=True)
class Incoming:
    where: str  # human location for messages: "memory.jsonl line 12", "notes/auth.md", "mem0.json record 3"
    item: dict  # an slm item: text, time, agent, project, tags, meta, kind, session, checked by slm's rules


@dataclass(frozen=True)
class Problem:
    where: str
    message: str  # what is wrong and, if useful, what to do


Result = Incoming | Problem


def finish(where: str, label: str, item: dict) -> Result:
    """The item as slm will store it, or a Problem saying which of slm's rules it breaks."""
    try:
        clean = {
            "text": validation.clean_text(item["text"]),
            "time": validation.parse_time(item["time"]),
            "agent": validation.clean_name(item["agent"], "agent", validation.DEFAULT_AGENT),
            "project": item["project"],
            "tags": list(validation.clean_tags(item["tags"])),
            "meta": validation.clean_meta(item["meta"]),
            "kind": validation.clean_kind(item["kind"]),
            # the tool's conversation id, if it has one that is a valid session name (it stays in meta anyway)
            "session": validation.clean_session(None, {"session": item.get("session")}),
        }
    except InvalidInput as err:
        return Problem(where, f"{label}{err}")
    return Incoming(where, clean)


def _tag(value: object) -> str | None:
    """A tag slm accepts and that matches across tools: lowercase, no leading '#', runs of spaces as '-'."""
    if not isinstance(value, str):
        return None
    tag = re.sub(r"\s+", "-", value.strip().lstrip("#").strip().lower())
    tag = re.sub(r"[\x00-\x1f\x7f]", "", tag)
    return tag if 0 < len(tag) <= validation.MAX_TAG_CHARS else None


def tags(values: Iterable[object], meta: dict) -> list[str]:
    """Distinct normalised tags, at most slm's maximum; how many could not be kept is noted in meta."""
    normalised = [_tag(value) for value in values]
    distinct = list(dict.fromkeys(tag for tag in normalised if tag is not None))
    omitted = normalised.count(None) + max(0, len(distinct) - validation.MAX_TAGS)
    if omitted:
        meta["tags_omitted"] = omitted
    return distinct[: validation.MAX_TAGS]


def json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def fit(entries: list[dict], room: int) -> list[dict]:
    """The longest prefix of entries whose JSON list fits in `room` bytes."""
    kept, used = [], 2
    for entry in entries:
        used += json_size(entry) + 2
        if used > room:
            break
        kept.append(entry)
    return kept


def json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")
