"""The numpy MiniLM that embeds a one-shot query: the same word pieces as llama.cpp's tokenizer, vectors that agree
with llama.cpp's, and a store that searches with it without loading llama.cpp (and gives the same answers)."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slm import Memory
from slm.embedding import query_encoder
from slm.embedding.conversion import ensure_default_model
from slm.embedding.embedder import Embedder

AGREEMENT = 0.99999  # cosine to llama.cpp's vector of the same text (measured: ≥ 0.9999995 on LongMemEval's questions)
QUERIES = [
    "What did I say about my vet visit and the flea medication cost?",
    "pytest -q --maxfail=1 failed: ImportError in conftest.py!! what now",
    "Where's the URL for staging? https://api.example.com/v2/items?id=3&x=y#top",
    "don't use unittest; we've switched to pytest (2024-05-01) @alice ~/src/app_config.yaml",
    "ALLCAPS MixedCase snake_case kebab-case CamelCaseWords 3.14159 1e-9 0x1F",
    "supercalifragilisticexpialidocious antidisestablishmentarianism qzxqzxqzx",
    "",
    "   \t\n  ",
    "a",
    "$%^&*()[]{}<>|\\`~",
]


@pytest.fixture(scope="module")
def llama(data_dir: Path) -> Embedder:
    return Embedder(ensure_default_model(data_dir), threads=1)


@pytest.fixture(scope="module")
def numpy_encoder(data_dir: Path) -> query_encoder.QueryEncoder:
    encoder = query_encoder.loaded()
    assert encoder is not None, "the packaged model did not load"
    return encoder


def _agrees(text: str, encoder: query_encoder.QueryEncoder, llama: Embedder) -> None:
    assert encoder.tokenize(text) == list(llama._llm.tokenize(text.encode(), add_bos=True, special=False))
    ours = encoder.encode(text)
    assert ours is not None and ours.dtype == np.float32 and ours.shape == (llama.dim,)
    assert float(ours @ llama.embed_one(text)) >= AGREEMENT


@pytest.mark.parametrize("text", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_word_pieces_and_vectors_agree_with_llama_cpp(text, numpy_encoder, llama) -> None:
    _agrees(text, numpy_encoder, llama)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " \t\n\r", max_size=120))
def test_any_plain_ascii_agrees(numpy_encoder, llama, text: str) -> None:
    _agrees(text, numpy_encoder, llama)


@pytest.mark.parametrize(
    "text", ["Café crème", "東京 tower", "tab\x0bbed", "bell\x07", "nul\x00", "a " * 300],
    ids=["accents", "cjk", "vertical-tab", "bell", "nul", "over-256-pieces"],
)  # fmt: skip
def test_what_it_does_not_take_goes_to_llama_cpp(text, numpy_encoder) -> None:
    assert numpy_encoder.encode(text) is None


def test_a_search_loads_no_llama_cpp_and_finds_the_same(db_path) -> None:
    notes = ["The staging deploy needs the VPN connected.", "Tabs over spaces in every editor.", "Flea pills cost $40."]
    with Memory.open(db_path) as mem:
        for note in notes:
            mem.remember(note)
        with_llama = [(hit.id, round(hit.score, 4)) for hit in mem.recall("how much was the flea medicine?", k=3)]
    with Memory.open(db_path) as mem:
        without = [(hit.id, round(hit.score, 4)) for hit in mem.recall("how much was the flea medicine?", k=3)]
        assert mem.store._embedder is None  # the query never needed llama.cpp
        mem.recall("Café au lait", k=1)
        assert mem.store._embedder is not None  # not ASCII: llama.cpp embedded it
    assert without == with_llama


def test_another_model_is_never_stood_in_for(db_path, monkeypatch) -> None:
    with Memory.open(db_path) as mem:
        mem.remember("The staging deploy needs the VPN connected.")
    with Memory.open(db_path) as mem:
        assert mem.store._quick_query_vector("staging deploy") is not None
        monkeypatch.setenv("SLM_MODEL", "/elsewhere/model.gguf")
        assert mem.store._quick_query_vector("staging deploy") is None  # asked for another model
        monkeypatch.delenv("SLM_MODEL")
        mem.store.conn.execute("UPDATE settings SET value = '/elsewhere/model.gguf' WHERE key = 'embedding.model'")
        assert mem.store._quick_query_vector("staging deploy") is None  # bound to another model
