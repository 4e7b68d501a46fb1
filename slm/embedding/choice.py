"""Which embedding model a database uses, and the guard that keeps vectors of two models from mixing.

The database records its model ('default' or the GGUF's absolute path) and dimension in `settings`. A request
for another model on a database that already holds memories is refused until `slm model reindex` re-embeds them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from slm import config
from slm.errors import ModelError
from slm.storage import settings, vectors

DEFAULT = "default"
MODEL_KEY = "embedding.model"
DIM_KEY = "embedding.dim"


def recorded_model(conn) -> str | None:
    return settings.get_setting(conn, MODEL_KEY)


def recorded_dim(conn) -> int | None:
    dim = settings.get_setting(conn, DIM_KEY)
    return int(dim) if dim else None


def choose_model(conn, requested: Path | None, memory_count: Callable[[], int]) -> str:
    """The model spec to load: the one asked for (argument or SLM_MODEL), else the recorded one, else default.
    The memories are counted only for a model other than the recorded one (a count costs ~20 ms at 100k)."""
    requested = requested or config.model_override()
    recorded = recorded_model(conn)
    if requested is None:
        return recorded or DEFAULT
    spec = spec_for(requested)
    if recorded and recorded != spec and (count := memory_count()):
        raise ModelError(
            f"this database's {count:,} memories were embedded with {recorded}, not {spec}",
            f"run `slm model reindex --model {spec}` to re-embed them, or drop the model option / SLM_MODEL",
        )
    return spec


def spec_for(requested: Path | None) -> str:
    return DEFAULT if requested is None else str(Path(requested).expanduser().resolve())


def model_file(spec: str) -> Path:
    """The GGUF for a spec, converting the default model on first use."""
    if spec == DEFAULT:
        from slm.embedding.conversion import ensure_default_model

        return ensure_default_model(config.data_dir())
    path = Path(spec)
    if not path.is_file():
        raise ModelError(f"embedding model file {path} does not exist", "check the path, or use the default model")
    return path


def bind_model(conn, spec: str, dim: int) -> None:
    """Record the model and create the vector table on first use; refuse a dimension the table cannot hold.

    A store already bound to this model is only read: a recall never waits for a writer's lock. Anything to
    write is decided again under the write lock, as several processes may bind a new database at the same moment.
    """
    if _bound(conn, spec, dim):
        return
    with conn.write_transaction():
        if _bound(conn, spec, dim):
            return
        if vectors.vector_table_dim(conn) is None:
            vectors.create_vector_table(conn, dim)
        if (recorded_model(conn), recorded_dim(conn)) != (spec, dim):
            settings.set_settings(conn, {MODEL_KEY: spec, DIM_KEY: str(dim)})


def _bound(conn, spec: str, dim: int) -> bool:
    """True when the store holds this model's vectors and says so; a table of another dimension is refused."""
    table_dim = vectors.vector_table_dim(conn)
    if table_dim is not None and table_dim != dim:
        raise ModelError(
            f"model {spec} makes {dim}-d vectors but this database holds {table_dim}-d vectors",
            f"run `slm model reindex --model {spec}` to re-embed every memory with it",
        )
    return table_dim == dim and (recorded_model(conn), recorded_dim(conn)) == (spec, dim)


def identity(conn) -> dict | None:
    """The store's model as an export names it (file name and dimension), None before the first memory; the
    default model's name is known without converting it."""
    spec, dim = recorded_model(conn), recorded_dim(conn)
    if spec is None or dim is None:
        return None
    if spec == DEFAULT:
        from slm.embedding.conversion import default_model_path

        return {"name": default_model_path(config.data_dir()).name, "dim": dim}
    return {"name": Path(spec).name, "dim": dim}
