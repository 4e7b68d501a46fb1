"""Writing: remember, update, forget and the writes of import and erasure. Each embeds first, then stores rows,
links, claims, trust signals and events in one write transaction (docs/ARCHITECTURE.md, "One remember")."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from slm import validation
from slm.core.callers import UNKNOWN_ID_HINT, Caller
from slm.core.store import Store
from slm.errors import InvalidInput, NotFound
from slm.graph import clusters, links
from slm.lifecycle import steps as lifecycle
from slm.recall import gaussians
from slm.storage import erasure as erasure_sql
from slm.storage.memories import MemoryRepository, MemoryRow, NewMemory
from slm.storage.settings import get_setting
from slm.trust.ledger import CORROBORATE_MIN, DUPLICATE_MIN, NearbyMemory, NewWrite, principal_of

ITEM_KEYS = frozenset({"text", "time", "agent", "project", "tags", "meta", "kind", "session", "private"})
EMBED_BATCH = 64
CLUSTERS_BUILT = "graph.clusters_built_at"
Progress = Callable[[int], None]


class Stored(int):
    """A stored memory's id, which also says whether the text was already there (then nothing was written)."""

    duplicate: bool

    def __new__(cls, memory_id: int, duplicate: bool = False) -> Stored:
        stored = super().__new__(cls, memory_id)
        stored.duplicate = duplicate
        return stored


@dataclass(frozen=True)
class Given:
    """What an import brings for a batch instead of deriving it again: each memory's claims and entities (None:
    derive them), taken from a file whose header names this slm's rules and whose line names its text's sha256
    (so, as written by an export of this slm, or by hand: docs/export-format.md), and the memories whose edges
    among each other and with the batch it sets itself, from its file."""

    claims: list[tuple | None]
    entities: list[list | None]
    edges_of: set[int]

    def edges_set_elsewhere(self, stored: list, total: int) -> Callable[[int], bool]:
        """For links.link: the import's memories and the batch's own; all of them when the store holds no other."""
        batch = {memory_id for memory_id, new in stored if new}  # not yet among the import's: it adds them after
        if len(self.edges_of) + len(batch) == total:
            return links.every_other
        return lambda other: other in batch or other in self.edges_of


