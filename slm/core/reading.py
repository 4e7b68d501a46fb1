"""Reading memories without a query: listing and counting with filters, and the store's figures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from slm import validation
from slm.core.store import Store
from slm.embedding import choice as model_choice
from slm.errors import InvalidInput
from slm.storage import migrations
from slm.storage.db import database_size
from slm.storage.memories import MemoryFilter, MemoryRow


class Filters(TypedDict, total=False):
    """The filters `list`, `count` and `recall` share."""

    project: str | None
    agent: str | None
    tags: Iterable[str] | None
    since: object
    until: object


def filters_of(filters: Filters, session: str | None) -> MemoryFilter:
    """`list` and `count`'s keyword filters; any other keyword is refused, as Python refuses an unknown one."""
    unknown = set(filters) - Filters.__optional_keys__
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    return filter_of(**filters, session=session)


def filter_of(
    project: str | None = None,
    agent: str | None = None,
    tags: Iterable[str] | None = None,
    since: object = None,
    until: object = None,
    now: object = None,
    session: str | None = None,
) -> MemoryFilter:
    """The validated filters of `list`, `count` and `recall`; an asker's `now` bounds `until`."""
    until = validation.parse_time(until, "until")
    now = validation.parse_time(now, "now")
    if now is not None and (until is None or now < until):
        until = now
    return MemoryFilter(
        project=None if project is None else validation.clean_name(project, "project", ""),
        agent=None if agent is None else validation.clean_name(agent, "agent", ""),
        tags=validation.clean_tags(tags),
        since=validation.parse_time(since, "since"),
        until=until,
        session=None if session is None else validation.clean_session(session, {}),
    )


def listed(store: Store, flt: MemoryFilter, limit: int, offset: int) -> list[MemoryRow]:
    limit = validation.clean_limit(limit, "limit", 10_000)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"offset must be a whole number ≥ 0, got {offset!r}")
    return store.repo.list(flt, limit, offset)


def stats(store: Store, visible: MemoryFilter) -> dict:
    """The store's figures; the memory counts only over what `visible` lets the caller see (on a team's store an
    agent does not learn another member's private projects even by name)."""
    repo, conn = store.repo, store.conn
    first, last = repo.time_range(visible)
    return {
        "path": store.location.shown,
        "memories": repo.count(visible),
        "chunks": repo.chunk_count(),
        "projects": repo.counts_by("project", visible),
        "agents": repo.counts_by("agent", visible),
        "kinds": repo.counts_by("kind", visible),
        "first": first,
        "last": last,
        "schema_version": migrations.schema_version(conn),
        "model": model_choice.recorded_model(conn),
        "dim": model_choice.recorded_dim(conn),
        "size_bytes": database_size(store.conn, store.location),
        "events": store.events.count(),
        **_behavior_stats(store),
    }


def _behavior_stats(store: Store) -> dict:
    behavior = store.existing_behavior()
    feedback = behavior.feedback_counts() if behavior else {"helpful": 0, "unhelpful": 0}
    return {
        "behavior_path": f"{store.location.shown} (schema behavior)"
        if store.location.on_server
        else str(store.location.behavior_db),
        "recalls_logged": behavior.recall_count() if behavior else 0,
        "feedback_helpful": feedback["helpful"],
        "feedback_unhelpful": feedback["unhelpful"],
    }
