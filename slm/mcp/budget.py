"""Token budgets for read tools: return the best results that fit, and say how many did not.

Assistants pay for every token a tool returns, and a store only grows. Tokens are estimated as one per four
characters of the JSON sent (a common rule of thumb for English with BPE tokenisers; it over-counts code a little).
"""

from __future__ import annotations

import json

CHARS_PER_TOKEN = 4
DEFAULT_MAX_TOKENS = 2000
MIN_MAX_TOKENS = 100
MAX_MAX_TOKENS = 50_000
ENVELOPE_TOKENS = 60  # the reply's own keys and its note, kept out of the results' share
_ELLIPSIS = " […]"


def estimate_tokens(value: object) -> int:
    return -(-len(json.dumps(value, ensure_ascii=False)) // CHARS_PER_TOKEN)


def fit(items: list[dict], max_tokens: int) -> tuple[list[dict], int]:
    """The leading items whose JSON fits in `max_tokens` (less the envelope), and how many were left out.

    If not even the first item fits, it is shortened (text, then meta) and marked `truncated`, so the best
    result still comes back rather than nothing.
    """
    room = max_tokens - ENVELOPE_TOKENS
    kept: list[dict] = []
    used = 0
    for item in items:
        cost = estimate_tokens(item) + 1  # the separator
        if used + cost > room:
            if not kept:
                kept.append(_shortened(item, room))
            break
        kept.append(item)
        used += cost
    return kept, len(items) - len(kept)


def _shortened(item: dict, room: int) -> dict:
    short = {**item, "text": _ELLIPSIS, "truncated": True}
    if "meta" in short and estimate_tokens(short) > room:
        short["meta"] = {}
    text = item["text"]
    low, high = 0, len(text)  # the longest prefix whose escaped JSON fits
    while low < high:
        middle = (low + high + 1) // 2
        if estimate_tokens({**short, "text": text[:middle] + _ELLIPSIS}) <= room:
            low = middle
        else:
            high = middle - 1
    return {**short, "text": text[:low] + _ELLIPSIS}


def fit_counts(values: dict, max_tokens: int) -> dict:
    """Shorten the largest `{name: count}` maps (keeping the biggest counts) until `values` fits in the budget.

    A store with thousands of projects must not turn `status` into a flood; `counts_cut` names each map that
    was shortened and how many entries it had.
    """
    values = dict(values)
    cut: dict[str, int] = {}
    while estimate_tokens(values) > max_tokens - ENVELOPE_TOKENS:
        maps = [k for k, v in values.items() if isinstance(v, dict) and len(v) > 1 and k != "agent"]
        if not maps:
            break
        key = max(maps, key=lambda k: len(values[k]))
        cut.setdefault(key, len(values[key]))
        biggest = sorted(values[key].items(), key=lambda kv: -kv[1])
        values[key] = dict(biggest[: len(biggest) // 2])
    if cut:
        values["counts_cut"] = cut
    return values


def more_note(left_out: int, max_tokens: int) -> str | None:
    if left_out <= 0:
        return None
    return (
        f"{left_out} more result{'s' if left_out != 1 else ''} did not fit in max_tokens={max_tokens}; "
        "ask again with a larger max_tokens, a smaller k or limit, or narrower filters"
    )
