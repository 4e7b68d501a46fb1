"""The `Memory` facade: the public Python API that the CLI, the MCP server, the TUI and the benchmarks use."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from slm import config, faults, validation
from slm.embedding import choice as model_choice
from slm.embedding.vector_index import VectorIndex
from slm.errors import Forbidden, InvalidInput, NotFound, StorageError
from slm.facts import validity
from slm.graph import clusters
from slm.graph import links as graph
from slm.lifecycle import langevin
from slm.lifecycle import steps as lifecycle
from slm.recall import fusion, gaussians, pipeline
from slm.recall import ranker as ranking
from slm.recall.hits import Hit
from slm.storage import erasure as erasure_sql
from slm.storage import migrations, vectors
from slm.storage import portable as portable_sql
from slm.storage.agents import AgentRepository, AgentRow
from slm.storage.behavior import BehaviorRepository, behavior_path
from slm.storage.connection import open_connection, write_transaction
from slm.storage.events import Event, EventLog
from slm.storage.gaussians import GaussianRepository
from slm.storage.graph import GraphRepository
from slm.storage.lifecycle import LifecycleRepository
from slm.storage.memories import MemoryFilter, MemoryRepository, MemoryRow, NewMemory
from slm.storage.settings import get_setting, set_settings
from slm.trust import agents as agent_tokens
from slm.trust import model as trust_model
from slm.trust.ledger import CORROBORATE_MIN, DUPLICATE_MIN, Near, TrustLedger, Written, principal_of

ITEM_KEYS = frozenset({"text", "time", "agent", "project", "tags", "meta", "kind", "session"})
EMBED_BATCH = 64
Progress = Callable[[int], None]
PROTOCOLS = frozenset({"api", "cli", "mcp-stdio", "mcp-http"})
OWNER_PROTOCOLS = frozenset({"api", "cli"})  # the faces only the owner uses: "user" there is the owner
CLUSTERS_BUILT = "graph.clusters_built_at"
UNLINKED = "graph.unlinked_through"  # memories stored before the graph existed, linked by the next build
log = logging.getLogger("slm")


class Stored(int):
    """A stored memory's id, which also says whether the text was already there (then nothing was written)."""

    duplicate: bool

    def __new__(cls, memory_id: int, duplicate: bool = False) -> Stored:
        stored = super().__new__(cls, memory_id)
        stored.duplicate = duplicate
        return stored


CONTRADICTION_STATES = ("open", "resolved", "dismissed", None)


