"""The work an older store needs once, when it is first opened by this slm: its migrations, then the Gaussians of
memories stored before migration 0006 and the claims of those stored before 0007.

At 100k memories these take seconds, so each reports through `progress` (what is being done, how many done, of
how many), which the faces turn into a progress bar (CLI) or log lines (servers); the engine shows nothing itself.
Each runs in one write transaction: killed half way, it is done again whole on the next open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slm import faults
from slm.recall import gaussians
from slm.storage import migrations
from slm.storage.claims import ClaimRepository
from slm.storage.gaussians import GaussianRepository
from slm.trust.ledger import TrustLedger, principal_of

Progress = Callable[[str, int, int], None]  # (what is being done, how many done, of how many): validity's too
MIGRATING = "upgrading the database"  # the migrations' stage; counted in migrations
GAUSSIANS = "Gaussians of older memories"  # counted in chunks read


def migrate(conn, progress: Progress | None) -> None:
    """Apply the pending migrations; an existing store (not a new one) reports each."""
    told = progress if progress is not None and migrations.schema_version(conn) > 0 else None
    migrations.migrate(conn, progress=None if told is None else lambda done, total: told(MIGRATING, done, total))


def backfill_gaussians(conn, progress: Progress | None) -> None:
    """Gaussians for multi-chunk memories stored before migration 0006 (once, when the store is next opened)."""
    repo = GaussianRepository(conn)
    if repo.backfill_pending():
        with conn.write_transaction():
            if repo.backfill_pending():  # again under the lock: another process may have done it meanwhile
                told = None if progress is None else lambda done, total: progress(GAUSSIANS, done, total)
                gaussians.backfill(repo, told)


def backfill_claims(conn, progress: Progress | None) -> None:
    """Claims of the memories stored before migration 0007, oldest first, so that later ones supersede them."""
    if not ClaimRepository(conn).backfill_pending():
        return
    from slm.facts import validity  # here: every open checks, but only an upgrade needs the claim rules

    keeper = validity.ClaimKeeper(conn, TrustLedger(conn))
    with conn.write_transaction():
        if keeper.repo.backfill_pending():
            statements = [
                validity.Statement(i, text, project, principal_of(agent, agent_id, protocol), event_time or created_at)
                for i, text, project, agent, created_at, event_time, agent_id, protocol
                in keeper.repo.current_memories_oldest_first()
            ]  # fmt: skip
            keeper.place(statements, datetime.now(UTC), progress=progress)
            keeper.repo.backfill_done()
            faults.step("backfill.claims")
