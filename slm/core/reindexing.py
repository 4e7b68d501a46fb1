"""Re-embedding a whole store with another model, all or nothing."""

from __future__ import annotations

from pathlib import Path

from slm import faults
from slm.core.store import Store
from slm.core.writer import EMBED_BATCH, Progress, embed_chunked
from slm.embedding import choice as model_choice
from slm.recall import gaussians
from slm.storage import vectors


def reindex(store: Store, model: str | Path | None, progress: Progress | None) -> int:
    """Every memory re-embedded in one write transaction (the store's write lock, so other processes' mirrors see
    the new vectors); interrupted or failed, the store keeps its old model."""
    from slm.embedding.embedder import Embedder

    spec = model_choice.spec_for(Path(model) if model is not None else None)
    embedder = Embedder(model_choice.model_file(spec))
    count, last = 0, 0
    with store.conn.write_transaction():
        vectors.drop_vector_table(store.conn)
        model_choice.bind_model(store.conn, spec, embedder.dim)
        while page := store.repo.contents(last, EMBED_BATCH):
            for (memory_id, _), (spans, matrix) in zip(
                page, embed_chunked(embedder, [t for _, t in page]), strict=True
            ):
                store.repo.insert_chunks(memory_id, spans, matrix)
            count, last = count + len(page), page[-1][0]
            faults.step("reindex.page")
            if progress:
                progress(len(page))
        store.gaussians.clear()  # observations in the old model's space: start again from the new chunks
        gaussians.backfill(store.gaussians)
        faults.step("reindex.before_commit")
    store.replace_embedder(embedder)
    return count
