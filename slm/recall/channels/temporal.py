"""The temporal channel: the candidates that fit the question's time words, in time order when it asks for one."""

from __future__ import annotations

from datetime import UTC, datetime

from slm.time_expressions import TimeIntent
from slm.validation import format_time

ORDER_POOL = 20  # "latest"/"first" reorders only the strongest candidates: recency must not outvote relevance


def ranked(intent: TimeIntent, candidates: list[int], times: dict[int, str]) -> list[tuple[int, float]]:
    """The candidates (in relevance order) that fit the question's time, scored by their day number.

    A window keeps the candidates inside it; an order word ("latest", "first") sorts the strongest candidates
    by time. Without either, the channel is empty and fusion is the plain hybrid.
    """
    if intent.has_window:
        low, high = window_bounds(intent)
        picked = [i for i in candidates if low <= times[i] <= high]
    elif intent.order:
        picked = candidates[:ORDER_POOL]
    else:
        return []
    if intent.order:
        picked = sorted(picked, key=lambda i: times[i], reverse=intent.order == "latest")
    return [(i, _day_number(times[i])) for i in picked]


def window_bounds(intent: TimeIntent) -> tuple[str, str]:
    """The question's time window as ISO UTC bounds (the parser's naive times are UTC)."""
    low, high = (format_time(moment.replace(tzinfo=UTC)) for moment in (intent.start, intent.end))
    return low, high


def _day_number(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() / 86400
