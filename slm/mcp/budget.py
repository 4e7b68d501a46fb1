"""Token budgets for read tools: return the best results that fit, and say how many did not.

Assistants pay for every token a tool returns, and a store only grows. Tokens are estimated as one per four
characters of the JSON sent (a common rule of thumb for English with BPE tokenisers; it over-counts code a little).
A budget covers the whole reply: its results, its own keys and its notes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

CHARS_PER_TOKEN = 4
DEFAULT_MAX_TOKENS = 2000
MIN_MAX_TOKENS = 100
MAX_MAX_TOKENS = 50_000
SHORT_STRING = 24  # times, zones, most names: never cut, or the result would say nothing true
_ELLIPSIS = " […]"

R = TypeVar("R")


def _chars(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False))


def estimate_tokens(value: object) -> int:
    return -(-_chars(value) // CHARS_PER_TOKEN)


def fit(items: list[dict], max_tokens: int, reply: Callable[[list[dict], int], R]) -> R:
    """`reply(kept, left_out)` with the leading items that fit, so that the whole reply stays within `max_tokens`.

    The items get the room the reply leaves at its largest, with every item left out (the longest count and note).
    If not even the first item fits, it is shortened to the room the reply leaves with it alone, and marked
    `truncated`, so the best result still comes back rather than nothing.
    """
    limit = max_tokens * CHARS_PER_TOKEN
    room = limit - _chars(reply([], len(items)))
    kept: list[dict] = []
    used = 0
    for item in items:
        used += _chars(item) + 2  # the ", " before it
        if used > room:
            break
        kept.append(item)
    if items and not kept and (short := _shortened(items[0], limit - _chars(reply([], len(items) - 1)))):
        kept.append(short)
    return reply(kept, len(items) - len(kept))


def _shortened(item: dict, room: int) -> dict | None:
    """`item` cut until its JSON fits in `room` characters, or None if it cannot be.

    Long strings (texts, labels, meta values) are cut first, to a common length but not below `SHORT_STRING`, then
    lists (tags, claims, sub-clusters) and the item's maps (meta) to a common number of entries. Short strings are
    never cut, and the records in its lists keep all their keys.
    """

    def fits(chars: int, entries: int | None) -> bool:
        return _chars(_capped(item, chars, entries)) <= room

    longest = max((len(s) for s in _strings(item)), default=0)
    if (chars := _largest(SHORT_STRING, max(longest, SHORT_STRING), lambda c: fits(c, None))) is not None:
        return _capped(item, chars, None)
    widest = max((len(c) for c in _containers(item)), default=0)
    entries = _largest(0, widest, lambda n: fits(SHORT_STRING, n))
    return None if entries is None else _capped(item, SHORT_STRING, entries)


def _capped(item: dict, chars: int, entries: int | None) -> dict:
    def field(value: Any) -> Any:
        return dict(list(value.items())[:entries]) if isinstance(value, dict) else value  # a map, e.g. meta

    return {**{key: _cap(field(value), chars, entries) for key, value in item.items()}, "truncated": True}


def _cap(value: Any, chars: int, entries: int | None) -> Any:
    """Strings longer than `chars` cut (with an ellipsis), lists cut to their first `entries`."""
    if isinstance(value, str):
        return value if len(value) <= chars else value[:chars] + _ELLIPSIS
    if isinstance(value, list):
        return [_cap(v, chars, entries) for v in value[:entries]]
    if isinstance(value, dict):
        return {k: _cap(v, chars, entries) for k, v in value.items()}
    return value


def _children(value: Any) -> Iterable[Any]:
    return value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    for inner in _children(value):
        yield from _strings(inner)


def _containers(value: Any) -> Iterator[list | dict]:
    for inner in _children(value):
        if isinstance(inner, list | dict):
            yield inner
            yield from _containers(inner)


def _largest(low: int, high: int, ok: Callable[[int], bool]) -> int | None:
    """The largest n in [low, high] with ok(n), for ok true up to some n and false above; None if not ok(low)."""
    if not ok(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if ok(middle) else (low, middle - 1)
    return low


def fit_counts(values: dict, max_tokens: int, importance: Sequence[str]) -> dict:
    """`values` within `max_tokens`: the largest `{name: count}` maps are halved (keeping the biggest counts) down to
    one entry, then whole fields are left out, least important first.

    `importance` names fields most important first; fields it does not name go before all of them. A store with
    thousands of projects must not turn `status` into a flood: `counts_cut` names each shortened map and how many
    entries it had, `left_out` each field left out.
    """
    values = dict(values)
    cut: dict[str, int] = {}
    left_out: list[str] = []

    def reply() -> dict:
        return {**values, **({"counts_cut": cut} if cut else {}), **({"left_out": left_out} if left_out else {})}

    rank = {name: i for i, name in enumerate(importance)}
    while values and estimate_tokens(reply()) > max_tokens:
        maps = [k for k, v in values.items() if _is_counts(v) and len(v) > 1]
        if maps:
            key = max(maps, key=lambda k: len(values[k]))
            cut.setdefault(key, len(values[key]))
            biggest = sorted(values[key].items(), key=lambda kv: -kv[1])
            values[key] = dict(biggest[: len(biggest) // 2])
        else:
            least = max(reversed(values), key=lambda k: rank.get(k, len(rank)))
            left_out.append(least)
            del values[least]
            cut.pop(least, None)
    return reply()


def _is_counts(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(c, int) and not isinstance(c, bool) for c in value.values())


def leading(values: list, max_tokens: int) -> list:
    """The leading `values` whose JSON list fits in `max_tokens`."""
    room, used = max_tokens * CHARS_PER_TOKEN - 2, 0
    for count, value in enumerate(values):
        used += _chars(value) + 2
        if used > room:
            return values[:count]
    return values


def more_note(left_out: int, max_tokens: int) -> str | None:
    if left_out <= 0:
        return None
    return f"{left_out} more did not fit in max_tokens={max_tokens}: raise it, lower k or limit, or filter"
