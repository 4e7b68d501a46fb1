"""`slm backup`: copies of memory.db (and behavior.db) slm remembers making, so an erasure can name them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from slm import validation
from slm.errors import InvalidInput
from slm.storage import backup as sql
from slm.storage.behavior import behavior_path

BACKUPS_DIR = "backups"


def backup(engine, target: Path | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
    """Copy the store (and its behaviour database, beside the copy) while agents may write; never overwrites."""
    sql.refuse_server(engine.conn)
    made_at = validation.now_utc()
    if target is None:
        stamp = made_at.replace(":", "").replace("-", "")
        target = engine.location.folder / BACKUPS_DIR / f"{engine.path.stem}-{stamp}.db"
    target = Path(target).expanduser().resolve()
    behavior_target = behavior_path(target)
    for path in (target, behavior_target):
        if path.exists():
            raise InvalidInput(f"{path} already exists", "name a new file: slm never overwrites a backup")
    if target == engine.path.resolve():
        raise InvalidInput("the backup would overwrite the store itself", "name another file")
    sql.copy_database(engine.conn, target, progress)
    behavior = engine.existing_behavior()
    if behavior is not None:
        sql.copy_database(behavior.conn, behavior_target)
    memories = engine.repo.row_count()
    with engine.conn.write_transaction():
        sql.record(engine.conn, target, made_at, memories)
    return {
        "path": str(target),
        "behavior_path": str(behavior_target) if behavior is not None else None,
        "made_at": made_at,
        "memories": memories,
        "bytes": target.stat().st_size,
    }


def known_backups(engine) -> list[dict]:
    """Backups slm made of this store that are still where it wrote them: they hold what an erasure removes."""
    return [{"path": p, "made_at": t, "memories": n} for p, t, n in sql.recorded(engine.conn) if Path(p).exists()]
