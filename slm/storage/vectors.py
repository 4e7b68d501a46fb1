"""The table of chunk embeddings, whose dimension is fixed by the embedding model: sqlite-vec's `vec0` on SQLite,
a pgvector `vector(dim)` column on PostgreSQL.

On SQLite the rowid is the chunk id and a trigger on `chunks` removes a vector with its chunk; on PostgreSQL
`chunk_id` references the chunk with ON DELETE CASCADE. Either way deleting a memory (which cascades to its chunks)
removes its vectors in the same transaction. pgvector's text form writes a float32 exactly (the shortest decimal
that reads back as the same float) and `vector_send` reads it back as its bytes, so vectors round-trip bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

TABLE = "chunk_vectors"


def vector_table_dim(conn) -> int | None:
    """The dimension the vector table was created with, or None when it does not exist yet."""
    if conn.backend == "postgres":
        row = conn.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = 'embedding'", (TABLE,)
        ).fetchone()
        return None if row is None else int(row[0])
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone()
    if row is None:
        return None
    declared = row[0].split("float[", 1)[1]
    return int(declared.split("]", 1)[0])


def create_vector_table(conn, dim: int) -> None:
    if conn.backend == "postgres":
        conn.execute(
            f"CREATE TABLE {TABLE} (chunk_id bigint PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE, "
            f"embedding vector({int(dim)}) NOT NULL)"
        )
        return
    with conn.transaction():
        conn.execute(f"CREATE VIRTUAL TABLE {TABLE} USING vec0(embedding float[{int(dim)}])")
        _create_delete_trigger(conn)


def ensure_delete_trigger(conn) -> None:
    """Put back the trigger that deletes a chunk's vector, if a migration rebuilt `chunks` without it (SQLite)."""
    if conn.backend == "postgres":
        return  # a foreign key with ON DELETE CASCADE, which no migration drops
    present = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name IN (?, 'chunks_vector_delete')", (TABLE,)
    ).fetchone()[0]
    if present == 1:  # the table without its trigger
        with conn.write_transaction():
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunks_vector_delete'").fetchone() is None:
                _create_delete_trigger(conn)


def _create_delete_trigger(conn) -> None:
    conn.execute(
        f"CREATE TRIGGER chunks_vector_delete AFTER DELETE ON chunks "
        f"BEGIN DELETE FROM {TABLE} WHERE rowid = old.id; END"
    )


def drop_vector_table(conn) -> None:
    """Remove every vector (to re-embed with another model); chunks go too, as they belong to the old model."""
    with conn.transaction():
        if conn.backend == "sqlite":
            conn.execute("DROP TRIGGER IF EXISTS chunks_vector_delete")
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute("DELETE FROM chunks")


