"""Moving memory in and out of a store: what the faces call (export, import, erasure, backups), and the narrow view
of the engine that `slm.portability` works on, so that it never holds the facade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slm.core import derivations
from slm.core.knowledge_graph import KnowledgeGraph
from slm.core.store import Store
from slm.core.writer import EMBED_BATCH, Given, Stored, Writer
from slm.embedding import choice as model_choice
from slm.portability import backups, erasure, exporter, importer
from slm.portability.erasure import Scope
from slm.portability.exporter import FORMATS, Selection, check_stream, open_target
from slm.portability.importer import MAX_PROBLEMS_SHOWN, ImportReport
from slm.storage.behavior import BehaviorRepository
from slm.storage.memories import NewMemory

__all__ = ["FORMATS", "MAX_PROBLEMS_SHOWN", "Scope", "Selection", "Transfers", "check_stream", "open_target"]


class Transfers:
    def __init__(self, store: Store, writer: Writer, graph: KnowledgeGraph) -> None:
        self.store = store
        self.conn, self.path, self.repo, self.graph = store.conn, store.path, store.repo, store.graph
        self.location = store.location  # where the receipts, the erasure key and lock, and backups go
        self._writer = writer
        self._knowledge = graph

    # -- what the faces call (the options are those of the slm.portability function named) ------------------------
    def export(self, stream, **options: Any) -> dict:
        return exporter.export(self, stream, **options)

    def export_markdown(self, folder: Path, **options: Any) -> dict:
        return exporter.export_markdown(self, folder, **options)

    def import_file(self, path: Path, **options: Any) -> ImportReport:
        return importer.import_file(self, path, **options)

    def select_erasure(self, scope: Scope) -> list[int]:
        return erasure.select(self, scope)

    def erase(self, scope: Scope, **options: Any) -> dict:
        return erasure.erase(self, scope, **options)

    def erase_behavior(self, **options: Any) -> dict:
        return erasure.erase_behavior(self, **options)

    def verify_erasure(self, receipt_path: Path) -> dict:
        return erasure.verify(self, receipt_path)

    def finish_pending_erasures(self) -> list[dict]:
        return erasure.finish_pending(self)

    def backup(self, target: Path | None = None, **options: Any) -> dict:
        return backups.backup(self, target, **options)

    def known_backups(self) -> list[dict]:
        return backups.known_backups(self)

    # -- what slm.portability reads and writes through ------------------------------------------------------------
    @property
    def behavior(self) -> BehaviorRepository:
        return self.store.behavior

    def existing_behavior(self) -> BehaviorRepository | None:
        return self.store.existing_behavior()

    def model_identity(self) -> dict:
        """The embedding model as an export names it: its file name and dimension (loads the model)."""
        self.store.embedder  # noqa: B018 - loading it binds it to the store on first use
        return model_choice.identity(self.conn)

    def remember_many(self, items: list[dict], *, imported: bool = False) -> list[Stored]:
        return self._writer.remember_many(items, None, None, EMBED_BATCH, None, imported)

    def with_vectors(self, memories: list[NewMemory]) -> list[NewMemory]:
        """Embedded before an import takes the write lock."""
        return self._writer.with_vectors(memories)

    def derivation_rules(self) -> str | None:
        """The digest of the rules claims and entities are derived by (an import takes a file's only if equal)."""
        return derivations.rules()

    def derive(self, text: str, time: str) -> dict:
        """A memory's claims and entities as an export carries them."""
        return derivations.derive(text, time)

    def store_imported(self, memories: list[NewMemory], derived: list[dict | None], edges_of: set[int]) -> list[Stored]:
        """Stored as recorded (times, provenance), with the claims and entities the file carries (None: derive
        them); no edges among `edges_of` and the new ones, which the import sets from its file."""
        given = Given(
            [None if d is None else derivations.claims_of(d["claims"]) for d in derived],
            [None if d is None else derivations.entities_of(d["entities"]) for d in derived],
            edges_of,
        )
        return self._writer.insert(memories, imported=True, given=given)

    def link_imported_versions(self, pairs: list[tuple[int, int]]) -> None:
        self._writer.link_imported_versions(pairs)

    def purge(self, ids: list[int], *, agent: str, receipt: str) -> dict[str, int]:
        return self._writer.purge(ids, agent=agent, receipt=receipt)

    def relabel_clusters(self, cluster_ids: set[int]) -> None:
        self._knowledge.relabel(cluster_ids)