class Memory:
    """One user's memory store. Open with `Memory.open()`; use as a context manager to close it.

    `protocol` names the face this store is used through (api, cli, mcp-stdio, mcp-http); with the agent of
    each call it is the provenance recorded on every memory and event.
    """

    LIFECYCLE_STEP_SECONDS = lifecycle.STEP_EVERY_DAYS * 86400  # a step is due this long after the last one

    def __init__(
        self, conn, path: Path, model: Path | None = None, protocol: str = "api", threads: int | None = None
    ) -> None:
        if protocol not in PROTOCOLS:
            raise InvalidInput(f"unknown protocol {protocol!r}", f"one of {sorted(PROTOCOLS)}")
        self.conn = conn
        self.path = path
        self.protocol = protocol
        self.repo = MemoryRepository(conn)
        self.events = EventLog(conn)
        self.graph = GraphRepository(conn)
        self.agents = AgentRepository(conn)
        self.trust = TrustLedger(conn)
        self.gaussians = GaussianRepository(conn)
        self.lifecycle = LifecycleRepository(conn)
        self.claims = validity.ClaimKeeper(conn, self.trust)
        self.verified_agent: AgentRow | None = None  # set by `authenticate`: writes in its name record its id
        self.finished_erasures: list[dict] = []  # receipts of interrupted erasures this open finished
        self.erasure_problem: Exception | None = None  # why an interrupted erasure could not be finished on open
        self._centroids: tuple[str | None, tuple] = ("", ([], None))
        self._behavior: BehaviorRepository | None = None
        self._requested_model = model
        self._threads = threads
        self._embedder = None
        self._index: VectorIndex | None = None
        self._keyword_pool: ThreadPoolExecutor | None = None
        self._keyword_repo: MemoryRepository | None = None

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        model: str | Path | None = None,
        create: bool = True,
        protocol: str = "api",
        threads: int | None = None,
    ) -> Memory:
        """Open and migrate the database at `path` (default `$SLM_HOME/memory.db`); create it unless told not to."""
        # The real path, not a symlink's: behavior.db, receipts and the erasure key go beside the real file, so
        # the store is one store whichever path opens it.
        db_path = (Path(path).expanduser() if path is not None else config.default_db_path()).resolve()
        if not create and not db_path.exists():
            raise StorageError(
                f"no slm database at {db_path}", "check --db / SLM_DB / SLM_HOME, or store a memory with `slm remember`"
            )
        conn = open_connection(db_path)
        try:
            migrations.migrate(conn)
            vectors.ensure_delete_trigger(conn)
            _backfill_gaussians(conn)
            _backfill_claims(conn)
        except BaseException:
            conn.close()
            raise
        try:
            memory = cls(conn, db_path, Path(model) if model is not None else None, protocol, threads)
        except BaseException:
            conn.close()
            raise
        try:
            memory._finish_erasures()
        except BaseException:
            memory.close()
            raise
        return memory

    def _finish_erasures(self) -> None:
        """Erasures a crash interrupted are finished on the next open: what was erased must not stay half there.
        One that cannot be finished now (a damaged behavior.db, a full disk) must not lock the user out of the
        store: the journal stays, the problem is kept for the faces to report, and doctor says what to do."""
        if not erasure_sql.journal_entries(self.conn):
            return
        from slm.portability import erasure

        try:
            self.finished_erasures = erasure.finish_pending(self)
        except Exception as err:  # reported, not raised: see above
            self.erasure_problem = err
            log.warning("an interrupted erasure could not be finished: %s", err)

    def close(self) -> None:
        if self._keyword_pool is not None:
            self._keyword_pool.shutdown()
            self._keyword_repo.conn.close()
        if self._behavior is not None:
            self._behavior.close()
        self.conn.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the embedding model, loaded on first need ------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from slm.embedding.embedder import Embedder

            spec = model_choice.choose_model(self.conn, self._requested_model, self.repo.count())
            embedder = Embedder(model_choice.model_file(spec), threads=self._threads)
            model_choice.bind_model(self.conn, spec, embedder.dim)
            self._embedder = embedder
        return self._embedder

    @property
    def behavior(self) -> BehaviorRepository:
        """The behaviour database beside this one (recalls and feedback), opened, or created, on first use."""
        if self._behavior is None:
            self._behavior = BehaviorRepository.open(behavior_path(self.path))
        return self._behavior

    def existing_behavior(self) -> BehaviorRepository | None:
        """The behaviour database if there is one: readers use this, so that looking never creates a file."""
        if self._behavior is None and not behavior_path(self.path).exists():
            return None
        return self.behavior

    # -- writing --------------------------------------------------------------------------------------------
    def remember(
        self,
        text: str,
        *,
        agent: str | None = None,
        project: str | None = None,
        tags: Iterable[str] | None = None,
        time: object = None,
        meta: dict | None = None,
        kind: str | None = None,
        session: str | None = None,
    ) -> Stored:
        """Store one memory and return its id; an exact duplicate of a current memory of the same project is not
        stored again: its id comes back with `.duplicate` set. `session` names the conversation it was said in
        (default: `meta["session"]` if given), so recall reads it with its neighbours."""
        item = {
            "text": text,
            "agent": agent,
            "project": project,
            "tags": tags,
            "time": time,
            "meta": meta,
            "kind": kind,
            "session": session,
        }
        return self.remember_many([item])[0]

    def remember_many(
        self,
        items: Iterable[dict],
        *,
        agent: str | None = None,
        project: str | None = None,
        batch_size: int = EMBED_BATCH,
        progress: Progress | None = None,
        imported: bool = False,
    ) -> list[Stored]:
        """Store many memories, embedding them in batches; ids come back in input order.

        Every item is validated before anything is written. Each batch is one transaction, with a
        `memory.created` event per new memory. `agent` and `project` are defaults for items that do not name
        their own; `progress(n)` is told of each stored batch; `imported` items come from another tool's file,
        so their pace is not their agent's.
        """
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
            existing = self.repo.existing_id(*key)
            self._refuse_hidden_copy(existing)
            if existing is None:
                todo.append((position, memory))
            else:
                ids[position] = Stored(existing, duplicate=True)
                repeats.append((existing, memory))
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            stored = self._insert([m for _, m in batch], imported=imported)
            for (position, _), one in zip(batch, stored, strict=True):
                ids[position] = one
            if progress:
                progress(len(batch))
        for position, original in copies.items():
            ids[position] = Stored(ids[original], duplicate=True)
        if repeats:
            with write_transaction(self.conn):
                self.authorise()
                for existing, memory in repeats:
                    if self.trust.note_repeat(existing, _principal(memory), datetime.now(UTC)):
                        gaussians.restate(self.gaussians, existing)
        return ids  # type: ignore[return-value]

    def _insert(self, memories: list[NewMemory], supersedes: int | None = None, imported: bool = False) -> list[Stored]:
        """Embed, then store rows and their events in one write transaction (the lock is held only to write).

        With `supersedes`, the one memory given replaces that id: it must still be current when the lock is held.
        `imported` memories replay writes made elsewhere: their pace is not an agent's burst.
        """
        embedded = self._embed_all(memories)
        vectors = np.vstack([graph.memory_vector(m.vectors) for m in embedded])
        plans = graph.plan_similar(self._synced_index(), vectors)
        with write_transaction(self.conn):
            self.authorise()
            stored = self.repo.insert_many(embedded)
            self._place(embedded, stored)
            self._link(embedded, stored, plans, vectors, supersedes, imported)
            created = [
                self._event("memory.created", m.agent, memory_id, _created_payload(m))
                for m, (memory_id, new) in zip(embedded, stored, strict=True)
                if new
            ]
            earlier: set = set()
            if supersedes is not None:
                (memory_id, _), memory = stored[0], embedded[0]
                _supersede(self.repo, supersedes, memory_id)
                self.trust.note_update(supersedes, memory_id, _principal(memory), datetime.now(UTC))
                created.append(self._event("memory.updated", memory.agent, supersedes, {"superseded_by": memory_id}))
                earlier = self.claims.close_version(supersedes, memory.created_at)
            said = [
                validity.Said(
                    memory_id, m.content, m.project, _principal(m), m.event_time or m.created_at,
                    tuple(i for i, score in plan.stored if score >= validity.ALIGN_MIN)
                    + tuple(stored[j][0] for j, score in plan.in_batch if score >= validity.ALIGN_MIN),
                )
                for m, (memory_id, new), plan in zip(embedded, stored, plans, strict=True)
                if new
            ]  # fmt: skip
            noticed = self.claims.place(said, datetime.now(UTC), earlier)
            if supersedes is not None:
                self.claims.link_versions(supersedes, stored[0][0])
            writers = {memory_id: m.agent for m, (memory_id, _) in zip(embedded, stored, strict=True)}
            created += [self._event(n.type, writers.get(n.memory_id, "slm"), n.memory_id, n.payload) for n in noticed]
            self.events.append(created)
        if self._index is not None:
            self._index.catch_up(self.conn)
        return [Stored(memory_id, duplicate=not new) for memory_id, new in stored]

    def _place(self, embedded: list[NewMemory], stored: list) -> None:
        """Inside the write transaction: each new memory's Gaussian and its start at the lifecycle's centre."""
        born = []
        for memory, (memory_id, new) in zip(embedded, stored, strict=True):
            if new:
                gaussians.store_new(self.gaussians, memory_id, memory.vectors)
                born.append((memory_id, lifecycle.importance_of(memory.meta), lifecycle.days(memory.created_at)))
        self.lifecycle.add(born)

    def _link(
        self,
        embedded: list[NewMemory],
        stored: list,
        plans: list[graph.PlannedLinks],
        vectors,
        replaces: int | None,
        imported: bool = False,
    ) -> None:
        """Inside the write transaction: each new memory's entities and edges, the cluster it joins, its trust."""
        total = self.repo.row_count()
        centroids = self._cluster_centroids()
        written: list[tuple[Written, list[tuple[int, float]]]] = []
        observed: dict[int, np.ndarray] = {}  # new memory id -> the observation it makes of what it corroborates
        for position, (memory, (memory_id, new)) in enumerate(zip(embedded, stored, strict=True)):
            if not new:
                continue
            plan = plans[position]
            similar = plan.stored + [(stored[j][0], score) for j, score in plan.in_batch]
            graph.link(self.graph, memory_id, memory, similar, total)
            joined = clusters.join(self.graph, memory_id, vectors[position], centroids)
            if joined is not None:
                self.graph.assign(memory_id, *joined)
            # the version an update replaces is neither a repeat nor a corroboration of the new one
            close = [(i, s) for i, s in similar if s >= min(CORROBORATE_MIN, DUPLICATE_MIN) and i != replaces]
            written.append((Written(memory_id, _principal(memory), memory.project, memory.content), close))
            observed[memory_id] = memory.vectors.mean(axis=0)
        rows = {row.id: row for row in self.repo.get_many(list({i for _, close in written for i, _ in close}))}
        batch = [
            (w, [Near(i, s, rows[i].content, rows[i].created_at) for i, s in close if _current(rows.get(i))])
            for w, close in written
        ]
        for corroborated, by in self.trust.note_writes(batch, datetime.now(UTC), count_bursts=not imported):
            gaussians.reobserve(self.gaussians, corroborated, observed[by])

    def _cluster_centroids(self) -> tuple:
        """Cluster centroids, read again only when a rebuild (by any process) has replaced them."""
        built = get_setting(self.conn, CLUSTERS_BUILT)
        if built != self._centroids[0]:
            self._centroids = (built, self.graph.centroids())
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
            return self._new_memory(item, agent, project)
        except InvalidInput as err:
            if position is None:
                raise
            raise InvalidInput(f"{name}: {err.message}", err.hint) from err

    def _new_memory(self, item: dict, agent: str | None, project: str | None) -> NewMemory:
        text = validation.clean_text(item["text"])
        agent_name = self._caller(_given(item, "agent", agent))
        verified = self.verified_agent
        meta = validation.clean_meta(item.get("meta"))
        return NewMemory(
            content=text,
            content_hash=validation.content_hash(text),
            created_at=validation.now_utc(),
            event_time=validation.parse_time(item.get("time")),
            agent=agent_name,
            agent_id=verified.id if verified is not None and verified.name == agent_name else None,
            project=validation.clean_name(_given(item, "project", project), "project", validation.DEFAULT_PROJECT),
            kind=validation.clean_kind(item.get("kind")),
            meta=meta,
            tags=validation.clean_tags(item.get("tags")),
            protocol=self.protocol,
            session=validation.clean_session(item.get("session"), meta),
        )

    def _embed_all(self, memories: list[NewMemory]) -> list[NewMemory]:
        """Embed the memories that do not bring their own vectors (an import of the same model's export does)."""
        todo = [m for m in memories if m.vectors is None]
        embedded = iter(embed_chunked(self.embedder, [m.content for m in todo]) if todo else [])
        ready = []
        for memory in memories:
            if memory.vectors is None:
                spans, matrix = next(embedded)
                memory = replace(memory, spans=spans, vectors=matrix)
            ready.append(memory)
        return ready

    def update(self, memory_id: int, text: str, *, agent: str | None = None) -> Stored:
        """Replace a memory's text with a new version; the old one stays as history, superseded by the new.

        The new version keeps the project, kind, tags, meta and session. Returns its id (`.duplicate` when the new
        text was already a current memory of the project, which then becomes the successor).
        """
        by = self._caller(agent)
        old = self.get(memory_id)
        self._may_change([old], self._principal_named(by), by)
        if old.superseded_by is not None:
            current = self.current_version(old.id)
            if self._hidden([current]):
                raise InvalidInput(f"memory {old.id} was already updated", "recall what it was about again")
            raise InvalidInput(
                f"memory {old.id} was already updated: memory {old.superseded_by} replaced it",
                f"update the current version, {current}",
            )
        item = {"text": text, "project": old.project, "kind": old.kind, "tags": old.tags, "meta": old.meta}
        new = self._new_memory(item | {"session": old.session}, by, None)
        if new.content_hash == old.content_hash:
            raise InvalidInput(f"memory {old.id} already says exactly that", "nothing to update")
        self._refuse_hidden_copy(self.repo.existing_id(old.project, new.content_hash))
        # Always through the insert: under the write lock it finds a current duplicate to link to, if there is
        # one at that moment (a lookup made before the lock could link to a version replaced meanwhile).
        return self._insert([new], supersedes=old.id)[0]

    def current_version(self, memory_id: int) -> int:
        """The id that replaced `memory_id` through any number of updates (itself if it is current)."""
        row = self.get(memory_id)
        while row.superseded_by is not None:
            row = self.get(row.superseded_by)
        return row.id

    def forget(self, memory_id: int, *, agent: str | None = None) -> list[int]:
        """Delete a memory and the earlier versions it replaced, with their tags, index entries and vectors.

        Returns the deleted ids, newest first; each gets a `memory.deleted` event in the same transaction.
        """
        return self.forget_many([memory_id], agent=agent)

    def forget_many(self, memory_ids: Iterable[int], *, agent: str | None = None) -> list[int]:
        """`forget` for several ids in one transaction: all go (with their earlier versions), or, if any id is
        unknown or not the caller's to delete, none."""
        wanted = list(dict.fromkeys(validation.clean_id(i) for i in memory_ids))
        by = self._caller(agent)
        now = datetime.now(UTC)
        with write_transaction(self.conn):
            principal = self._principal_named(by)
            ids: list[int] = []
            for memory_id in wanted:
                versions = self.repo.versions(memory_id)
                if not versions:
                    raise NotFound(f"no memory with id {memory_id}", "see `slm list` for ids")
                ids += [i for i in versions if i not in ids]
            rows = self.repo.get_many(ids)
            self._may_change(rows, principal, by)
            written = [(row.id, row.created_at) for row in rows if row.id in wanted]
            self.trust.note_delete(written, principal, now)
            self._delete(ids, by, now)
        self._unmirror(ids)
        return ids

    def _delete(self, ids: list[int], agent: str, now: datetime, also: set | None = None) -> None:
        """Inside the caller's write transaction: delete `ids` (their claims' supersessions undone), with a
        `memory.deleted` event each and the contradiction checks of what they touched (and of `also`)."""
        affected = self.claims.before_delete(ids) | (also or set())
        self.repo.delete(ids)
        noticed = self.claims.check(affected, now)
        self.events.append([self._event("memory.deleted", agent, i) for i in ids])
        self.events.append([self._event(n.type, agent, n.memory_id, n.payload) for n in noticed])

    def _unmirror(self, ids: list[int]) -> None:
        """After a deletion committed: its vectors leave this process's mirror (other processes reload theirs)."""
        if self._index is not None:
            for i in ids:
                self._index.remove_memory(i)

    def _only_visible(self, ids: list[int]) -> None:
        """Quarantined memories do not exist for agents: acting on one is answered as for an unknown id, so an
        agent cannot even confirm it is there (only the user reviews the quarantine)."""
        hidden = self._hidden(ids)
        if hidden:
            raise NotFound(f"no memory with id {min(hidden)}", "see `slm list` for ids")

    def _refuse_hidden_copy(self, memory_id: int | None) -> None:
        """An agent's text equal to a current memory it cannot see: storing it would link to, vouch for or show the
        hidden one, so it is refused (an agent that knew the text word for word learns only that it is held)."""
        if memory_id is not None and self._hidden([memory_id]):
            raise Forbidden(
                "this exact text is held for the user's review (quarantined) and cannot be stored again meanwhile",
                "write what you know in your own words, or ask the user to review it (`slm trust quarantine`)",
            )

    def _hidden(self, ids: list[int]) -> set[int]:
        """Those of `ids` an agent's face may not show: the quarantined ones. The user's faces (CLI, API) see
        everything; an agent name there only labels the work."""
        return set() if self.protocol in OWNER_PROTOCOLS else self._quarantined(ids)

    def _quarantined(self, ids: list[int]) -> set[int]:
        return {i for i, trust in self.trust.memory_trusts(ids).items() if trust_model.quarantined(trust)}

    def _may_change(self, rows: list[MemoryRow], principal: str, by: str) -> None:
        """Refuse, changing nothing, unless the caller wrote every one of `rows`, is the user (at the CLI or the
        API, whatever agent name labels the work), or is an authenticated agent the user let change others'
        memories (`grant_agent`)."""
        self._only_visible([row.id for row in rows if row.superseded_by is None])
        verified = self.verified_agent
        if self.protocol in OWNER_PROTOCOLS or (
            verified is not None and verified.edit_others and principal == f"agent:{verified.id}"
        ):
            return
        authors = self.trust.repo.memories([row.id for row in rows])
        for row in rows:
            author = authors.get(row.id)
            if author is None or author.principal != principal:
                raise Forbidden(
                    f"memory {row.id} was written by {row.agent}: {by} may change only the memories it wrote",
                    "the user can change it (slm update / slm forget), or let an authenticated agent change "
                    "others' memories: slm agent grant NAME edit-others",
                )

    # -- import ---------------------------------------------------------------------------------------------
    def with_vectors(self, memories: list[NewMemory]) -> list[NewMemory]:
        """The memories, those that bring no vectors embedded: for a caller that stores them inside a transaction
        of its own (an import), so the write lock is not held while embedding."""
        return self._embed_all(memories)

    def store_imported(self, memories: list[NewMemory]) -> list[Stored]:
        """Store memories read from an export as recorded (times, provenance); an exact duplicate of a current
        memory of the project is not stored again (`.duplicate`)."""
        return self._insert(memories, imported=True)

    def link_imported_versions(self, pairs: list[tuple[int, int]]) -> None:
        """Imported version chains: each (old, new) pair as `update` leaves it, the old one history from the time
        the new one was stored, its claims pointing at the new one's."""
        now = datetime.now(UTC)
        with write_transaction(self.conn):
            keys: set = set()
            replaced_at = {row.id: row.created_at for row in self.repo.get_many([new for _, new in pairs])}
            for old, new in pairs:
                _supersede(self.repo, old, new)
                keys |= self.claims.close_version(old, replaced_at[new])
                self.claims.link_versions(old, new)
            noticed = self.claims.check(keys, now)
            self.events.append([self._event(n.type, "slm", n.memory_id, n.payload) for n in noticed])

    def model_identity(self) -> dict:
        """The embedding model as an export names it: its file name and dimension (loads the model)."""
        self.embedder  # noqa: B018 - loading it binds it to the store on first use
        return model_choice.identity(self.conn)

    def purge(self, ids: list[int], *, agent: str, receipt: str) -> dict[str, int]:
        """Delete for an erasure: `ids` (whole version chains, chosen by the caller), everything derived from them,
        and their events' payloads; no trust signal, as an erasure judges no one. Returns the orphans dropped."""
        now = datetime.now(UTC)
        with write_transaction(self.conn):
            keys: set = set()
            for part in erasure_sql.chunks(ids):
                keys |= self.claims.before_delete(part)
                self.repo.delete(part)
            noticed = self.claims.check(keys, now)
            erasure_sql.tombstone_events(self.conn, ids)
            dropped = erasure_sql.drop_orphans(self.conn)
            payload = {"receipt": receipt, "memories": len(ids)}
            self.events.append([self._event("store.erased", agent, None, payload)])
            self.events.append([self._event(n.type, agent, n.memory_id, n.payload) for n in noticed])
        if self._index is not None:
            self._index.remove_memories(ids)
        return {f"orphaned {name}": n for name, n in dropped.items()}

    # -- authenticated agents -------------------------------------------------------------------------------
    def add_agent(self, name: str) -> tuple[AgentRow, str]:
        """Register an agent; returns it and its secret token, which is not stored and cannot be shown again."""
        name = _agent_name(name, "agent name")
        token = agent_tokens.new_token()
        with write_transaction(self.conn):
            if self.agents.by_name(name) is not None:
                raise InvalidInput(f"an agent named {name!r} already exists", "choose another name, or revoke it")
            agent_id = self.agents.add(name, agent_tokens.token_hash(token), validation.now_utc())
            self.events.append([self._event("agent.added", name, None, {"agent_id": agent_id})])
        return self.agents.by_name(name), token

    def list_agents(self) -> list[AgentRow]:
        return self.agents.list()

    def revoke_agent(self, name: str) -> AgentRow:
        """Its token stops working at once; its memories stay, still attributed to it."""
        with write_transaction(self.conn):
            agent = self._agent_named(name)
            if agent.active:
                self.agents.revoke(agent.id, validation.now_utc())
                self.events.append([self._event("agent.revoked", agent.name, None, {"agent_id": agent.id})])
        return self.agents.by_name(agent.name)

    def rename_agent(self, name: str, new_name: str) -> AgentRow:
        """A new name for the agent and for the memories it wrote while authenticated (not for memories others
        wrote under its old name: those were never proved to be its)."""
        new_name = _agent_name(new_name, "new agent name")
        with write_transaction(self.conn):
            agent = self._agent_named(name)
            if self.agents.by_name(new_name) is not None:
                raise InvalidInput(f"an agent named {new_name!r} already exists", "choose another name")
            self.agents.rename(agent.id, new_name)
            payload = {"agent_id": agent.id, "from": agent.name}
            self.events.append([self._event("agent.renamed", new_name, None, payload)])
        return self.agents.by_name(new_name)

    def grant_agent(self, name: str, *, edit_others: bool) -> AgentRow:
        """Let an authenticated agent update and forget memories others wrote, or take that back (the user's call;
        by default an agent may change only its own)."""
        with write_transaction(self.conn):
            agent = self._agent_named(name)
            if agent.edit_others != edit_others:
                self.agents.set_edit_others(agent.id, edit_others)
                payload = {"agent_id": agent.id, "edit_others": edit_others}
                self.events.append([self._event("agent.permissions", agent.name, None, payload)])
        return self.agents.by_id(agent.id)

    def authenticate(self, token: object) -> AgentRow:
        """Act as the agent this token belongs to, from now on: writes in its name record its id (`verified`),
        and once the token is revoked every call fails (`authorise`)."""
        self.verified_agent = self.agent_of_token(token)
        return self.verified_agent

    def agent_of_token(self, token: object) -> AgentRow:
        """The active agent this token belongs to, or a clear refusal."""
        if not agent_tokens.looks_like_token(token):
            raise InvalidInput(
                f"that is not an slm agent token (they start with {agent_tokens.PREFIX!r})",
                "create one with `slm agent add NAME` and set SLM_AGENT_TOKEN to what it prints",
            )
        agent = self.agents.by_token_hash(agent_tokens.token_hash(token))
        if agent is None:
            raise InvalidInput("unknown agent token", "check SLM_AGENT_TOKEN, or create one with `slm agent add NAME`")
        if not agent.active:
            raise Forbidden(
                f"the token of agent {agent.name!r} was revoked on {agent.revoked_at}",
                "create a new agent with `slm agent add NAME`",
            )
        return agent

    @contextmanager
    def acting_as(self, agent_id: int | None) -> Iterator[None]:
        """Calls inside act as the authenticated agent with this id (None: under a claimed name), for a server
        whose clients each bring their own token; refused at once if its token was revoked. Not for concurrent
        use: the caller serialises calls on this Memory."""
        before = self.verified_agent
        self.verified_agent = None if agent_id is None else self._active_agent(agent_id, f"#{agent_id}")
        try:
            yield
        finally:
            self.verified_agent = before

    def authorise(self) -> None:
        """Check, before a call, that the authenticated agent this Memory acts as still may act: its token revoked
        by any process stops every call at once, with no falling back to a claimed name. A rename is followed."""
        if self.verified_agent is not None:
            self.verified_agent = self._active_agent(self.verified_agent.id, self.verified_agent.name)

    def _active_agent(self, agent_id: int, name: str) -> AgentRow:
        agent = self.agents.by_id(agent_id)
        if agent is None or not agent.active:
            raise Forbidden(
                f"the token of agent {name!r} was revoked",
                "the user can create a new agent with `slm agent add NAME` and give its token to the client",
            )
        return agent

    def _principal_named(self, agent: str) -> str:
        """Who is acting when this face acts in `agent`'s name: the authenticated agent only if it is that name."""
        self.authorise()  # under the write lock, where callers hold it: a token revoked meanwhile speaks no more
        verified = self.verified_agent
        if verified is None or verified.name != agent:
            return principal_of(agent, None, self.protocol)
        return principal_of(agent, verified.id, self.protocol)

    def _agent_named(self, name: str) -> AgentRow:
        agent = self.agents.by_name(validation.clean_name(name, "agent name", ""))
        if agent is None:
            raise NotFound(f"no agent named {name!r}", "see `slm agent list`")
        return agent

    # -- trust ----------------------------------------------------------------------------------------------
    def trust_report(self) -> list[dict]:
        """Every principal that wrote or was scored, and every registered agent: trust, evidence, memories."""
        counts = self.trust.repo.memory_counts()
        states = {state.principal: state for state in self.trust.repo.states()}
        principals = set(counts) | set(states) | {f"agent:{a.id}" for a in self.agents.list()}
        summaries = [self._principal_summary(p, states.get(p), counts.get(p, 0)) for p in principals]
        return sorted(summaries, key=lambda row: (row["trust"], row["principal"]))

    def explain_trust(self, agent: str, *, limit: int = 20) -> list[dict]:
        """The identities behind a name (its authenticated agent, callers that only claimed the name, the user),
        each with its trust, its evidence by signal and its newest signals with their reasons."""
        name = validation.clean_name(agent, "agent", "")
        limit = validation.clean_limit(limit, "limit", 10_000)
        counts = self.trust.repo.memory_counts()
        registered = self.agents.by_name(name)
        principals = [f"agent:{registered.id}"] if registered else []
        if name == trust_model.USER:
            principals.append(trust_model.USER)
        if self.trust.repo.state(f"name:{name}") or counts.get(f"name:{name}"):
            principals.append(f"name:{name}")
        if not principals:
            raise NotFound(f"no agent named {name!r} has written a memory or been scored", "see `slm trust list`")
        explained = []
        for principal in principals:
            summary = self._principal_summary(principal, self.trust.repo.state(principal), counts.get(principal, 0))
            summary["prior"] = asdict(trust_model.prior_of(principal)) if principal != trust_model.USER else None
            summary["by_signal"] = self.trust.repo.signal_counts(principal)
            summary["recent"] = [asdict(row) for row in self.trust.repo.signals_of(principal, limit)]
            explained.append(summary)
        return explained

    def _principal_summary(self, principal: str, state, memories: int) -> dict:
        if principal == trust_model.USER:
            alpha = beta = None
        else:
            fresh = trust_model.fresh(principal)
            alpha, beta = (state.alpha, state.beta) if state else (fresh.alpha, fresh.beta)
        return {
            "principal": principal,
            "name": self._principal_name(principal),
            "kind": trust_model.kind_of(principal),
            "trust": self.trust.trust(principal),
            "alpha": alpha,
            "beta": beta,
            "signals": state.signals if state else 0,
            "drift": state.drift if state else 0.0,
            "memories": memories,
            "updated_at": state.updated_at if state else None,
        }

    def _principal_name(self, principal: str) -> str:
        kind, _, rest = principal.partition(":")
        if kind == "agent":
            agent = self.agents.by_id(int(rest))
            return agent.name if agent else principal
        return rest or principal

    def quarantine(self) -> list[tuple[MemoryRow, float]]:
        """Current memories whose trust is below the quarantine line and not approved, least trusted first."""
        scored = self.trust.quarantined()
        rows = {row.id: row for row in self.repo.get_many([i for i, _ in scored])}
        return [(rows[i], trust) for i, trust in scored if i in rows]

    def memory_trust(self, memory_id: int) -> dict | None:
        """Why a memory has its trust: its author's identity and trust, who vouched for it, its doubt, the verdict."""
        row = self.trust.repo.memory(self.get(memory_id).id)
        if row is None:
            return None  # not possible through the API: every write makes the record in its transaction
        trust = self.trust.memory_trusts([row.memory_id])[row.memory_id]
        return {
            "trust": trust,
            "quarantined": trust_model.quarantined(trust),
            "approved": row.approved,
            "author": {"principal": row.principal, "name": self._principal_name(row.principal)}
            | {"kind": trust_model.kind_of(row.principal), "trust": self.trust.trust(row.principal)},
            "vouched_by": [{"principal": p, "name": self._principal_name(p)} for p in row.endorsers],
            "doubt": row.doubt,
        }

    def visible_to_agents(self, ids: list[int]) -> list[MemoryRow]:
        """The memories with these ids an agent may see, in order (`without_quarantined`)."""
        return self.without_quarantined(self.repo.get_many(ids))

    def without_quarantined(self, rows: list[MemoryRow]) -> list[MemoryRow]:
        """The rows an agent may see: quarantined memories are left out as if they did not exist (only the user
        reviews the quarantine)."""
        hidden = self._quarantined([row.id for row in rows])
        return [row for row in rows if row.id not in hidden]

    def approve(self, memory_ids: Iterable[int]) -> list[int]:
        """The user vouches for these memories: trusted in full from now on, and a good signal for their authors."""
        self._owner_only("approve memories")
        ids = list(dict.fromkeys(validation.clean_id(i) for i in memory_ids))
        now = datetime.now(UTC)
        with write_transaction(self.conn):
            for memory_id in ids:
                if self.get(memory_id).superseded_by is not None:
                    raise InvalidInput(f"memory {memory_id} was updated", "approve its current version")
                self.trust.approve(memory_id, now)
            self.events.append([self._event("memory.approved", validation.DEFAULT_AGENT, i) for i in ids])
        return ids

    def reject(self, memory_ids: Iterable[int]) -> list[int]:
        """The user rejects these memories as false or hostile: a strong signal against each author, then they
        are deleted. A rejected update never takes the version it replaced with it: that version holds again (a
        poisoned `update` of a good fact must not erase the fact). Returns the deleted ids."""
        self._owner_only("reject memories")
        ids = list(dict.fromkeys(validation.clean_id(i) for i in memory_ids))
        for memory_id in ids:
            row = self.get(memory_id)
            if row.superseded_by is not None:
                raise InvalidInput(f"memory {memory_id} was updated", "reject its current version")
        now, user = datetime.now(UTC), validation.DEFAULT_AGENT
        with write_transaction(self.conn):
            restored: list = []
            for memory_id in ids:
                self.trust.reject(memory_id, now)
                restored += [(old, memory_id) for old in self.repo.replaced_by(memory_id) if old not in ids]
            keys: set = set()
            for old, _ in restored:
                if self.repo.reinstate(old) is None:
                    self.claims.repo.reopen_version(old)
                    keys |= {c.key for c in self.claims.repo.of_memories([old])}
            self._delete(ids, user, now, also=keys)
            self.events.append([self._event("memory.restored", user, old, {"rejected": new}) for old, new in restored])
        self._unmirror(ids)
        return ids

    def _owner_only(self, what: str) -> None:
        """The user's verdicts (approve, reject) are never an agent's: only the owner's faces may give them."""
        if self.protocol not in OWNER_PROTOCOLS:
            raise Forbidden(f"only the user may {what}", "use `slm trust` at the command line")

    # -- the lifecycle --------------------------------------------------------------------------------------------
    def lifecycle_step(self, *, now: object = None, seed: int | None = None) -> lifecycle.StepReport:
        """Fold in the uses since the last step (recalls, helpful feedback), then move every current memory one
        Langevin step to `now`, in one transaction. `seed` fixes the store's noise from now on (default 0)."""
        moment = lifecycle.days(validation.parse_time(now, "now") or validation.now_utc())
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
            raise InvalidInput(f"the seed must be a whole number from 0 to 2^63 - 1, got {seed!r}")
        began = time.perf_counter()
        with write_transaction(self.conn):
            if seed is not None:
                self.lifecycle.set_numbers({lifecycle.SEED: seed})
            report = lifecycle.step(self.lifecycle, self.trust, self.existing_behavior(), moment)
            committing = time.perf_counter()
        commit_ms = round((time.perf_counter() - committing) * 1000, 2)
        return replace(report, seconds=time.perf_counter() - began, parts_ms=report.parts_ms | {"commit": commit_ms})

    def step_lifecycle_if_due(self) -> lifecycle.StepReport | None:
        """A step if the last one is older than `lifecycle.STEP_EVERY_DAYS`: the faces call this after writes."""
        if not lifecycle.due(self.lifecycle, lifecycle.days(validation.now_utc())):
            return None
        return self.lifecycle_step()

    def lifecycle_status(self) -> dict:
        """Memories per zone, the last step, and the constants of the dynamics."""
        last = self.lifecycle.get_number(lifecycle.LAST_STEP, float("nan"))
        return {
            "zones": {name: 0 for name, _ in langevin.ZONES} | self.lifecycle.zone_counts(),
            "steps": int(self.lifecycle.get_number(lifecycle.STEPS, 0)),
            "last_step": _from_days(last),
            "seed": int(self.lifecycle.get_number(lifecycle.SEED, 0)),
            "due": lifecycle.due(self.lifecycle, lifecycle.days(validation.now_utc())),
            "zone_bounds": {name: bound for name, bound in langevin.ZONES if bound != float("inf")},
            "stiffness_per_day": langevin.STIFFNESS,
            "spread": langevin.SPREAD,
        }

    def memory_lifecycle(self, memory_id: int) -> dict:
        """A memory's position, zone, rank weight and the uses that placed it there."""
        row = self.lifecycle.row(self.get(memory_id).id) or {}  # every write makes one in its transaction
        position = row.get("position", 0.0)
        return row | {
            "born": _from_days(row.get("born")),
            "last_used": _from_days(row.get("last_used")),
            "zone": str(langevin.zone_of(np.array([position]))[0]),
            "ball_radius": float(langevin.ball_radius(np.array(position))),  # its coordinate in the Poincaré ball
            "rank_weight": float(langevin.rank_weight(position)),
        }

    # -- claims, validity and contradictions -------------------------------------------------------------------
    def memory_claims(self, memory_id: int) -> dict:
        """When what a memory says holds (valid_from / valid_to) and the claims it makes, with what superseded
        each."""
        row = self.get(memory_id)
        valid_from, valid_to = self.claims.repo.validity(row.id)
        claims = self.claims.repo.of_memories([row.id])
        successors = {
            c.id: c.memory_id for c in self.claims.repo.get_many([c.superseded_by for c in claims if c.superseded_by])
        }
        return {
            "valid_from": valid_from,
            "valid_to": valid_to,
            "current": valid_to is None,
            "claims": [asdict(c) | {"superseded_by_memory": successors.get(c.superseded_by)} for c in claims],
        }

    def contradictions(
        self, *, status: str | None = "open", project: str | None = None, memory_id: int | None = None, limit: int = 50
    ) -> list[dict]:
        """Contradictions found by the sheaf check, newest first: `status` open (default), resolved, dismissed or
        None for all; those of one project, or those a memory takes part in. Agents do not see the claims of
        quarantined memories, nor a contradiction that only such a claim made."""
        if status not in CONTRADICTION_STATES:
            raise InvalidInput(f"unknown status {status!r}", "one of open, resolved, dismissed, or all")
        project = None if project is None else validation.clean_name(project, "project", "")
        memory_id = None if memory_id is None else validation.clean_id(memory_id)
        limit = validation.clean_limit(limit, "limit")
        found = [
            self._contradiction_dict(row) for row in self.claims.repo.contradictions(status, project, limit, memory_id)
        ]
        if self.protocol in OWNER_PROTOCOLS:
            return found
        hidden = self._quarantined(sorted({c["memory_id"] for f in found for c in f["claims"]}))
        shown = [f | {"claims": [c for c in f["claims"] if c["memory_id"] not in hidden]} for f in found]
        return [f for f in shown if len({c["memory_id"] for c in f["claims"]}) >= 2]

    def contradiction(self, contradiction_id: int) -> dict:
        """One contradiction with its claims, each with its memory's text, author, time and trust."""
        row = self.claims.repo.contradiction(validation.clean_id(contradiction_id, "contradiction id"))
        if row is None:
            raise NotFound(f"no contradiction with id {contradiction_id}", "see `slm contradictions list --status all`")
        return self._contradiction_dict(row)

    def resolve_contradiction(
        self, contradiction_id: int, *, keep: int | None = None, agent: str | None = None
    ) -> dict:
        """Settle a contradiction: `keep` the memory that is right (the others' claims are superseded by it, a
        signal against their authors), or dismiss it (keep=None: the claims may all hold, it is not raised
        again for them)."""
        contradiction_id = validation.clean_id(contradiction_id, "contradiction id")
        keep = None if keep is None else validation.clean_id(keep)
        by = self._caller(agent)
        with write_transaction(self.conn):
            try:
                row = self.claims.resolve(contradiction_id, keep, self._principal_named(by), datetime.now(UTC))
            except LookupError as err:
                raise NotFound(str(err), "see `slm contradictions list --status all`") from err
            except ValueError as err:
                raise InvalidInput(str(err), "keep one of its memories, or dismiss it") from err
            payload = {"contradiction": row.id, "status": row.status, "kept": keep}
            self.events.append([self._event("contradiction.resolved", by, keep, payload)])
        return self._contradiction_dict(row)

    def _contradiction_dict(self, row) -> dict:
        claims = self.claims.repo.get_many([i for i, _ in row.claims])
        by_id = {c.id: c for c in claims}
        memories = {m.id: m for m in self.repo.get_many(sorted({c.memory_id for c in claims}))}
        trusts = self.trust.memory_trusts(sorted(memories))
        carriers = []
        for claim_id, residual in row.claims:
            claim = by_id.get(claim_id)
            memory = memories.get(claim.memory_id) if claim else None
            if claim is None or memory is None:
                continue
            carriers.append(
                asdict(claim)
                | {"residual": residual, "text": memory.content, "agent": memory.agent}
                | {"time": memory.event_time or memory.created_at, "trust": trusts.get(memory.id, 1.0)}
            )
        return asdict(row) | {"claims": carriers}

    # -- behaviour: what agents did -------------------------------------------------------------------------
    def feedback(self, memory_id: int, helpful: bool, *, query: str | None = None, agent: str | None = None) -> int:
        """Record whether a recalled memory helped (in behavior.db, with a `feedback.recorded` event there)."""
        memory_id = validation.clean_id(memory_id)
        if not isinstance(helpful, bool):
            raise InvalidInput(f"helpful must be true or false, got {helpful!r}")
        if query is not None:
            query = validation.clean_text(query, "query", validation.MAX_QUERY_BYTES)
        self.get(memory_id)
        agent = self._caller(agent)
        self._only_visible([memory_id])
        if helpful:
            with write_transaction(self.conn):
                self.trust.note_helpful(memory_id, self._principal_named(agent), datetime.now(UTC))
        event = self._event("feedback.recorded", agent, memory_id, {"helpful": helpful})
        return self.behavior.record_feedback(event, helpful, query)

    def record_recall(self, query: str, k: int, hits: list[Hit], *, agent: str | None = None) -> None:
        """Keep what was asked and what came back, in behavior.db, for later ranking work."""
        self.behavior.record_recall(
            time=validation.event_time(),
            query=query,
            k=k,
            results=[h.id for h in hits],
            agent=self._caller(agent),
            protocol=self.protocol,
        )

    def agent_connected(self, agent: str, client: dict | None = None) -> None:
        """An `agent.connected` event: who opened a session, through what, with which client."""
        event = self._event("agent.connected", self._caller(agent), None, validation.clean_meta(client or {}))
        with write_transaction(self.conn):
            self.events.append([event])

    def _caller(self, agent: object) -> str:
        """The name a call acts under, validated. Only the owner's faces (CLI, API) may act as "user"; without a
        name, an agent's face acts as its authenticated agent, else as "unknown"."""
        owner = self.protocol in OWNER_PROTOCOLS
        if agent is None:
            if self.verified_agent is not None:
                return self.verified_agent.name
            return validation.DEFAULT_AGENT if owner else validation.UNKNOWN_AGENT
        name = validation.clean_name(agent, "agent", validation.DEFAULT_AGENT)
        return name if owner else validation.refuse_owner_name(name, "agent")

    def _event(self, type_: str, agent: str, memory_id: int | None, payload: dict | None = None) -> Event:
        return Event(
            type=type_,
            agent=agent,
            protocol=self.protocol,
            time=validation.event_time(),
            memory_id=memory_id,
            payload=payload or {},
        )

    def reindex(self, model: str | Path | None = None, *, progress: Progress | None = None) -> int:
        """Re-embed every memory with `model` (default: the default model) in one transaction; return the count.

        Interrupted or failed, it leaves the database as it was, still bound to its old model.
        """
        from slm.embedding.embedder import Embedder

        spec = model_choice.spec_for(Path(model) if model is not None else None)
        embedder = Embedder(model_choice.model_file(spec))
        count, last = 0, 0
        with self.conn:
            vectors.drop_vector_table(self.conn)
            model_choice.bind_model(self.conn, spec, embedder.dim)
            while page := self.repo.contents(last, EMBED_BATCH):
                for (memory_id, _), (spans, matrix) in zip(
                    page, embed_chunked(embedder, [t for _, t in page]), strict=True
                ):
                    self.repo.insert_chunks(memory_id, spans, matrix)
                count, last = count + len(page), page[-1][0]
                faults.step("reindex.page")
                if progress:
                    progress(len(page))
            self.gaussians.clear()  # observations in the old model's space: start again from the new chunks
            gaussians.backfill(self.gaussians)
            faults.step("reindex.before_commit")
        self._embedder, self._index = embedder, None
        return count

    # -- reading --------------------------------------------------------------------------------------------
    def get(self, memory_id: int) -> MemoryRow:
        memory_id = validation.clean_id(memory_id)
        row = self.repo.get(memory_id)
        if row is None:
            raise NotFound(f"no memory with id {memory_id}", "see `slm list` for ids")
        return row

    def list(
        self,
        *,
        limit: int = 20,
        offset: int = 0,
        project: str | None = None,
        agent: str | None = None,
        tags: Iterable[str] | None = None,
        since: object = None,
        until: object = None,
        session: str | None = None,
    ) -> list[MemoryRow]:
        """Memories newest first, filtered like `recall`; `session`: only those said in that session."""
        limit = validation.clean_limit(limit, "limit", 10_000)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInput(f"offset must be a whole number ≥ 0, got {offset!r}")
        return self.repo.list(_filter(project, agent, tags, since, until, session=session), limit, offset)

    def count(
        self,
        *,
        project: str | None = None,
        agent: str | None = None,
        tags: Iterable[str] | None = None,
        since: object = None,
        until: object = None,
        session: str | None = None,
    ) -> int:
        """How many current memories match the filters of `list`."""
        return self.repo.count(_filter(project, agent, tags, since, until, session=session))

    def recall(
        self,
        query: str,
        k: int = 10,
        *,
        project: str | None = None,
        agent: str | None = None,
        tags: Iterable[str] | None = None,
        since: object = None,
        until: object = None,
        now: object = None,
        channels: Iterable[str] | None = None,
        weights: dict[str, float] | None = None,
        quarantined: bool = False,
        archived: bool = False,
        trust: bool = True,
        lifecycle: bool = True,
        as_of: object = None,
        ranker: ranking.Ranker | str | None = None,
    ) -> list[Hit]:
        """The k memories that best answer `query`, best first; each hit's `channels` explains its ranks.

        `now` is the asker's time: memories from after it are left out, as the asker cannot know them.
        `channels` picks a subset of `fusion.CHANNELS` (`fusion.DEFAULT_CHANNELS` by default) and `weights`
        overrides their fusion weights, for ablations and single-channel baselines. Relevance is weighted by each
        memory's trust and lifecycle position; quarantined and archived memories are left out unless asked for
        (`quarantined`, `archived`). Without `trust` or `lifecycle`, that weighing is skipped (for ablations).
        A memory ranks below any memory in the results whose claims superseded its own (an update outranks the
        fact it replaced; hits say `current`); `as_of` recalls what held at that time instead, earlier versions
        included.
        """
        query = validation.clean_text(query, "query", validation.MAX_QUERY_BYTES)
        k = validation.clean_limit(k)
        as_of = validation.parse_time(as_of, "as_of")
        flt = replace(_filter(project, agent, tags, since, until, now), live=lifecycle and not archived, as_of=as_of)
        if isinstance(ranker, str) and ranker != ranking.FUSION:
            raise InvalidInput(
                f"unknown ranker {ranker!r}", f"leave it out for the learned ranker, or use {ranking.FUSION!r}"
            )
        if channels is not None or weights is not None:  # an ablation: these channels, fused
            channels, weights, chosen = fusion.clean_channels(channels), fusion.clean_weights(weights), None
        else:
            chosen = ranking.configured() if ranker is None else None if ranker == ranking.FUSION else ranker
        seen = pipeline.Seen(trust, lifecycle, quarantined, archived)
        return pipeline.Recall(self).run(query, k, flt, now, seen, chosen, channels, weights)

    def recall_candidates(self, query: str, *, now: object = None) -> tuple[list, np.ndarray]:
        """The candidates of a default recall and their feature rows (`features.FEATURES`), to train the ranker."""
        flt = replace(_filter(None, None, None, None, None, now), live=True)
        return pipeline.Recall(self).features(query, now, flt)

    def _keyword_worker(self) -> ThreadPoolExecutor:
        """A thread with its own read-only connection: BM25 runs while the query is embedded and vector-searched.

        apsw and llama.cpp release the GIL, so on two cores the channels overlap instead of adding up.
        """
        if self._keyword_pool is None:
            self._keyword_repo = MemoryRepository(open_connection(self.path, readonly=True))
            self._keyword_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slm-keyword")
        return self._keyword_pool

    def _query_vector(self, query: str) -> np.ndarray:
        return graph.memory_vector(self._query_chunks(query))

    def _query_chunks(self, query: str) -> np.ndarray:
        """A long query is embedded chunk by chunk (its vector is their normalised mean), rather than cut."""
        spans = self.embedder.chunk_spans(query)
        return self.embedder.embed([query[s:e] for s, e in spans])

    def _synced_index(self) -> VectorIndex:
        if self._index is None:
            self._index = VectorIndex(self.embedder.dim)
        self._index.sync(self.conn, self.repo)
        return self._index

    def stats(self) -> dict:
        first, last = self.repo.time_range()
        return {
            "path": str(self.path),
            "memories": self.repo.count(),
            "chunks": self.repo.chunk_count(),
            "projects": self.repo.counts_by("project"),
            "agents": self.repo.counts_by("agent"),
            "kinds": self.repo.counts_by("kind"),
            "first": first,
            "last": last,
            "schema_version": migrations.schema_version(self.conn),
            "model": model_choice.recorded_model(self.conn),
            "dim": model_choice.recorded_dim(self.conn),
            "size_bytes": _db_size(self.path),
            "events": self.events.count(),
            **self._behavior_stats(),
        }

    # -- the knowledge graph --------------------------------------------------------------------------------
    def graph_build(self, *, progress: Progress | None = None) -> clusters.BuildReport:
        """Link memories stored before the graph existed, then rebuild the Leiden clusters (ids kept by overlap)."""
        self._link_unlinked(progress)
        built_at = validation.event_time()
        found, report = clusters.build(self.graph, self._texts, self._synced_index().mean_vectors)
        faults.step("graph.clustered")
        with write_transaction(self.conn):
            self.graph.replace_clusters(found, built_at)
            set_settings(self.conn, {CLUSTERS_BUILT: built_at})
            faults.step("graph.replaced")
        return report

    def relabel_clusters(self, cluster_ids: set[int]) -> None:
        """Labels and centroids of these clusters from the members they have now (after an erasure took some)."""
        with write_transaction(self.conn):
            clusters.relabel(self.graph, cluster_ids, self._texts, self._stored_mean_vectors)

    def _stored_mean_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Unit mean chunk vectors of a few memories, read from the store: loading the whole mirror for them would
        cost more (1.1 s at 100k)."""
        dim = model_choice.recorded_dim(self.conn) or 0
        found: dict = {}
        for part in erasure_sql.chunks(ids.tolist()):
            found |= portable_sql.embeddings(self.conn, part, dim)
        return np.vstack([graph.memory_vector(found[i][1]) if i in found else np.zeros(dim, np.float32) for i in ids])

    def _link_unlinked(self, progress: Progress | None) -> None:
        through = get_setting(self.conn, UNLINKED)
        if through is None:
            return
        index, after = self._synced_index(), 0
        while ids := self.graph.unlinked_ids(after, int(through), EMBED_BATCH):
            rows = [row for row in self.repo.get_many(ids) if row.superseded_by is None]
            vectors = index.mean_vectors(np.array([row.id for row in rows], np.int64))
            plans = graph.plan_similar(index, vectors)
            total = self.repo.row_count()
            with write_transaction(self.conn):
                for row, plan in zip(rows, plans, strict=True):
                    graph.link(self.graph, row.id, row, plan.stored, total)
            after = ids[-1]
            faults.step("graph.linked")
            if progress:
                progress(len(ids))
        with write_transaction(self.conn):
            self.conn.execute("DELETE FROM settings WHERE key = ?", (UNLINKED,))

    def _texts(self, ids: list[int]) -> dict[int, str]:
        return {row.id: row.content for row in self.repo.get_many(ids)}

    def graph_stale(self) -> bool:
        """Whether clusters should be rebuilt: never built, memories not yet linked, or a quarter unclustered."""
        if get_setting(self.conn, UNLINKED) is not None:
            return True
        memories = self.repo.count()
        if get_setting(self.conn, CLUSTERS_BUILT) is None:
            return memories >= clusters.MIN_SIZE
        return memories - self.graph.clustered_count() > max(20, memories // 4)

    def clusters(self, *, project: str | None = None, refresh: bool = True) -> list[dict]:
        """Top-level clusters, largest first, each with its sub-clusters; rebuilt first when stale (`refresh`).

        With `project`, sizes count that project's memories and clusters without any are left out.
        """
        if project is not None:
            project = validation.clean_name(project, "project", "")
        if refresh and self.graph_stale():
            self.graph_build()
        sizes = self.graph.sizes(project)
        rows = [row for row in self.graph.clusters() if sizes.get(row.id)]
        subs: dict[int, list[dict]] = {}
        for row in rows:
            if row.parent is not None:
                subs.setdefault(row.parent, []).append({"id": row.id, "label": row.label, "size": sizes[row.id]})
        summary = [
            {
                "id": row.id,
                "label": row.label,
                "size": sizes[row.id],
                "subclusters": sorted(subs.get(row.id, []), key=lambda c: (-c["size"], c["id"])),
            }
            for row in rows
            if row.parent is None
        ]
        return sorted(summary, key=lambda c: (-c["size"], c["id"]))

    def cluster(self, cluster_id: int, *, limit: int = 20) -> dict:
        """One cluster: its label, size, parent, sub-clusters, top entities and newest members."""
        cluster_id = validation.clean_id(cluster_id, "cluster id")
        limit = validation.clean_limit(limit, "limit", 10_000)
        row = self.graph.cluster(cluster_id)
        if row is None:
            raise NotFound(f"no cluster with id {cluster_id}", "see `slm graph clusters` for ids")
        members = self.graph.members(cluster_id)
        sizes = self.graph.sizes()
        named = self.graph.entities_of(members)
        counts: dict[str, int] = {}
        for found in named.values():
            for entity in found:
                counts[entity.name] = counts.get(entity.name, 0) + 1
        return {
            "id": row.id,
            "label": row.label,
            "size": len(members),
            "parent": row.parent,
            "built_at": row.built_at,
            "subclusters": sorted(
                (
                    {"id": c.id, "label": c.label, "size": sizes.get(c.id, 0)}
                    for c in self.graph.clusters()
                    if c.parent == row.id
                ),
                key=lambda c: (-c["size"], c["id"]),
            ),
            "entities": sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:10],
            "memories": self.repo.get_many(members[:limit]),
        }

    def neighbors(self, memory_id: int, *, limit: int = 20) -> dict:
        """A memory's entities, cluster and graph neighbours (strongest edges first)."""
        row = self.get(memory_id)
        limit = validation.clean_limit(limit, "limit", 10_000)
        strength: dict[int, dict[str, float]] = {}
        for edge in self.graph.edges_of([row.id]):
            other = edge.target if edge.source == row.id else edge.source
            strength.setdefault(other, {})[edge.kind] = edge.weight
        best = sorted(strength, key=lambda i: (-sum(strength[i].values()), i))[:limit]
        cluster, sub = self.graph.membership_of([row.id]).get(row.id, (None, None))
        return {
            "memory": row,
            "cluster": cluster,
            "subcluster": sub,
            "entities": [{"name": e.name, "kind": e.kind} for e in self.graph.entities_of([row.id]).get(row.id, [])],
            "neighbors": [
                {"memory": neighbour, "edges": strength[neighbour.id]} for neighbour in self.repo.get_many(best)
            ],
        }

    def graph_stats(self) -> dict:
        built = get_setting(self.conn, CLUSTERS_BUILT)
        every = self.graph.clusters()
        tops = sum(1 for c in every if c.parent is None)
        return {
            "entities": self.graph.entity_count(),
            "edges": self.graph.edge_counts(),
            "clusters": tops,
            "subclusters": len(every) - tops,
            "clustered": self.graph.clustered_count(),
            "clusters_built_at": built,
            "unlinked_memories": get_setting(self.conn, UNLINKED) is not None,
        }

    def _behavior_stats(self) -> dict:
        behavior = self.existing_behavior()
        feedback = behavior.feedback_counts() if behavior else {"helpful": 0, "unhelpful": 0}
        return {
            "behavior_path": str(behavior_path(self.path)),
            "recalls_logged": behavior.recall_count() if behavior else 0,
            "feedback_helpful": feedback["helpful"],
            "feedback_unhelpful": feedback["unhelpful"],
        }


