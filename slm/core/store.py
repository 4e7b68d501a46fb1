"""One open store: its connection and repositories, and what is loaded on first need (the embedding model, the
vector mirror, behavior.db, the keyword thread). Every service of the engine reads and writes through it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from slm import config
from slm.core import upgrades
from slm.embedding import choice as model_choice
from slm.embedding import vector_file
from slm.embedding.vector_index import VectorIndex
from slm.errors import NoStore, StorageError
from slm.graph import links
from slm.storage import vectors
from slm.storage.agents import AgentRepository
from slm.storage.behavior import BehaviorRepository
from slm.storage.claims import ClaimRepository
from slm.storage.db import StoreLocation, locate, open_db, storage_failure
from slm.storage.events import EventLog
from slm.storage.gaussians import GaussianRepository
from slm.storage.graph import GraphRepository
from slm.storage.lifecycle import LifecycleRepository
from slm.storage.memories import MemoryRepository
from slm.trust.ledger import TrustLedger


def driver_failure(err: BaseException) -> StorageError | None:
    """What a database driver's exception means as slm's `StorageError`, None if `err` is not one: faces report
    it without knowing the backend."""
    return storage_failure(err)


class Store:
    """The `Db` of one memory.db (`conn`) and a repository per table family; the model and indexes, lazily."""

    def __init__(self, conn, location: StoreLocation, model: Path | None = None, threads: int | None = None) -> None:
        self.conn = conn
        self.location = location
        self.path = location.database  # the database file: what the faces show
        self.repo = MemoryRepository(conn)
        self.events = EventLog(conn)
        self.graph = GraphRepository(conn)
        self.agents = AgentRepository(conn)
        self.trust = TrustLedger(conn)
        self.gaussians = GaussianRepository(conn)
        self.lifecycle = LifecycleRepository(conn)
        self.index: VectorIndex | None = None  # the vector mirror, once a search or a write needed it
        self.keyword_repo: MemoryRepository | None = None
        self._requested_model = model
        self._threads = threads or config.embed_threads()  # checks SLM_THREADS now: a search may never load llama.cpp
        self._embedder = None
        self._behavior: BehaviorRepository | None = None
        self._keyword_pool: ThreadPoolExecutor | None = None
        self.claim_repo = ClaimRepository(conn)  # what recall reads; the keeper that derives claims loads on need
        self._claims = None

    @classmethod
    def open(
        cls,
        path: str | Path | StoreLocation | None,
        *,
        model: Path | None,
        create: bool,
        threads: int | None,
        progress: upgrades.Progress | None = None,
    ) -> Store:
        """Open and migrate the database at `path` (default `$SLM_HOME/memory.db`); create it unless told not to.
        An older store is upgraded first, telling `progress` how far along it is (slm.core.upgrades)."""
        location = path if isinstance(path, StoreLocation) else locate(path)
        if not create and not location.exists():
            hint = "check the path, SLM_DB and SLM_HOME, or store a memory"
            raise NoStore(f"no slm database at {location.database}", hint)
        conn = open_db(location)
        try:
            upgrades.migrate(conn, progress)
            vectors.ensure_delete_trigger(conn)
            upgrades.backfill_gaussians(conn, progress)
            upgrades.backfill_claims(conn, progress)
            return cls(conn, location, model, threads)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        if self._keyword_pool is not None:
            self._keyword_pool.shutdown()
            self.keyword_repo.conn.close()
        if self._behavior is not None:
            self._behavior.close()
        self.conn.close()

    @property
    def claims(self):
        """Claims and their validity (`validity.ClaimKeeper`), imported on first need: a recall never needs it."""
        if self._claims is None:
            from slm.facts import validity

            self._claims = validity.ClaimKeeper(self.conn, self.trust)
        return self._claims

    # -- the embedding model ----------------------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from slm.embedding.embedder import Embedder

            spec = model_choice.choose_model(self.conn, self._requested_model, self.repo.count)
            embedder = Embedder(model_choice.model_file(spec), threads=self._threads)
            model_choice.bind_model(self.conn, spec, embedder.dim)
            self._embedder = embedder
        return self._embedder

    def replace_embedder(self, embedder) -> None:
        """After a reindex: the new model, and a mirror to be rebuilt from the new vectors."""
        self._embedder, self.index = embedder, None

    def query_chunks(self, query: str) -> np.ndarray:
        """A long query is embedded chunk by chunk (its vector is their normalised mean), rather than cut."""
        quick = self._quick_query_vector(query)
        if quick is not None:
            return quick[None, :]
        ((_, vectors),) = self.embedder.embed_chunked([query])
        return vectors

    def _quick_query_vector(self, query: str) -> np.ndarray | None:
        """The query's vector without loading llama.cpp, while this process has not (`query_encoder`): only for a
        store bound to the default model, and a query that encoder takes."""
        if self._embedder is not None or self._requested_model or config.model_override():
            return None
        if model_choice.recorded_model(self.conn) != model_choice.DEFAULT:
            return None
        from slm.embedding import query_encoder

        encoder = query_encoder.loaded()
        return None if encoder is None else encoder.encode(query)

    def query_vector(self, query: str) -> np.ndarray:
        return links.memory_vector(self.query_chunks(query))

    # -- the vector mirror ------------------------------------------------------------------------------------
    def synced_index(self) -> VectorIndex:
        """The vector mirror, caught up with what any process committed."""
        if self.index is None:
            model = model_choice.recorded_model(self.conn) or model_choice.DEFAULT
            dim = model_choice.recorded_dim(self.conn) if self._embedder is None else None
            file = None if self.location.on_server else self.location.beside(vector_file.SUFFIX)
            self.index = VectorIndex(dim or self.embedder.dim, file, model)
        self.index.sync(self.conn, self.repo)
        return self.index

    def mirror_new(self) -> None:
        """After a write committed: its vectors join this process's mirror, if one is loaded."""
        if self.index is not None:
            self.index.catch_up(self.conn)
            self.index.save_if_due()

    def unmirror(self, ids: list[int]) -> None:
        """After a deletion committed: its vectors leave this process's mirror (other processes reload theirs)."""
        if self.index is not None:
            self.index.remove_memories(ids)
            self.index.save_if_due()

    # -- the keyword thread -------------------------------------------------------------------------------------
    def keyword_worker(self) -> ThreadPoolExecutor:
        """A thread with its own read-only connection: BM25 runs while the query is embedded and vector-searched.

        apsw and llama.cpp release the GIL, so on two cores the channels overlap instead of adding up.
        """
        if self._keyword_pool is None:
            self.keyword_repo = MemoryRepository(open_db(self.location, readonly=True))
            self._keyword_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slm-keyword")
        return self._keyword_pool

    # -- behavior.db ------------------------------------------------------------------------------------------
    @property
    def behavior(self) -> BehaviorRepository:
        """The behaviour database beside this one (recalls and feedback), opened, or created, on first use."""
        if self._behavior is None:
            self._behavior = BehaviorRepository.open(self.location)
        return self._behavior

    def existing_behavior(self) -> BehaviorRepository | None:
        """The behaviour database if there is one: readers use this, so that looking never creates a file."""
        if self._behavior is None and not (self.location.on_server or self.location.behavior_db.exists()):
            return None
        return self.behavior
