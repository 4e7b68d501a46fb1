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
_ELLIPSIS = " […]"


def estimate_tokens(value: object) -> int:
    return -(-len(json.dumps(value, ensure_ascii=False)) // CHARS_PER_TOKEN)


def fit(items: list[dict], max_tokens: int) -> tuple[list[dict], int]:
    """The leading items whose JSON fits in `max_tokens`, and how many were left out.

    If not even the first item fits, its `text` is shortened (and `truncated` set) so the best result still
    comes back rather than nothing.
    """
    kept: list[dict] = []
    used = 0
    for item in items:
        cost = estimate_tokens(item) + 1
        if used + cost > max_tokens:
            if not kept:
                kept.append(_shortened(item, max_tokens))
            break
        kept.append(item)
        used += cost
    return kept, len(items) - len(kept)


def _shortened(item: dict, max_tokens: int) -> dict:
    overhead = estimate_tokens({**item, "text": "", "truncated": True})
    room = max(0, (max_tokens - overhead) * CHARS_PER_TOKEN - len(_ELLIPSIS))
    return {**item, "text": item["text"][:room] + _ELLIPSIS, "truncated": True}


def more_note(left_out: int, max_tokens: int) -> str | None:
    if not left_out:
        return None
    return (
        f"{left_out} more result{'s' if left_out != 1 else ''} did not fit in max_tokens={max_tokens}; "
        "ask again with a larger max_tokens, a smaller k or limit, or narrower filters"
    )
