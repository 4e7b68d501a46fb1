"""The default model (MiniLM) run in numpy for one short query, so a process that only searches (a prompt hook,
`slm recall`) need not import llama.cpp and load its model: ~50 ms instead of ~130 ms (docs/benchmarks.md,
"Hooks"). It reads the packaged safetensors the GGUF is converted from and tokenises as llama.cpp's WordPiece
does, for ASCII text only (other text, and text over the model's limit, goes to llama.cpp). Its vectors agree
with llama.cpp's to a cosine of 0.99999 (tests/test_query_encoder.py)."""

from __future__ import annotations

import json
import string
import struct
from functools import cache
from pathlib import Path

import numpy as np

from slm.errors import ModelError

_WHITESPACE = frozenset(" \t\n\r")
_PUNCTUATION = frozenset(string.punctuation)  # each its own word, as llama.cpp splits punctuation and symbols
_PRINTABLE = frozenset(string.ascii_letters + string.digits + string.punctuation) | _WHITESPACE
_GELU = 0.7978845608028654  # sqrt(2 / pi): ggml's tanh form of GELU, as llama.cpp runs it
MAX_TOKENS = 256  # as the Embedder: the model was trained on no more


class QueryEncoder:
    def __init__(self, source: Path) -> None:
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        self.heads, self.layers = int(config["num_attention_heads"]), int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = _safetensors(source / "model.safetensors")
        tokens = (source / "vocab.txt").read_text(encoding="utf-8").split("\n")  # not splitlines: U+2028 is a token
        if tokens[-1] == "":
            tokens.pop()
        # llama.cpp's vocabulary is BERT's with a word's first piece marked (U+2581) and "##" dropped from the rest:
        # two maps say the same without building 30,000 new strings (~20 ms of a one-shot process)
        self.firsts = dict(zip(tokens, range(len(tokens)), strict=True))
        self.rests = {token[2:]: i for i, token in enumerate(tokens) if token.startswith("##")}
        self.special = {name: self.firsts[name] for name in ("[CLS]", "[SEP]", "[UNK]")}
        self.longest = max(map(len, tokens))

    def encode(self, text: str) -> np.ndarray | None:
        """The unit vector of `text`, or None when it is not plain ASCII or over the model's limit."""
        if not text.isascii() or not _PRINTABLE.issuperset(text):
            return None
        ids = self.tokenize(text)
        if len(ids) > MAX_TOKENS:
            return None
        pooled = self._forward(ids).mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def tokenize(self, text: str) -> list[int]:
        """llama.cpp's WPM tokenizer (llama-vocab.cpp) on ASCII: lower-cased words split at whitespace and
        punctuation, each cut greedily into the longest pieces the vocabulary holds; a word with no cut is [UNK]."""
        ids = [self.special["[CLS]"]]
        for word in _words(text):
            ids += self._pieces(word) or [self.special["[UNK]"]]
        return [*ids, self.special["[SEP]"]]

    def _pieces(self, word: str) -> list[int]:
        pieces, at, vocab = [], 0, self.firsts
        while at < len(word):
            for end in range(min(len(word), at + self.longest), at, -1):
                if (found := vocab.get(word[at:end])) is not None:
                    pieces.append(found)
                    at, vocab = end, self.rests
                    break
            else:
                return []
        return pieces

    def _forward(self, ids: list[int]) -> np.ndarray:
        w, n = self.weights, len(ids)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        size = x.shape[1] // self.heads
        for layer in range(self.layers):
            at = f"encoder.layer.{layer}."
            q, k, v = (
                self._dense(x, f"{at}attention.self.{part}").reshape(n, self.heads, size).transpose(1, 0, 2)
                for part in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) * (size**-0.5)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attended = (scores / scores.sum(axis=-1, keepdims=True) @ v).transpose(1, 0, 2).reshape(n, -1)
            x = self._norm(x + self._dense(attended, f"{at}attention.output.dense"), f"{at}attention.output.LayerNorm")
            inner = self._dense(x, f"{at}intermediate.dense")
            inner = 0.5 * inner * (1.0 + np.tanh(_GELU * (inner + 0.044715 * inner * inner * inner)))
            x = self._norm(x + self._dense(inner, f"{at}output.dense"), f"{at}output.LayerNorm")
        return x

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.weights[f"{name}.weight"].T + self.weights[f"{name}.bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        centred = x - x.mean(axis=-1, keepdims=True)
        scaled = centred / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + self.eps)
        return scaled * self.weights[f"{name}.weight"] + self.weights[f"{name}.bias"]


@cache
def loaded() -> QueryEncoder | None:
    """The packaged model, once per process; None when it is not installed or not readable (llama.cpp then
    embeds the query, and reports what is wrong)."""
    from slm.embedding.conversion import minilm_source_dir

    try:
        return QueryEncoder(minilm_source_dir())
    except (ModelError, OSError, ValueError, KeyError, UnicodeDecodeError):
        return None


def _words(text: str) -> list[str]:
    words, word = [], []
    for char in text.lower():
        if char in _WHITESPACE or char in _PUNCTUATION:
            if word:
                words.append("".join(word))
                word = []
            if char in _PUNCTUATION:
                words.append(char)
        else:
            word.append(char)
    return [*words, "".join(word)] if word else words


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every float32 tensor of the file, mapped, not read: a query touches a few rows of the embedding table."""
    with open(path, "rb") as file:
        (size,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(size))
    mapped = np.memmap(path, mode="r", dtype=np.uint8)
    start = 8 + size
    return {
        name: np.asarray(mapped[start + info["data_offsets"][0] : start + info["data_offsets"][1]])
        .view(np.float32)
        .reshape(info["shape"])
        for name, info in header.items()
        if name != "__metadata__" and info["dtype"] == "F32"
    }
