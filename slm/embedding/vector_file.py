"""The vector mirror on disk (`memory.db.vectors`): a one-shot process maps it instead of reading 100k rows of vec0.

The file is a snapshot: a header, the chunk ids, their memory ids, the float32 matrix and its int8 codes
(`quantised`), written to a temporary file, synced and renamed over the old one, so a reader sees a whole file
or none. It is never trusted on its own: `VectorIndex` checks it against the store before use
(docs/ARCHITECTURE.md, "The vector file").
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slm import faults
from slm.embedding import quantised

MAGIC = b"SLMVEC03"  # 01 had no int8 codes; 02 sampled scattered rows for its checksum
# magic, dim, crc32 of what follows, rows, newest chunk id, model, crc32 of the header: 104 bytes, so arrays align
_HEADER = struct.Struct("<8sIIQQ64sQ")
Rows = Callable[[np.ndarray], np.ndarray]  # row numbers -> their vectors
# The checksum covers 16 runs of 16 rows (all of it would cost ~0.2 s a read at 100k): touching a row of the mapped
# file maps its whole page-cache folio (up to 2 MB on this kernel), so 256 scattered rows put ~750 MB of the file
# in a one-shot recall's RSS at 1.58M rows, and 16 runs put ~50 MB.
_SAMPLED_RUNS, _RUN_ROWS = 16, 16


@dataclass(frozen=True)
class Snapshot:
    chunk_ids: np.ndarray
    memory_ids: np.ndarray
    matrix: np.ndarray  # memory-mapped, read-only
    codes: np.ndarray  # the matrix as int8 codes, memory-mapped, read-only

    @property
    def newest_chunk(self) -> int:
        return int(self.chunk_ids[-1]) if len(self.chunk_ids) else 0


SUFFIX = ".vectors"  # memory.db -> memory.db.vectors


def path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + SUFFIX)


def read(path: Path, dim: int, model: str) -> Snapshot | None:
    """The snapshot in `path`, or None when there is none or it is torn, corrupt, or of another model."""
    try:
        with open(path, "rb") as file:
            header = file.read(_HEADER.size)
            size = os.fstat(file.fileno()).st_size
    except OSError:
        return None
    if len(header) < _HEADER.size:
        return None
    magic, file_dim, body_crc, rows, newest, file_model, header_crc = _HEADER.unpack(header)
    if magic != MAGIC or zlib.crc32(header[:-8]) != header_crc:
        return None
    if file_dim != dim or file_model != _model_field(model) or size != _HEADER.size + rows * _row_bytes(dim):
        return None
    if rows == 0:
        return None
    mapped = np.memmap(path, mode="r", offset=_HEADER.size, shape=(rows * _row_bytes(dim),), dtype=np.uint8)
    chunk_ids = mapped[: 8 * rows].view(np.int64)
    memory_ids = mapped[8 * rows : 16 * rows].view(np.int64)
    codes_at = (16 + 4 * dim) * rows
    matrix = np.asarray(mapped[16 * rows : codes_at].view(np.float32).reshape(rows, dim))
    codes = np.asarray(mapped[codes_at:].view(np.int8).reshape(rows, dim))
    if _checksum(chunk_ids, memory_ids, matrix.__getitem__, codes.__getitem__) != body_crc or chunk_ids[-1] != newest:
        return None
    return Snapshot(chunk_ids, memory_ids, matrix, codes)


def write(path: Path, chunk_ids: np.ndarray, memory_ids: np.ndarray, take: Rows, dim: int, model: str) -> bool:
    """Replace the file with these rows (`take(rows)` gives their vectors), atomically; False when the folder
    cannot take it (read-only, full)."""
    rows = len(chunk_ids)
    chunk_ids = np.ascontiguousarray(chunk_ids, np.int64)
    memory_ids = np.ascontiguousarray(memory_ids, np.int64)
    newest = int(chunk_ids[-1]) if rows else 0
    checksum = _checksum(chunk_ids, memory_ids, take, lambda rows: quantised.quantise(take(rows)))
    fields = (MAGIC, dim, checksum, rows, newest, _model_field(model))
    head = _HEADER.pack(*fields, 0)[:-8]
    _remove_abandoned(path)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(head + struct.pack("<Q", zlib.crc32(head)))
            file.write(chunk_ids.tobytes())
            file.write(memory_ids.tobytes())
            matrix_at = file.tell()
            codes_at = matrix_at + 4 * dim * rows
            for start in range(0, rows, 8192):  # a page at a time: no second copy of the whole matrix
                page = np.ascontiguousarray(take(np.arange(start, min(start + 8192, rows))), np.float32)
                file.seek(matrix_at + 4 * dim * start)
                file.write(page.tobytes())
                file.seek(codes_at + dim * start)
                file.write(quantised.quantise(page).tobytes())
            file.flush()
            os.fsync(file.fileno())
        faults.step("vector_file.written")
        os.replace(temporary, path)
        return True
    except OSError:
        temporary.unlink(missing_ok=True)
        return False


def discard(path: Path) -> None:
    """Delete the file (after an erasure it holds the erased memories' vectors); the next reader rebuilds it."""
    path.unlink(missing_ok=True)


def _remove_abandoned(path: Path) -> None:
    """Temporary files of writers that died before renaming theirs (a live writer's is left alone)."""
    for temporary in path.parent.glob(f"{path.name}.*.tmp"):
        pid = temporary.name[len(path.name) + 1 : -len(".tmp")]
        if pid.isdigit() and not _running(int(pid)):
            temporary.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _model_field(model: str) -> bytes:
    """The model spec as a fixed field: long paths keep their end, the part that names the file."""
    encoded = model.encode("utf-8")
    return encoded[-64:].ljust(64, b"\0")


def _row_bytes(dim: int) -> int:
    return 16 + 5 * dim  # chunk id, memory id, float32 vector, int8 codes


def _checksum(chunk_ids: np.ndarray, memory_ids: np.ndarray, take: Rows, take_codes: Rows) -> int:
    crc = zlib.crc32(memory_ids.tobytes(), zlib.crc32(chunk_ids.tobytes()))
    if len(chunk_ids):
        starts = np.linspace(0, max(len(chunk_ids) - _RUN_ROWS, 0), _SAMPLED_RUNS).astype(np.int64).tolist()
        runs = (row for start in starts for row in range(start, min(start + _RUN_ROWS, len(chunk_ids))))
        sampled = np.fromiter(dict.fromkeys(runs), np.int64)  # ascending; np.unique would import numpy.ma
        crc = zlib.crc32(np.ascontiguousarray(take(sampled), np.float32).tobytes(), crc)
        crc = zlib.crc32(np.ascontiguousarray(take_codes(sampled), np.int8).tobytes(), crc)
    return crc