def _from_days(value: float | None) -> str | None:
    """Days since 1970 (the lifecycle's clock) as ISO-8601 UTC; None for no value."""
    if value is None or value != value:
        return None
    return validation.format_time(datetime.fromtimestamp(value * 86400, UTC))


def _backfill_gaussians(conn) -> None:
    """Gaussians for multi-chunk memories stored before migration 0006 (once, when the store is next opened)."""
    repo = GaussianRepository(conn)
    if repo.backfill_pending():
        with write_transaction(conn):
            if repo.backfill_pending():  # again under the lock: another process may have done it meanwhile
                gaussians.backfill(repo)


def _backfill_claims(conn) -> None:
    """Claims of the memories stored before migration 0007, oldest first, so that later ones supersede them."""
    keeper = validity.ClaimKeeper(conn, TrustLedger(conn))
    if not keeper.repo.backfill_pending():
        return
    with write_transaction(conn):
        if keeper.repo.backfill_pending():
            said = [
                validity.Said(i, text, project, principal_of(agent, agent_id, protocol), event_time or created_at)
                for i, text, project, agent, created_at, event_time, agent_id, protocol
                in keeper.repo.current_memories_oldest_first()
            ]  # fmt: skip
            keeper.place(said, datetime.now(UTC))
            keeper.repo.backfill_done()
            faults.step("backfill.claims")


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


def _agent_name(name: object, what: str) -> str:
    """A name for an authenticated agent: any visible name but the owner's."""
    return validation.refuse_owner_name(validation.clean_name(name, what, ""), what)


def _given(item: dict, key: str, default: object) -> object:
    """The item's own value unless it left the key out (or None): an explicit "" is validated, not replaced."""
    value = item.get(key)
    return default if value is None else value


def _filter(project, agent, tags, since, until, now=None, *, session=None) -> MemoryFilter:
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


def _db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
