"""Sentence embeddings for memories: the converted MiniLM run by llama.cpp, never truncating an input.

`Llama.embed` silently cuts every input to n_batch tokens, so the limit is enforced here instead: texts
over `max_tokens` raise, and `chunk_spans` splits long texts into pieces that each fit.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from slm import config
from slm.errors import InvalidInput, ModelError

# sentence-transformers' max_seq_length for all-MiniLM-L6-v2: the model was trained on ≤ 256 word pieces.
MAX_TOKENS = 256
# Word pieces per llama.cpp decode, shared by several short texts. Must hold one MAX_TOKENS text; larger
# batches measured no faster on 2 cores (attention cost grows with the batch) and need more memory.
DEFAULT_BATCH_TOKENS = 256
# Word pieces repeated at the start of the next chunk so a sentence cut at a boundary is still found.
OVERLAP_TOKENS = 32
# Initial window for cutting inside a space-less "word": a word piece rarely spans more characters.
_CHARS_PER_TOKEN_WINDOW = 6

# Coarsest first: sentence ends and line breaks, then any whitespace; both cut after the whitespace.
_BREAKS = (re.compile(r"(?<=[.!?;:])\s+|\n\s*"), re.compile(r"\s+"))

_GGML_LOG_ERROR = 4  # ggml.h's numbering; llama_cpp._logger's comment still documents the old one
_LOAD_HINT = "delete the file so slm converts the bundled model again"
_recent_llama_log: deque[str] = deque(maxlen=20)


class Embedder:
    """One loaded embedding model; calls are serialised because a llama.cpp context is not thread-safe."""

    def __init__(
        self, model_path: Path, *, batch_tokens: int = DEFAULT_BATCH_TOKENS, threads: int | None = None
    ) -> None:
        if batch_tokens < MAX_TOKENS:
            raise ValueError(f"batch_tokens must be at least {MAX_TOKENS}")
        self._model_path = Path(model_path)
        self._lock = threading.Lock()
        self._threads = threads or config.embed_threads()
        self._batch_tokens = batch_tokens
        self._llm = _load(self._model_path, batch_tokens, self._threads)
        self._threads_now = self._threads
        self._dim = int(self._llm.n_embd())
        arch = self._llm.metadata.get("general.architecture")
        self._max_tokens = min(MAX_TOKENS, int(self._llm.metadata.get(f"{arch}.context_length", MAX_TOKENS)))

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        """Longest input in word pieces, counting [CLS] and [SEP]."""
        return self._max_tokens

    @property
    def model_path(self) -> Path:
        return self._model_path

    def count_tokens(self, text: str) -> int:
        """Word pieces `text` becomes, with [CLS] and [SEP]."""
        return self._count(text, special=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, shape (len(texts), dim); InvalidInput if any text is too long."""
        return self._embed_counted(texts, [self.count_tokens(text) for text in texts])

    def embed_chunked(self, texts: list[str]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """Each text's chunk spans (`chunk_spans`) and their vectors, every chunk embedded in one batched call. A
        text that fits is counted once, not once to cut it and again to check it (a question's one text)."""
        spans, pieces, counts = [], [], []
        for text in texts:
            n = self.count_tokens(text)
            text_spans = [(0, len(text))] if n <= self._max_tokens else self._long_spans(text)
            spans.append(text_spans)
            pieces += [text[s:e] for s, e in text_spans]
            counts += [n] if len(text_spans) == 1 else [self.count_tokens(text[s:e]) for s, e in text_spans]
        matrix = self._embed_counted(pieces, counts)
        out, at = [], 0
        for text_spans in spans:
            out.append((text_spans, matrix[at : at + len(text_spans)]))
            at += len(text_spans)
        return out

    def _embed_counted(self, texts: list[str], counts: list[int]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        for index, n in enumerate(counts):
            if n > self._max_tokens:
                raise InvalidInput(
                    f"text {index} is {n} word pieces, over the embedding model's limit of {self._max_tokens}",
                    "split it with Embedder.chunk_spans() and embed the pieces",
                )
        with self._lock:
            self._use_threads(1 if sum(counts) <= self._batch_tokens else min(self._threads, _idle_cores()))
            vectors = np.asarray(self._llm.embed(texts, truncate=False), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, np.finfo(np.float32).tiny)

    def _use_threads(self, threads: int) -> None:
        """One thread for what one llama.cpp decode holds (a question, a memory); for batches, every thread that
        has an idle core: llama.cpp's threads spin at each step until all arrive, so a thread waiting for a busy
        core stalls the others (a batch on 2 threads beside one busy process: docs/benchmarks.md, issue 20)."""
        if threads != self._threads_now:
            self._llm._ctx.set_n_threads(threads, threads)  # llama-cpp-python has no public setter
            self._threads_now = threads

    def embed_one(self, text: str) -> np.ndarray:
        """Vector of shape (dim,) for a single text."""
        return self.embed([text])[0]

    def chunk_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans covering `text`, each ≤ max_tokens, cut at sentence, then word, then character edges.

        Consecutive spans overlap by up to OVERLAP_TOKENS word pieces. Short texts cost one tokenisation.
        """
        return [(0, len(text))] if self.count_tokens(text) <= self._max_tokens else self._long_spans(text)

    def _long_spans(self, text: str) -> list[tuple[int, int]]:
        budget = self._max_tokens - 2  # [CLS] and [SEP]
        return self._pack(text, list(self._pieces(text, 0, len(text), budget, 0)), budget)

    def close(self) -> None:
        """Free the model now instead of at garbage collection."""
        self._llm.close()

    def _count(self, text: str, *, special: bool) -> int:
        with self._lock:
            return len(self._llm.tokenize(text.encode("utf-8"), add_bos=special, special=False))

    def _pack(self, text: str, units: list[tuple[int, int, int]], budget: int) -> list[tuple[int, int]]:
        """Greedily join consecutive units up to budget; each span restarts up to OVERLAP_TOKENS back.

        Summed counts are exact only across whitespace Python and llama.cpp agree on, so each span is
        re-counted and shrunk (never past the first unit it adds) in the rare case they disagree.
        """
        spans: list[tuple[int, int]] = []
        i = fresh = 0  # first unit of the span; first unit not yet in any span
        while fresh < len(units):
            j, used = i, 0
            while j < len(units) and used + units[j][2] <= budget:
                used += units[j][2]
                j += 1
            while j - i > 1 and self.count_tokens(text[units[i][0] : units[j - 1][1]]) > self._max_tokens:
                if j - 1 > max(i, fresh):
                    j -= 1
                else:
                    i += 1
            spans.append((units[i][0], units[j - 1][1]))
            first, fresh = i, j
            i = j
            if j < len(units):  # overlap, leaving room for the next unit so every span moves forward
                room, back = min(OVERLAP_TOKENS, budget - units[j][2]), 0
                while i - 1 > first and back + units[i - 1][2] <= room:
                    i -= 1
                    back += units[i][2]
        return spans

    def _pieces(self, text: str, start: int, end: int, budget: int, level: int) -> Iterator[tuple[int, int, int]]:
        """Consecutive (start, end, word pieces) units of text[start:end], each within budget."""
        if level == len(_BREAKS):
            yield from self._cut_word(text, start, end, budget)
            return
        cuts = [m.end() for m in _BREAKS[level].finditer(text, start, end) if start < m.end() < end]
        if not cuts:  # nothing to split at this level: skip re-counting the same text
            yield from self._pieces(text, start, end, budget, level + 1)
            return
        bounds = [start, *cuts, end]
        for a, b in itertools.pairwise(bounds):
            n = self._count(text[a:b], special=False)
            if n <= budget:
                yield a, b, n
            else:
                yield from self._pieces(text, a, b, budget, level + 1)

    def _cut_word(self, text: str, start: int, end: int, budget: int) -> Iterator[tuple[int, int, int]]:
        """Cut a space-less run by characters, guessing each piece's width from the previous one.

        Each piece is reported as a full budget: word pieces are not additive across a cut inside a word,
        so the packer must not join two such pieces.
        """
        widest = budget * _CHARS_PER_TOKEN_WINDOW
        width, pos = widest, start
        while pos < end:
            stop = min(end, pos + width)
            while (n := self._count(text[pos:stop], special=False)) > budget:
                stop = pos + max(1, int((stop - pos) * budget / n * 0.9))
            yield pos, stop, budget
            width = min(widest, max(1, int((stop - pos) * budget / max(n, 1) * 0.95)))
            pos = stop


def _idle_cores() -> int:
    """Cores with nothing to run right now but this thread, by Linux's count of runnable threads (which includes
    it: /proc/loadavg's fourth field); every core where that is unknown."""
    cores = os.cpu_count() or 1
    try:
        with open("/proc/loadavg", "rb") as loadavg:
            running = int(loadavg.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return cores
    return max(1, cores - (running - 1))


def _load(path: Path, batch_tokens: int, threads: int) -> Any:
    try:
        import llama_cpp
    except ImportError as err:
        raise ModelError("llama-cpp-python is not installed", "pip install llama-cpp-python") from err
    if not path.is_file():
        raise ModelError(f"embedding model not found: {path}", "ensure_default_model() converts the bundled model")
    parallel = min(batch_tokens, llama_cpp.llama_max_parallel_sequences())
    if batch_tokens % parallel:  # else llama.cpp aborts the whole process while reserving its graph
        raise ValueError(f"batch_tokens must be a multiple of {parallel}")
    _silence_llama_log(llama_cpp)
    _recent_llama_log.clear()
    try:
        llm = llama_cpp.Llama(
            str(path),
            embedding=True,
            pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
            n_ctx=batch_tokens,
            n_batch=batch_tokens,
            n_ubatch=batch_tokens,  # a non-causal model must see each sequence in one micro-batch
            flash_attn=True,  # without it attention over a multi-text batch is 1.3-3x slower on CPU (measured)
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except (ValueError, RuntimeError) as err:
        detail = "; ".join(_recent_llama_log) or str(err)
        raise ModelError(f"cannot load embedding model {path}: {detail}", _LOAD_HINT) from err
    arch = llm.metadata.get("general.architecture")
    if llm.metadata.get(f"{arch}.attention.causal") != "false":
        llm.close()
        raise ModelError(f"{path} is not an embedding model (architecture {arch!r} is causal)", _LOAD_HINT)
    return llm


def _silence_llama_log(llama_cpp: Any) -> None:
    """Keep llama.cpp's C-level log off stderr; its recent errors are kept for ModelError messages."""
    global _log_callback
    if _log_callback is None:

        @llama_cpp.llama_log_callback
        def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            if level == _GGML_LOG_ERROR:
                _recent_llama_log.append(text.decode("utf-8", "replace").strip())

        _log_callback = callback  # ctypes callbacks must outlive their registration
    llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))


_log_callback: Any = None