def insert_vectors(conn, chunk_ids: list[int], vectors: np.ndarray) -> None:
    if conn.backend == "postgres":
        rows = zip(chunk_ids, _vector_texts(vectors), strict=True)
        conn.executemany(f"INSERT INTO {TABLE} (chunk_id, embedding) VALUES (?, CAST(? AS vector))", rows)
        return
    rows = (
        (cid, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
        for cid, vec in zip(chunk_ids, vectors, strict=True)
    )
    conn.executemany(f"INSERT INTO {TABLE} (rowid, embedding) VALUES (?, ?)", rows)


def insert_chunks_pg(conn, memory_id: int, spans: list[tuple[int, int]], vectors: np.ndarray) -> None:
    """A memory's chunks and their vectors on PostgreSQL in one statement that returns nothing, so that a
    pipelined write transaction waits for no round trip (a chunk's RETURNING id cost one): the ids are drawn from
    the chunks' identity sequence in span order (the ORDER BY comes before nextval, which is volatile), as the
    inserts one by one drew them. A memory with nothing embedded writes nothing (a store without a model has no
    vector table yet)."""
    if not spans:
        return
    conn.execute(
        "WITH x AS (SELECT nextval(pg_get_serial_sequence('chunks', 'id')) AS id, s, e, v "
        "FROM unnest(CAST(? AS bigint[]), CAST(? AS bigint[]), CAST(? AS text[])) WITH ORDINALITY AS u(s, e, v, n) "
        'ORDER BY n), c AS (INSERT INTO chunks (id, memory_id, start, "end") SELECT id, ?, s, e FROM x) '
        f"INSERT INTO {TABLE} (chunk_id, embedding) SELECT id, CAST(v AS vector) FROM x",
        ([s for s, _ in spans], [e for _, e in spans], list(_vector_texts(vectors)), memory_id),
    )


def _vector_texts(vectors: np.ndarray) -> Iterator[str]:
    """pgvector's text form of each row (float32 written exactly: see the module's docstring)."""
    return ("[" + ",".join(map(repr, np.asarray(vec, dtype=np.float32).tolist())) + "]" for vec in vectors)


def count_vectors(conn, after_chunk: int = 0) -> int:
    return conn.execute("SELECT count(*) FROM chunks WHERE id > ?", (after_chunk,)).fetchone()[0]


def vector_pages(
    conn, dim: int, after_chunk: int = 0, page: int = 8192
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(chunk ids, memory ids, float32 matrix) of the vectors after `after_chunk`, a page at a time.

    Paging bounds the memory a full load needs to one page beyond the caller's own matrix.
    """
    while True:
        rows = conn.execute(
            f"SELECT c.id, c.memory_id, {embedding_column(conn)} FROM chunks AS c "
            f"JOIN {TABLE} AS v ON {key_column(conn)} = c.id WHERE c.id > ? ORDER BY c.id LIMIT ?",
            (after_chunk, page),
        ).fetchall()
        if not rows:
            return
        chunk_ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        memory_ids = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        matrix = matrix_of(conn, [r[2] for r in rows], dim)
        yield chunk_ids, memory_ids, matrix
        after_chunk = int(chunk_ids[-1])


def chunk_ids_through(conn, last_chunk: int) -> np.ndarray:
    """The ids of the chunks up to `last_chunk`, ascending (chunk ids are AUTOINCREMENT: never reused)."""
    rows = conn.execute("SELECT id FROM chunks WHERE id <= ? ORDER BY id", (last_chunk,)).fetchall()
    return np.fromiter((r[0] for r in rows), np.int64, len(rows))


def vectors_of(conn, chunk_ids: list[int], dim: int) -> dict[int, np.ndarray]:
    """The stored vectors of these chunks, by chunk id (missing ones are left out). One `rowid = ?` lookup a
    chunk: vec0 answers that from its rowid index but reads every vector for `rowid IN (…)` (16 chunks at 158k:
    0.2 ms against ~40 ms, paid by every process that checks the vector file)."""
    if conn.backend == "postgres":
        query = f"SELECT chunk_id, {embedding_column(conn)} FROM {TABLE} v WHERE chunk_id = ANY(?)"
        rows = conn.execute(query, (list(chunk_ids),)).fetchall()
    else:
        query = f"SELECT rowid, embedding FROM {TABLE} WHERE rowid = ?"
        rows = [row for chunk_id in chunk_ids for row in conn.execute(query, (chunk_id,))]
    return {r[0]: matrix_of(conn, [r[1]], dim)[0] for r in rows}


def key_column(conn, alias: str | None = "v") -> str:
    """The vector table's chunk id column (sqlite-vec's rowid, pgvector's `chunk_id`), as `alias` (None: bare)."""
    column = "chunk_id" if conn.backend == "postgres" else "rowid"
    return column if alias is None else f"{alias}.{column}"


def embedding_column(conn) -> str:
    """The vector of `v` as bytes: float32 (sqlite-vec), or pgvector's binary form (`vector_send`: a 4-byte header,
    then big-endian float32)."""
    return "vector_send(v.embedding)" if conn.backend == "postgres" else "v.embedding"


def vector(conn, blob: bytes) -> np.ndarray:
    """One chunk's float32 vector from `embedding_column`'s bytes, its dimension read from them."""
    return matrix_of(conn, [blob], -1)[0]


def matrix_of(conn, blobs: list[bytes], dim: int) -> np.ndarray:
    """The float32 rows of `embedding_column`'s bytes."""
    if conn.backend == "postgres":
        raw = np.frombuffer(b"".join(bytes(b)[4:] for b in blobs), dtype=">f4")
        return raw.astype(np.float32).reshape(len(blobs), dim)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)