class Writer:
    def __init__(self, store: Store, caller: Caller) -> None:
        self.store = store
        self.caller = caller
        self._centroids: tuple[str | None, tuple] = ("", ([], None))

    # -- remember -----------------------------------------------------------------------------------------------
    def remember_many(
        self,
        items: Iterable[dict],
        agent: str | None,
        project: str | None,
        batch_size: int,
        progress: Progress | None,
        imported: bool,
    ) -> list[Stored]:
        """Validate every item, store the new ones in batches (a transaction each), and note the repeats."""
        batch_size = validation.clean_limit(batch_size, "batch_size", 4096)
        items = list(items)
        numbered = len(items) > 1  # name the failing item only when there are several
        prepared = [self._prepare(item, i if numbered else None, agent, project) for i, item in enumerate(items)]
        ids: list[Stored | None] = [None] * len(prepared)
        first_copy: dict[tuple[str, str], int] = {}
        copies: dict[int, int] = {}
        todo: list[tuple[int, NewMemory]] = []
        repeats: list[tuple[int, NewMemory]] = []
        for position, memory in enumerate(prepared):
            key = (memory.project, memory.content_hash)
            if key in first_copy:
                copies[position] = first_copy[key]
                continue
            first_copy[key] = position
            existing = self.store.repo.existing_id(*key)
            self.caller.refuse_hidden_copy(existing)
            if existing is None:
                todo.append((position, memory))
            else:
                ids[position] = Stored(existing, duplicate=True)
                repeats.append((existing, memory))
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            stored = self.insert([m for _, m in batch], imported=imported)
            for (position, _), one in zip(batch, stored, strict=True):
                ids[position] = one
            if progress:
                progress(len(batch))
        for position, original in copies.items():
            ids[position] = Stored(ids[original], duplicate=True)
        self._note_repeats(repeats)
        return ids  # type: ignore[return-value]

    def _note_repeats(self, repeats: list[tuple[int, NewMemory]]) -> None:
        """A restated memory sharpens its Gaussian when the restatement counts (trust decides)."""
        if not repeats:
            return
        with self.store.conn.write_transaction():
            self.caller.authorise()
            for existing, memory in repeats:
                if self.store.trust.note_repeat(existing, _principal(memory), datetime.now(UTC)):
                    gaussians.restate(self.store.gaussians, existing)

    def insert(
        self,
        memories: list[NewMemory],
        supersedes: int | None = None,
        imported: bool = False,
        given: Given | None = None,
    ) -> list[Stored]:
        """Embed, then store rows and their events in one write transaction (the lock is held only to write).

        With `supersedes`, the one memory given replaces that id: it must still be current when the lock is held.
        `imported` memories replay writes made elsewhere: their pace is not an agent's burst; an import may
        bring what it would otherwise derive (`given`).
        """
        store = self.store
        embedded = self.with_vectors(memories)
        vectors = np.vstack([links.memory_vector(m.vectors) for m in embedded])
        plans = links.plan_similar(store.synced_index(), vectors)
        with store.conn.write_transaction():
            self.caller.authorise()
            stored = store.repo.insert_many(embedded)
            self._start_gaussians_and_lifecycle(embedded, stored)
            self._link(embedded, stored, plans, vectors, supersedes, imported, given)
            events = [
                self.caller.event("memory.created", m.agent, memory_id, _created_payload(m))
                for m, (memory_id, new) in zip(embedded, stored, strict=True)
                if new
            ]
            earlier: set = set()
            if supersedes is not None:
                (memory_id, _), memory = stored[0], embedded[0]
                _supersede(store.repo, supersedes, memory_id)
                store.trust.note_update(supersedes, memory_id, _principal(memory), datetime.now(UTC))
                events.append(
                    self.caller.event("memory.updated", memory.agent, supersedes, {"superseded_by": memory_id})
                )
                earlier = store.claims.close_version(supersedes, memory.created_at)
            events += self._place_claims(embedded, stored, plans, earlier, supersedes, given)
            store.events.append(events)
        store.mirror_new()
        return [Stored(memory_id, duplicate=not new) for memory_id, new in stored]

    def _place_claims(
        self, embedded: list[NewMemory], stored: list, plans: list, earlier: set, supersedes, given: Given | None
    ) -> list:
        """Inside the write transaction: the new memories' claims, aligned with those of their close neighbours;
        returns the events of what that supersedes or contradicts."""
        from slm.facts import validity  # here: its rules cost ~50 ms to import, which a one-shot recall never pays

        statements = [
            validity.Statement(
                memory_id, m.content, m.project, _principal(m), m.event_time or m.created_at,
                tuple(i for i, score in plan.stored if score >= validity.ALIGN_MIN)
                + tuple(stored[j][0] for j, score in plan.in_batch if score >= validity.ALIGN_MIN),
                None if given is None else given.claims[position],
            )
            for position, (m, (memory_id, new), plan) in enumerate(zip(embedded, stored, plans, strict=True))
            if new
        ]  # fmt: skip
        changes = self.store.claims.place(statements, datetime.now(UTC), earlier)
        if supersedes is not None:
            self.store.claims.link_versions(supersedes, stored[0][0])
        writers = {memory_id: m.agent for m, (memory_id, _) in zip(embedded, stored, strict=True)}
        return [self.caller.event(n.type, writers.get(n.memory_id, "slm"), n.memory_id, n.payload) for n in changes]

    def _start_gaussians_and_lifecycle(self, embedded: list[NewMemory], stored: list) -> None:
        """Inside the write transaction: each new memory's Gaussian and its start at the lifecycle's centre."""
        born = []
        for memory, (memory_id, new) in zip(embedded, stored, strict=True):
            if new:
                gaussians.store_new(self.store.gaussians, memory_id, memory.vectors)
                born.append((memory_id, lifecycle.importance_of(memory.meta), lifecycle.days(memory.created_at)))
        self.store.lifecycle.add(born)

    def _link(
        self,
        embedded: list[NewMemory],
        stored: list,
        plans: list[links.PlannedLinks],
        vectors,
        replaces: int | None,
        imported: bool = False,
        given: Given | None = None,
    ) -> None:
        """Inside the write transaction: each new memory's entities and edges, the cluster it joins, its trust."""
        store = self.store
        total = store.repo.row_count()
        set_elsewhere = given.edges_set_elsewhere(stored, total) if given is not None else None
        written: list[tuple[NewWrite, list[tuple[int, float]]]] = []
        observed: dict[int, np.ndarray] = {}  # new memory id -> the observation it makes of what it corroborates
        for position, (memory, (memory_id, new)) in enumerate(zip(embedded, stored, strict=True)):
            if not new:
                continue
            plan = plans[position]
            similar = plan.stored + [(stored[j][0], score) for j, score in plan.in_batch]
            found = None if given is None else given.entities[position]
            links.link(store.graph, memory_id, memory, similar, total, found, set_elsewhere)
            joined = clusters.join(store.graph, memory_id, vectors[position], self._cluster_centroids)
            if joined is not None:
                store.graph.assign(memory_id, *joined)
            # the version an update replaces is neither a repeat nor a corroboration of the new one
            close = [(i, s) for i, s in similar if s >= min(CORROBORATE_MIN, DUPLICATE_MIN) and i != replaces]
            written.append((NewWrite(memory_id, _principal(memory), memory.project, memory.content), close))
            observed[memory_id] = memory.vectors.mean(axis=0)
        rows = {row.id: row for row in store.repo.get_many(list({i for _, close in written for i, _ in close}))}
        batch = [
            (w, [NearbyMemory(i, s, rows[i].content, rows[i].created_at) for i, s in close if _current(rows.get(i))])
            for w, close in written
        ]
        for corroborated, by in store.trust.note_writes(batch, datetime.now(UTC), count_bursts=not imported):
            gaussians.reobserve(store.gaussians, corroborated, observed[by])

    def _cluster_centroids(self) -> tuple:
        """Cluster centroids, read again only when a rebuild (by any process) has replaced them."""
        built = get_setting(self.store.conn, CLUSTERS_BUILT)
        if built != self._centroids[0]:
            self._centroids = (built, self.store.graph.centroids())
        return self._centroids[1]

    def _prepare(self, item: object, position: int | None, agent: str | None, project: str | None) -> NewMemory:
        name = "the item" if position is None else f"item {position}"
        if not isinstance(item, dict):
            raise InvalidInput(f"{name} must be a dict with at least 'text', not {type(item).__name__}")
        unknown = set(item) - ITEM_KEYS
        if unknown:
            raise InvalidInput(f"{name} has unknown keys {sorted(unknown)}", f"allowed keys: {sorted(ITEM_KEYS)}")
        if "text" not in item:
            raise InvalidInput(f"{name} has no 'text'")
        try:
            return self.new_memory(item, agent, project)
        except InvalidInput as err:
            if position is None:
                raise
            raise InvalidInput(f"{name}: {err.message}", err.hint) from err

    def new_memory(self, item: dict, agent: str | None, project: str | None) -> NewMemory:
        text = validation.clean_text(item["text"])
        agent_name = self.caller.name(_item_value_or(item, "agent", agent))
        verified = self.caller.verified_agent
        meta = validation.clean_meta(item.get("meta"))
        project = validation.clean_name(_item_value_or(item, "project", project), "project", validation.DEFAULT_PROJECT)
        self.caller.may_write_to(project)
        return NewMemory(
            content=text,
            content_hash=validation.content_hash(text),
            created_at=validation.now_utc(),
            event_time=validation.parse_time(item.get("time")),
            agent=agent_name,
            agent_id=verified.id if verified is not None and verified.name == agent_name else None,
            project=project,
            kind=validation.clean_kind(item.get("kind")),
            meta=meta,
            tags=validation.clean_tags(item.get("tags")),
            protocol=self.caller.protocol,
            session=validation.clean_session(item.get("session"), meta),
            private_to=self.caller.private_key() if validation.clean_flag(item.get("private"), "private") else None,
        )

    def with_vectors(self, memories: list[NewMemory]) -> list[NewMemory]:
        """Embed the memories that do not bring their own vectors (an import of the same model's export does)."""
        todo = [m for m in memories if m.vectors is None]
        embedded = iter(embed_chunked(self.store.embedder, [m.content for m in todo]) if todo else [])
        ready = []
        for memory in memories:
            if memory.vectors is None:
                spans, matrix = next(embedded)
                memory = replace(memory, spans=spans, vectors=matrix)
            ready.append(memory)
        return ready

    # -- update and forget ------------------------------------------------------------------------------------
    def update(self, memory_id: int, text: str, agent: str | None) -> Stored:
        by = self.caller.name(agent)
        old = self.caller.get(memory_id)
        self.caller.may_change([old], self.caller.principal_named(by), by)
        if old.superseded_by is not None:
            current = self.current_version(old.id)
            if self.caller.hidden([current]):
                raise InvalidInput(f"memory {old.id} was already updated", "recall what it was about again")
            raise InvalidInput(
                f"memory {old.id} was already updated: memory {old.superseded_by} replaced it",
                f"update the current version, {current}",
            )
        item = {"text": text, "project": old.project, "kind": old.kind, "tags": old.tags, "meta": old.meta}
        new = replace(self.new_memory(item | {"session": old.session}, by, None), private_to=old.private_to)
        if new.content_hash == old.content_hash:
            raise InvalidInput(f"memory {old.id} already says exactly that", "nothing to update")
        self.caller.refuse_hidden_copy(self.store.repo.existing_id(old.project, new.content_hash))
        # Always through the insert: under the write lock it finds a current duplicate to link to, if there is
        # one at that moment (a lookup made before the lock could link to a version replaced meanwhile).
        return self.insert([new], supersedes=old.id)[0]

    def current_version(self, memory_id: int) -> int:
        row = self.caller.get(memory_id)
        while row.superseded_by is not None:
            row = self.caller.get(row.superseded_by)
        return row.id

    def forget_many(self, memory_ids: Iterable[int], agent: str | None) -> list[int]:
        wanted = list(dict.fromkeys(validation.clean_id(i) for i in memory_ids))
        by = self.caller.name(agent)
        now = datetime.now(UTC)
        store = self.store
        with store.conn.write_transaction():
            principal = self.caller.principal_named(by)
            ids: list[int] = []
            for memory_id in wanted:
                versions = store.repo.versions(memory_id)
                if not versions:
                    raise NotFound(f"no memory with id {memory_id}", UNKNOWN_ID_HINT, what="memory")
                ids += [i for i in versions if i not in ids]
            rows = store.repo.get_many(ids)
            self.caller.may_change(rows, principal, by)
            written = [(row.id, row.created_at) for row in rows if row.id in wanted]
            store.trust.note_delete(written, principal, now)
            self.delete(ids, by, now)
        store.unmirror(ids)
        return ids

    def delete(self, ids: list[int], agent: str, now: datetime, also: set | None = None) -> None:
        """Inside the caller's write transaction: delete `ids` (their claims' supersessions undone), with a
        `memory.deleted` event each and the contradiction checks of what they touched (and of `also`)."""
        affected = self.store.claims.before_delete(ids) | (also or set())
        self.store.repo.delete(ids)
        changes = self.store.claims.check(affected, now)
        self.store.events.append([self.caller.event("memory.deleted", agent, i) for i in ids])
        self.store.events.append([self.caller.event(n.type, agent, n.memory_id, n.payload) for n in changes])

    # -- import and erasure -------------------------------------------------------------------------------------
    def link_imported_versions(self, pairs: list[tuple[int, int]]) -> None:
        """Imported version chains: each (old, new) pair as `update` leaves it, the old one history from the time
        the new one was stored, its claims pointing at the new one's."""
        now = datetime.now(UTC)
        store = self.store
        with store.conn.write_transaction():
            keys: set = set()
            replaced_at = {row.id: row.created_at for row in store.repo.get_many([new for _, new in pairs])}
            for old, new in pairs:
                _supersede(store.repo, old, new)
                keys |= store.claims.close_version(old, replaced_at[new])
                store.claims.link_versions(old, new)
            changes = store.claims.check(keys, now)
            store.events.append([self.caller.event(n.type, "slm", n.memory_id, n.payload) for n in changes])

    def purge(self, ids: list[int], *, agent: str, receipt: str) -> dict[str, int]:
        """Delete for an erasure: `ids` (whole version chains, chosen by the caller), everything derived from them,
        and their events' payloads; no trust signal, as an erasure judges no one. Returns the orphans dropped."""
        now = datetime.now(UTC)
        store = self.store
        with store.conn.write_transaction():
            keys: set = set()
            for part in erasure_sql.chunks(ids):
                keys |= store.claims.before_delete(part)
                store.repo.delete(part)
            changes = store.claims.check(keys, now)
            erasure_sql.tombstone_events(store.conn, ids)
            dropped = erasure_sql.drop_orphans(store.conn)
            payload = {"receipt": receipt, "memories": len(ids)}
            store.events.append([self.caller.event("store.erased", agent, None, payload)])
            store.events.append([self.caller.event(n.type, agent, n.memory_id, n.payload) for n in changes])
        store.unmirror(ids)
        return {f"orphaned {name}": n for name, n in dropped.items()}


