"""Changing a memory's tags in place: tags label a memory, they do not say anything new, so unlike its text they
change without a new version. Who may change them is who may change the memory."""

from __future__ import annotations

from slm import validation
from slm.core.callers import Caller
from slm.errors import InvalidInput


def retag(caller: Caller, memory_id: int, add: object, remove: object, agent: str | None) -> tuple[str, ...]:
    """Add and remove tags of a current memory, with a `memory.tagged` event; returns its tags after."""
    adding, removing = validation.clean_tags(add), validation.clean_tags(remove)
    if not adding and not removing:
        raise InvalidInput("no tag to add or remove", "name at least one tag, e.g. add=['postgres']")
    by = caller.name(agent)
    store = caller.store
    with store.conn.write_transaction():
        row = caller.get(memory_id)
        caller.may_change([row], caller.principal_named(by), by)
        if row.superseded_by is not None:
            raise InvalidInput(f"memory {row.id} was updated", "tag its current version")
        tags = validation.clean_tags([t for t in row.tags if t not in removing] + list(adding))
        if tags != row.tags:
            store.repo.set_tags(row.id, tags)
            added, removed = [t for t in tags if t not in row.tags], [t for t in row.tags if t not in tags]
            store.events.append([caller.event("memory.tagged", by, row.id, {"added": added, "removed": removed})])
    return tags
