"""Claims in time: what each new memory claims, which older claims it supersedes, and the contradiction check of
every component it touched (slm/trust/contradictions.py).

An update in time closes the older claim instead of deleting it: a claim that says it is a change ("moved to",
"no longer", "since ..."), one with a later explicit time, or a new value from the same author (a correction)
supersedes the current claims it disagrees with. A claim telling of an earlier time than the current one is
history from the start. What is left, two current claims from different authors that disagree with nothing saying
which came after, is never settled silently: the sheaf check flags it for review, and a trust signal goes against
the source that carries most of the disagreement (never simply the newer one).

Every method runs inside the caller's write transaction; the checks in savepoints of their own, so a failing
check is logged and rolled back without taking the write with it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from slm import validation
from slm.facts import claims
from slm.storage.claims import ClaimRepository, ClaimRow, ContradictionRow
from slm.trust import contradictions
from slm.trust import model as trust_model
from slm.trust.ledger import TrustLedger

log = logging.getLogger(__name__)
ALIGN_MIN = 0.75  # cosine of the neighbours compared for aligned statements (two texts one value apart: ≥ 0.8)
Key = tuple[str, str, str]  # subject, attribute, project
Progress = Callable[[str, int, int], None]  # (what is being done, how many done, of how many): for a face to show
T = TypeVar("T")
FINDING = "finding claims"
PARALLEL_FROM = 5000  # statements: fewer are found in this process (a pool costs ~0.5 s to start)
PART = 500  # statements a worker process is given at a time
MAX_WORKERS = 8


@dataclass(frozen=True)
class Statement:
    """A stored memory whose claims are to be placed."""

    memory_id: int
    text: str
    project: str
    principal: str
    time: str  # when it happened (event time) or was stored
    neighbours: tuple[int, ...] = ()  # the most similar stored memories (from the write's vector search)
    found: tuple[claims.Claim, ...] | None = None  # its claims, when the caller has them (an import's file)


@dataclass(frozen=True)
class ContradictionChange:
    """A change in the contradictions, for the event log: type, memory id, payload (ids and numbers, no text)."""

    type: str
    memory_id: int | None
    payload: dict


class ClaimKeeper:
    def __init__(self, conn, ledger: TrustLedger) -> None:
        self.conn = conn
        self.repo = ClaimRepository(conn)
        self.ledger = ledger

    # -- writing ------------------------------------------------------------------------------------------------
    def place(
        self,
        statements: Iterable[Statement],
        now: datetime,
        also: set[Key] | None = None,
        progress: Progress | None = None,
    ) -> list[ContradictionChange]:
        """Claims of new memories, the supersessions they cause, then the checks (of `also` too); never raises.

        A memory that claims nothing and has no neighbours to align with changes only its own validity, which no
        other placing reads but an alignment: those are written together, before the next memory with neighbours
        and at the end. A backfill of 100k memories is mostly such ones (a write each cost it a second)."""
        statements = list(statements)
        found = _extract_all(statements, progress)
        placing = [(m, c) for m, c in zip(statements, found, strict=True) if c is not None]
        busy = [m.memory_id for m, c in placing if c or m.neighbours]
        trusts = self.ledger.memory_trusts(busy)  # placing claims sends no trust signal: read them once
        keys: set[Key] = set(also or ())
        quiet: list[Statement] = []
        for memory, made in _ticks(placing, "placing claims", progress):
            if not made and not memory.neighbours:
                quiet.append(memory)
                continue
            if memory.neighbours:  # its alignment reads the validity of earlier memories (and may claim for them)
                self._place_quiet(quiet)
            try:
                with self.conn.write_transaction():
                    keys |= self._place_one(memory, made, trusts.get(memory.memory_id, 1.0))
            except Exception:
                log.exception("claims of memory %s not placed; the memory is stored", memory.memory_id)
        self._place_quiet(quiet)
        return self.check(keys, now, progress)

    def _place_quiet(self, quiet: list[Statement]) -> None:
        """The validity of memories that claim nothing: from their own time, and open (they touch no other row)."""
        if not quiet:
            return
        try:
            with self.conn.write_transaction():
                self.repo.set_valid_from([(m.memory_id, m.time) for m in quiet])
                self.repo.refresh_validity([m.memory_id for m in quiet])
        except Exception:
            log.exception("validity of memories %s not set; they are stored", [m.memory_id for m in quiet])
        quiet.clear()

    def _place_one(self, memory: Statement, found: list[claims.Claim], trust: float) -> set[Key]:
        starts = {c: validation.format_time(c.when.replace(tzinfo=UTC)) if c.when else memory.time for c in found}
        self.repo.set_valid_from([(memory.memory_id, min(starts.values(), default=memory.time))])
        rows = []
        for claim in found:  # all stored before any supersedes: closing one closes the others it carries
            rows.append(self.repo.add(ClaimRow(
                0, memory.memory_id, claim.subject, claim.attribute, claim.value, claim.polarity, claim.single,
                claim.change, claim.rule, memory.project, memory.principal, starts[claim],
            )))  # fmt: skip
        rows += self._aligned(memory, {row.key for row in rows})
        held = trust_model.quarantined(trust)
        touched: set[int] = set()
        for row in rows:  # one closed along with an earlier one supersedes nothing (only if this memory was touched)
            if memory.memory_id not in touched or not self.repo.get_many([row.id])[0].valid_to:
                touched |= self._supersede(row, held)
        keys = {row.key for row in rows}
        self.repo.refresh_validity(sorted(touched | {memory.memory_id}))
        return keys

    def _aligned(self, memory: Statement, keys: set[Key]) -> list[ClaimRow]:
        """Slot claims for each similar memory of the project that says the same as this one but for one value
        (claims.aligned), unless the rules already compare the two; the neighbour gets its claim too."""
        rows = []
        for other in self.repo.memories_for_alignment(list(memory.neighbours)):
            other_id, text, project, time = other
            if other_id == memory.memory_id or project != memory.project:
                continue
            if keys & {c.key for c in self.repo.of_memories([other_id])}:
                continue  # the rules already compare the two
            slot = claims.aligned(text, memory.text)
            author = self.ledger.repo.memory(other_id) if slot is not None else None
            if author is None:
                continue
            old = ClaimRow(0, other_id, slot.subject, slot.attribute, slot.first, 1, True, False, "aligned",
                           project, author.principal, time)  # fmt: skip
            if not self.repo.has(old):
                self.repo.add(old)
            new = ClaimRow(0, memory.memory_id, slot.subject, slot.attribute, slot.second, 1, True, slot.change,
                           "aligned", project, memory.principal, memory.time)  # fmt: skip
            if not self.repo.has(new):
                rows.append(self.repo.add(new))
        return rows

    def _supersede(self, new: ClaimRow, held: bool = False) -> set[int]:
        """Close the current claims `new` replaces in time (or `new` itself, if it tells of an earlier time).
        A memory quarantined as it is written (`held`) closes only its own author's claims: a poisoned "since May
        it uses X" must not make the user's fact history while the user has not seen it; the check flags it
        instead. Returns the memories whose validity may have changed."""
        touched = set()
        for old in self.repo.rivals(new, limit=contradictions.MAX_CLAIMS * 4):
            if not _disagree(new, old):
                continue
            if new.valid_from < old.valid_from:
                self._close(new, old.valid_from, old.id)
                return touched | {new.memory_id}
            if new.principal == old.principal or (new.change and not held):
                self._close(old, new.valid_from, new.id)
                touched.add(old.memory_id)
        return touched

    def _close(self, claim: ClaimRow, at: str, by: int | None) -> None:
        """Close a claim and what its memory said only through it (the version of the value it drops, and that the
        subject uses that value at all: "uses PostgreSQL 15" goes whole when the database changes) or what the
        newer memory says again ("runs on Python 3.11" is history once "runs on Python 3.12" replaces it)."""
        self.repo.close(claim.id, at, by)
        newer = self.repo.get_many([by]) if by is not None else []
        restated = {(c.subject, c.attribute, c.value, c.polarity): c.id for c in self.repo.of_memories(
            [newer[0].memory_id]) if c.valid_to is None} if newer else {}  # fmt: skip
        for other in self.repo.of_memories([claim.memory_id]):
            if other.valid_to is not None:
                continue
            tied = other.subject == claim.subject and (
                other.attribute == f"{claim.value} version"
                or (other.attribute == "uses" and other.value == claim.value and claim.attribute != "uses")
            )
            again = restated.get((other.subject, other.attribute, other.value, other.polarity))
            if tied or again is not None:  # said only through the closed claim, or said again by its successor
                self.repo.close(other.id, at, again or by)

    def close_version(self, old_id: int, at: str) -> set[Key]:
        """`update` replaced memory `old_id`: what it claimed held until `at`. Returns the components to check."""
        keys = set()
        for claim in self.repo.of_memories([old_id]):
            if claim.valid_to is None:
                self.repo.close(claim.id, at, None)
                keys.add(claim.key)
        self.repo.close_memory(old_id, at)
        return keys

    def link_versions(self, old_id: int, new_id: int) -> None:
        """Point the old version's claims at the new version's claims about the same thing."""
        replacements = {c.key: c.id for c in self.repo.of_memories([new_id])}
        for claim in self.repo.of_memories([old_id]):
            if claim.superseded_by is None and claim.key in replacements:
                self.repo.close(claim.id, claim.valid_to, replacements[claim.key])

    def before_delete(self, memory_ids: list[int]) -> set[Key]:
        """Claims the deleted memories had superseded hold again; returns the components to check afterwards."""
        going = self.repo.of_memories(memory_ids)
        reopened = [c for c in self.repo.superseded_by_any([c.id for c in going]) if c.memory_id not in memory_ids]
        self.repo.reopen([c.id for c in reopened])
        self.repo.refresh_validity(sorted({c.memory_id for c in reopened}))
        return {c.key for c in going} | {c.key for c in reopened}

    # -- checking -----------------------------------------------------------------------------------------------
    def check(self, keys: Iterable[Key], now: datetime, progress: Progress | None = None) -> list[ContradictionChange]:
        """Check each of `keys` that can change (`disputable`): one with a single current value and no open
        contradiction has nothing to find or resolve."""
        noticed: list[ContradictionChange] = []
        keys = sorted(keys)
        try:
            keys = sorted(self.repo.disputable(keys))
        except Exception:
            log.exception("could not narrow the contradiction check; checking all %s keys", len(keys))
        for key in _ticks(keys, "checking for contradictions", progress):
            try:
                with self.conn.write_transaction():
                    noticed += self._check(key, now)
            except Exception:
                log.exception("contradiction check of %s failed; nothing else is affected", key)
        return noticed

    def _check(self, key: Key, now: datetime) -> list[ContradictionChange]:
        current = self.repo.current(*key, limit=contradictions.MAX_CLAIMS)
        existing = self.repo.open_for(*key)
        if len({(c.value, c.polarity) for c in current}) < 2 and existing is None:
            return []  # nothing can disagree (most components): no trust to read, no sheaf to build
        by_memory = self.ledger.memory_trusts(sorted({c.memory_id for c in current}))
        finding = contradictions.check(current, {c.id: by_memory.get(c.memory_id, 1.0) for c in current})
        if finding is not None and any(set(finding.residuals) <= s for s in self.repo.dismissed_sets(*key)):
            finding = None
        stamp = validation.format_time(now)
        if finding is None:
            if existing is None:
                return []
            self.repo.settle(existing.id, "resolved", stamp, "the claims no longer disagree")
            return [ContradictionChange("contradiction.resolved", None, {"contradiction": existing.id, "by": "claims"})]
        carriers = tuple((i, round(finding.residuals[i], 6)) for i in finding.carriers())
        if existing is not None:
            self.repo.record(replace(existing, severity=finding.severity, claims=carriers))
            return []
        row = ContradictionRow(0, *key, finding.severity, "open", stamp, None, None, carriers)
        contradiction_id = self.repo.record(row)
        rows = {c.id: c for c in current}
        newest = max((rows[i] for i in finding.residuals), key=lambda c: (c.valid_from, c.id))
        payload = {
            "contradiction": contradiction_id,
            "severity": round(finding.severity, 4),
            "claims": [i for i, _ in carriers],
            "memories": sorted({rows[i].memory_id for i in finding.residuals}),
        }
        verified = {c.principal: trust_model.kind_of(c.principal) != "claimed" for c in current}
        odd = contradictions.odd_one_out(finding, rows, verified)
        if odd is not None:
            reason = f"its claim disagrees with others in contradiction {contradiction_id}"
            self.ledger.signal(odd.principal, "contradicted", now, reason, memory_id=odd.memory_id)
            payload["against"] = odd.memory_id
        return [ContradictionChange("contradiction.found", newest.memory_id, payload)]

    # -- reviewing ----------------------------------------------------------------------------------------------
    def resolve(self, contradiction_id: int, keep: int | None, by: str, now: datetime) -> ContradictionRow:
        """The user's verdict: `keep` names the memory that is right (the other claims are superseded by it, a
        signal against their authors); without it the contradiction is dismissed (both may hold)."""
        row = self._open(contradiction_id)
        stamp = validation.format_time(now)
        if keep is None:
            self.repo.settle(row.id, "dismissed", stamp, f"dismissed by {by}: the claims may all hold")
            return self.repo.contradiction(row.id)
        carriers = self.repo.get_many([i for i, _ in row.claims])
        kept = [c for c in carriers if c.memory_id == keep]
        if not kept:
            memories = sorted({c.memory_id for c in carriers})
            raise ValueError(f"memory {keep} is not part of contradiction {row.id}; its memories are {memories}")
        winner = kept[0]
        for claim in carriers:
            if claim.memory_id != keep and _disagree(claim, winner):
                self._close(claim, stamp, winner.id)
                reason = f"the user kept memory {keep} over it in contradiction {row.id}"
                scale = self.ledger.judges(by, claim.principal)
                self.ledger.signal(claim.principal, "superseded", now, reason, memory_id=claim.memory_id, scale=scale)
        self.repo.refresh_validity(sorted({c.memory_id for c in carriers}))
        self.repo.settle(row.id, "resolved", stamp, f"{by} kept memory {keep}")
        return self.repo.contradiction(row.id)

    def _open(self, contradiction_id: int) -> ContradictionRow:
        row = self.repo.contradiction(contradiction_id)
        if row is None:
            raise LookupError(f"no contradiction with id {contradiction_id}")
        if row.status != "open":
            raise ValueError(f"contradiction {row.id} is already {row.status}: {row.resolution}")
        return row


def _disagree(a: ClaimRow, b: ClaimRow) -> bool:
    """Whether two claims about one subject and attribute cannot both hold."""
    if a.value == b.value:
        return a.polarity != b.polarity
    return a.single and b.single and a.polarity > 0 and b.polarity > 0


def _extract_all(statements: list[Statement], progress: Progress | None) -> list[list[claims.Claim] | None]:
    """Each statement's claims (None: extraction failed), in order. Many (a backfill) are shared among worker
    processes: extraction is pure Python, one core's work per process, and the order of placing is kept."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(statements) < PARALLEL_FROM or workers < 2:
        return [_extract(m) for m in _ticks(statements, FINDING, progress)]
    parts = [statements[start : start + PART] for start in range(0, len(statements), PART)]
    found: list[list[claims.Claim] | None] = []
    if progress is not None:
        progress(FINDING, 0, len(statements))
    import multiprocessing  # here: a write that finds a few claims never starts a pool (~10 ms of imports)
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the host process (a server, a user's program) may run threads a fork would copy mid-step
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for made in pool.map(_extract_part, parts):
            found += made
            if progress is not None:
                progress(FINDING, len(found), len(statements))
    return found


def _extract_part(statements: list[Statement]) -> list[list[claims.Claim] | None]:
    return [_extract(m) for m in statements]


def _extract(memory: Statement) -> list[claims.Claim] | None:
    if memory.found is not None:
        return list(memory.found)
    return extract_claims(memory.text, memory.time, memory.memory_id)


def extract_claims(text: str, time: str, memory_id: int | None = None) -> list[claims.Claim] | None:
    """A memory's claims as its write finds them, `time` its event or stored time (None: extraction failed)."""
    try:
        return claims.extract(text, now=_parse(time))
    except Exception:
        log.exception("claims of memory %s not extracted; the memory is stored", memory_id)
        return None


def _ticks(items: list[T], stage: str, progress: Progress | None) -> Iterator[T]:
    """The items, with `progress` told how far along they are: at the start, every 1% or so, and at the end."""
    if progress is None:
        yield from items
        return
    total = len(items)
    every = max(1, total // 100)
    for done, item in enumerate(items):
        if done % every == 0:
            progress(stage, done, total)
        yield item
    progress(stage, total, total)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(tzinfo=None)