def embed_chunked(embedder, texts: list[str]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
    """Each text's chunk spans and their vectors, all chunks of all texts embedded in one batched call."""
    spans = [embedder.chunk_spans(text) for text in texts]
    matrix = embedder.embed([text[s:e] for text, text_spans in zip(texts, spans, strict=True) for s, e in text_spans])
    out, at = [], 0
    for text_spans in spans:
        out.append((text_spans, matrix[at : at + len(text_spans)]))
        at += len(text_spans)
    return out


def _current(row: MemoryRow | None) -> bool:
    """Still there and not replaced: history neither corroborates nor is repeated."""
    return row is not None and row.superseded_by is None


def _principal(memory: NewMemory) -> str:
    return principal_of(memory.agent, memory.agent_id, memory.protocol)


def _supersede(repo: MemoryRepository, old_id: int, new_id: int) -> None:
    """Inside the update's transaction: the old version must still be current, or the update is rolled back."""
    if not repo.supersede(old_id, new_id):
        raise InvalidInput(
            f"memory {old_id} changed while it was being updated (another agent updated or deleted it)",
            "get it again and update the current version",
        )


def _created_payload(memory: NewMemory) -> dict:
    """What an event may say about a memory: never its text, so erasing the memory leaves the event content-free."""
    return {"project": memory.project, "kind": memory.kind, "tags": list(memory.tags)}


def _item_value_or(item: dict, key: str, default: object) -> object:
    """The item's own value unless it left the key out (or None): an explicit "" is validated, not replaced."""
    value = item.get(key)
    return default if value is None else value
