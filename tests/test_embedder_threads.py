"""llama.cpp thread policy of the Embedder: short inputs on one thread, batches only on cores nothing else wants."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from slm.embedding.conversion import ensure_default_model
from slm.embedding.embedder import Embedder

NOTES = [
    "Deploys to production need two approvals; staging deploys need one.",
    "The billing service retries webhooks three times with exponential backoff.",
    "We picked Postgres over MySQL for the ledger because of its transactional DDL.",
]
BATCH = NOTES * 10 + ["word " * 200]  # more than one llama.cpp decode holds


@pytest.fixture(scope="module")
def model(data_dir: Path) -> Path:
    return ensure_default_model(data_dir)  # converted once per session, with tests/test_embeddings.py


@pytest.fixture(scope="module")
def embedder(model: Path) -> Iterator[Embedder]:
    loaded = Embedder(model, threads=2)
    yield loaded
    loaded.close()


@pytest.fixture
def every_core_busy() -> Iterator[None]:
    """A busy-loop process per core, running until the test ends."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.3)  # the interpreters start and spin
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_short_input_runs_on_one_thread(embedder: Embedder) -> None:
    embedder.embed(BATCH)
    embedder.embed(NOTES[:1])
    assert embedder._threads_now == 1


def test_batch_beside_busy_cores_runs_on_one_thread(embedder: Embedder, every_core_busy: None) -> None:
    """Threads that would wait for a busy core at every llama.cpp step are not started; the vectors are the same."""
    on_one = embedder.embed(BATCH)
    assert embedder._threads_now == 1
    embedder._use_threads(2)  # what the batch ran on before it looked for idle cores
    on_two = np.asarray(embedder._llm.embed(BATCH, truncate=False), dtype=np.float32)
    on_two /= np.linalg.norm(on_two, axis=1, keepdims=True)
    assert np.sum(on_one * on_two, axis=1).min() > 0.99999


def test_configured_threads_are_a_ceiling(model: Path) -> None:
    one = Embedder(model, threads=1)
    try:
        one.embed(BATCH)
        assert one._threads_now == 1
    finally:
        one.close()
