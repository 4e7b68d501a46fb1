"""The trust ledger: turns what principals do (write, correct, delete, mark helpful) into signals and keeps the
posteriors, the signal log and per-memory trust. Every `note_*` method runs inside the caller's write transaction,
so trust changes commit or roll back with the action that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from slm.storage.trust import MemoryTrustRow, PrincipalState, SignalRow, TrustRepository
from slm.trust import model

BURST_WRITES = 30  # writes a principal may make in BURST_SECONDS before each further one is a burst signal
BURST_SECONDS = 60
USUAL_AFTER = 20  # writes before a principal has usual projects at all
USUAL_WRITES = 2  # a project with this many of its writes is one of its usual projects
DELETE_SOON_HOURS = 24
CORROBORATE_MIN = 0.85  # cosine at which two texts may state the same fact (then content.same_fact decides)
DUPLICATE_MIN = 0.95  # cosine at which a principal's new text repeats one of its own (with the same values)
FLOOD_HOURS = 1  # ... written this recently: repeating older notes is not flooding
DOUBT = {"instruction": 30.0, "directive": 1.5}  # 30 quarantines whatever the author and vouchers: (3+3)/36 < 0.2
# A flagged memory weighs on itself (its doubt); its author is judged only on repetition: from the principal's
# second flagged memory within FLAG_WINDOW_DAYS (among its last FLAG_LOOKBACK signals; approved ones do not count).
# One flag is what an honest agent's team convention may also get; two in a month seldom are.
FREE_FLAGS = 1
FLAG_WINDOW_DAYS = 30
FLAG_LOOKBACK = 200
FLAGGED = "flagged"  # the log entry of a flag that did not move its author's trust (weight 0)
JUDGE_MARGIN = 0.2  # an agent's correction or deletion counts against an author it out-trusts by this much


def principal_of(agent: str, agent_id: int | None, protocol: str) -> str:
    """Who earns trust for a write: an authenticated agent by id; the owner at the CLI or API; else the name."""
    if agent_id is not None:
        return f"agent:{agent_id}"
    if agent == model.USER and protocol in ("cli", "api"):
        return model.USER
    return f"name:{agent}"


@dataclass(frozen=True)
class NewWrite:
    """A memory just written, as trust judges it: who wrote what, where."""

    memory_id: int
    principal: str
    project: str
    text: str


@dataclass(frozen=True)
class NearbyMemory:
    """An existing memory close to a new one: its id, cosine, text and when it was stored."""

    memory_id: int
    score: float
    text: str
    created_at: str


class TrustLedger:
    def __init__(self, conn) -> None:
        self.repo = TrustRepository(conn)

    # -- reading ------------------------------------------------------------------------------------------------
    def voice(self, principal: str) -> float:
        """How much a signal raised by `principal` counts: its standing, or double a full one for the user."""
        if principal == model.USER:
            return model.USER_VOICE
        return model.standing(principal, self.trust(principal))

    def judges(self, by: str, author: str) -> float:
        """The weight of `by`'s correction or deletion of `author`'s memory: the user's voice; an agent's only when
        it out-trusts the author by JUDGE_MARGIN (a peer, or a fresh name, cannot push another into quarantine)."""
        if by == model.USER:
            return model.USER_VOICE
        voice = self.voice(by)
        return voice if voice >= self.trust(author) + JUDGE_MARGIN else 0.0

    def trust(self, principal: str) -> float:
        if principal == model.USER:
            return model.USER_TRUST
        state = self.repo.state(principal)
        return model.Posterior(state.alpha, state.beta).trust if state else model.fresh(principal).trust

    def memory_trusts(self, ids: list[int]) -> dict[int, float]:
        """Each memory's trust, from its author's current posterior (ids without a trust row are left out)."""
        rows = self.repo.memories(ids)
        authors = self._author_trusts()
        return {i: self._score(row, authors) for i, row in rows.items()}

    def quarantined(self) -> list[tuple[int, float]]:
        """Current memories below the quarantine line that the user has not approved, lowest trust first."""
        authors = self._author_trusts()
        low = [p for p, t in authors.items() if model.quarantined(t)]
        scored = [(row.memory_id, self._score(row, authors)) for row in self.repo.unreviewed_current(low)]
        return sorted(((i, t) for i, t in scored if model.quarantined(t)), key=lambda pair: (pair[1], pair[0]))

    def _author_trusts(self) -> dict[str, float]:
        return {p: a / (a + b) for p, (a, b) in self.repo.posteriors().items()}

    def _score(self, row: MemoryTrustRow, authors: dict[str, float]) -> float:
        support = sum(model.standing(p, _current(p, authors)) for p in row.endorsers)
        return float(model.memory_trust(_current(row.principal, authors), support, row.doubt, row.approved))

    def trust_array(self, ids: np.ndarray) -> np.ndarray:
        """`memory_trusts` of many memories at once, as an array aligned with the sorted `ids` (a lifecycle step
        reads every memory); memories without a trust row count as fully trusted."""
        authors = self._author_trusts()
        rows = self.repo.all_memories()
        row_ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        author = np.fromiter((_current(r[1], authors) for r in rows), np.float64, len(rows))
        doubt = np.fromiter((r[2] for r in rows), np.float64, len(rows))
        approved = np.fromiter((r[3] for r in rows), bool, len(rows))
        support = np.zeros(len(rows))
        endorsements = self.repo.all_endorsements()
        if endorsements:
            voice = {p: model.standing(p, _current(p, authors)) for p in {p for _, p in endorsements}}
            endorsed = np.array([memory_id for memory_id, _ in endorsements], np.int64)
            at = np.searchsorted(row_ids, endorsed).clip(0, max(len(row_ids) - 1, 0))
            known = row_ids[at] == endorsed if len(row_ids) else np.zeros(len(endorsed), bool)
            np.add.at(support, at[known], np.array([voice[p] for _, p in endorsements])[known])
        trusts = np.ones(len(ids))
        place = np.searchsorted(row_ids, ids).clip(0, max(len(row_ids) - 1, 0))
        known = row_ids[place] == ids if len(row_ids) else np.zeros(len(ids), bool)
        scored = model.memory_trust(author, support, doubt, approved)
        trusts[known] = scored[place[known]]
        return trusts

    # -- signals ------------------------------------------------------------------------------------------------
    def signal(
        self,
        principal: str,
        name: str,
        now: datetime,
        reason: str,
        *,
        memory_id: int | None = None,
        source: str | None = None,
        scale: float = 1.0,
    ) -> None:
        """Update the principal's posterior by one signal and log it (the user is not scored)."""
        if principal == model.USER:
            return
        state = self._state(principal, now)
        prior = model.prior_of(principal)
        before = model.Posterior(state.alpha, state.beta, state.drift, state.signals)
        elapsed = (now - _parse(state.updated_at)).total_seconds() / 86400
        weight = model.SIGNALS[name] * scale
        after, changed = model.update(before, prior, weight, elapsed)
        stamp = _format(now)
        self.repo.save_state(
            replace(
                state, alpha=after.alpha, beta=after.beta, drift=after.drift, signals=after.signals, updated_at=stamp
            )
        )
        self.repo.add_signal(
            SignalRow(0, principal, stamp, name, weight, memory_id, source, reason, after.alpha, after.beta)
        )
        if changed:
            reason = "a run of bad signals: change point, most earlier good evidence dropped"
            self.repo.add_signal(
                SignalRow(0, principal, stamp, "change_point", 0.0, memory_id, None, reason, after.alpha, after.beta)
            )

    def _state(self, principal: str, now: datetime) -> PrincipalState:
        state = self.repo.state(principal)
        if state is not None:
            return state
        fresh = model.fresh(principal)
        return PrincipalState(principal, fresh.alpha, fresh.beta, 0.0, 0, _format(now), None, 0)

    # -- what principals do -------------------------------------------------------------------------------------
    def note_writes(
        self, batch: list[tuple[NewWrite, list[NearbyMemory]]], now: datetime, count_bursts: bool = True
    ) -> list[tuple[int, int]]:
        """The new memories of one call: trust rows, corroborations, content flags, then per principal one
        burst count, at most one flooding signal and one unusual-project signal per project. Returns the
        corroborations made, as (memory corroborated, the new memory that states it again).

        Counting a call once keeps a deliberate bulk import from reading as a spam burst; a spammer calling
        the MCP tool once per memory is counted per memory. An import (`count_bursts=False`) replays writes
        made long ago, and its pace says nothing of their authors.
        """
        flooding: dict[str, int] = {}
        directives: dict[str, int] = {}
        corroborated: list[tuple[int, int]] = []
        for written, near in batch:
            self.repo.add_memory(written.memory_id, written.principal)
            repeat = self._compare(written, near, now, corroborated)
            if repeat is not None:
                flooding.setdefault(written.principal, repeat)
            self._flag_content(written, now, directives)
        by_principal: dict[str, list[NewWrite]] = {}
        for written, _ in batch:
            by_principal.setdefault(written.principal, []).append(written)
        for principal, writes in by_principal.items():
            if principal == model.USER:
                continue
            if count_bursts:
                self._count_burst(writes[0], now)
            if principal in flooding:
                reason = f"memory {flooding[principal]} repeats one of its own from the last {FLOOD_HOURS} h"
                self.signal(principal, "duplicate", now, reason, memory_id=flooding[principal])
            first_per_project: dict[str, NewWrite] = {}
            for written in writes:
                first_per_project.setdefault(written.project, written)
            for written in first_per_project.values():
                self._check_project(written, now)
        for written, _ in batch:
            self.repo.count_write(written.principal, written.project)
        return corroborated

    def _compare(
        self, written: NewWrite, near: list[NearbyMemory], now: datetime, corroborated: list[tuple[int, int]]
    ) -> int | None:
        """Corroborate close memories by others that state the same fact (added to `corroborated`); the new
        memory's id if it repeats one of its own author's recent memories."""
        from slm.trust import content  # write-time only: its patterns cost a one-shot recall ~30 ms to compile

        authors = self.repo.memories([n.memory_id for n in near])
        repeats = False
        for other in near:
            author = authors.get(other.memory_id)
            if author is None:
                continue
            same = content.same_fact(written.text, other.text)
            if author.principal == written.principal:
                hours = (now - _parse(other.created_at)).total_seconds() / 3600
                repeats |= other.score >= DUPLICATE_MIN and same and hours <= FLOOD_HOURS
            elif other.score >= CORROBORATE_MIN and same:
                if self.corroborate(other.memory_id, author.principal, written.principal, written.memory_id, now):
                    corroborated.append((other.memory_id, written.memory_id))
                self.repo.endorse(written.memory_id, author.principal, "corroborated")  # support, but no signal
        return written.memory_id if repeats else None

    def note_repeat(self, memory_id: int, principal: str, now: datetime) -> bool:
        """Someone wrote exactly the text of a current memory again: corroboration if it was someone else's (then
        True). Its own exact text again stores nothing and says nothing: `remember` is idempotent, so a client may
        retry it freely (near-copies with other words are still flooding, in `_compare`)."""
        row = self.repo.memory(memory_id)
        if row is None or row.principal == principal:
            return False
        return self.corroborate(memory_id, row.principal, principal, memory_id, now)

    def corroborate(self, memory_id: int, author: str, by: str, evidence: int, now: datetime) -> bool:
        """`by` states independently what `author` wrote first: the earlier author earns it, never the later
        writer, who may have copied (restating others' memories must not be a way to gain trust). False when
        `by` had already corroborated it (each principal counts once)."""
        if not self.repo.endorse(memory_id, by, "corroborated"):
            return False
        weight = self.voice(by)
        reason = f"memory {memory_id} corroborated by {by} (memory {evidence})"
        self.signal(author, "corroborated", now, reason, memory_id=memory_id, source=by, scale=weight)
        return True

    def _flag_content(self, written: NewWrite, now: datetime, directives: dict[str, int]) -> None:
        """Instruction-like text: doubt on the memory (enough to quarantine an instruction on its own). Its author
        is judged only on repetition — from its second flagged memory within FLAG_WINDOW_DAYS, a signal (a weak
        directive at most once per call); until then the flag is logged with no weight."""
        from slm.trust import content

        found = content.flags(written.text) if written.principal != model.USER else []
        if not found:
            return
        strongest = found[0].signal
        self.repo.add_doubt(written.memory_id, DOUBT[strongest])
        patterns = ", ".join(flag.pattern for flag in found)
        reason = f"memory {written.memory_id} reads as {strongest}s to agents ({patterns})"
        earlier = self._flagged_since(written.principal, now - timedelta(days=FLAG_WINDOW_DAYS), written.memory_id)
        if earlier < FREE_FLAGS:
            self._log(written.principal, FLAGGED, now, f"{reason}: weighs on the memory alone, as its author's "
                      f"first flagged memory in {FLAG_WINDOW_DAYS} days", written.memory_id)  # fmt: skip
            return
        if (
            strongest == "directive"
            and directives.setdefault(written.principal, written.memory_id) != written.memory_id
        ):
            self._log(written.principal, FLAGGED, now, f"{reason}: one directive signal per call", written.memory_id)
            return
        reason = f"{reason}, {earlier + 1} flagged memories in {FLAG_WINDOW_DAYS} days"
        self.signal(written.principal, strongest, now, reason, memory_id=written.memory_id)

    def _flagged_since(self, principal: str, since: datetime, memory_id: int) -> int:
        """The principal's other flagged memories since then that the user has not approved."""
        flag_names = {FLAGGED, "instruction", "directive"}
        rows = self.repo.signals_of(principal, FLAG_LOOKBACK)
        ids = {
            r.memory_id
            for r in rows
            if r.signal in flag_names and r.memory_id not in (None, memory_id) and _parse(r.time) >= since
        }
        approved = {i for i, row in self.repo.memories(sorted(ids)).items() if row.approved}
        return len(ids - approved)

    def _log(self, principal: str, name: str, now: datetime, reason: str, memory_id: int | None) -> None:
        """A log entry that moves no posterior (weight 0), for `slm trust explain` and for counting flags."""
        state = self._state(principal, now)
        row = SignalRow(0, principal, _format(now), name, 0.0, memory_id, None, reason, state.alpha, state.beta)
        self.repo.add_signal(row)

    def _count_burst(self, written: NewWrite, now: datetime) -> None:
        state = self._state(written.principal, now)
        if state.burst_at is None or (now - _parse(state.burst_at)).total_seconds() > BURST_SECONDS:
            state = replace(state, burst_at=_format(now), burst_writes=0)
        state = replace(state, burst_writes=state.burst_writes + 1)
        self.repo.save_state(state)
        if state.burst_writes > BURST_WRITES:
            reason = f"write {state.burst_writes} within {BURST_SECONDS} s (more than {BURST_WRITES})"
            self.signal(written.principal, "burst", now, reason, memory_id=written.memory_id)

    def _check_project(self, written: NewWrite, now: datetime) -> None:
        here, total = self.repo.project_writes(written.principal, written.project)
        if total >= USUAL_AFTER and here < USUAL_WRITES:
            reason = f"wrote to project {written.project!r}, where it had written {here} of its {total} memories"
            self.signal(written.principal, "out_of_project", now, reason, memory_id=written.memory_id)

    def note_update(self, old_id: int, new_id: int, by: str, now: datetime) -> None:
        """A memory was superseded: a correction of its author when the corrector is trusted at least as much."""
        old = self.repo.memory(old_id)
        if old is None or old.principal == by:
            return
        weight = self.judges(by, old.principal)
        if weight > 0:
            reason = f"memory {old_id} corrected by {by} (memory {new_id})"
            self.signal(old.principal, "superseded", now, reason, memory_id=old_id, source=by, scale=weight)

    def note_delete(self, rows: list[tuple[int, str]], by: str, now: datetime) -> None:
        """Memories about to be deleted, with their creation times: early deletions by others count against."""
        authors = self.repo.memories([memory_id for memory_id, _ in rows])
        judged: set[str] = set()  # once per author per call: a clean-up of today's notes is one verdict
        for memory_id, created_at in rows:
            author = authors.get(memory_id)
            if author is None or author.principal == by or author.principal in judged:
                continue
            hours = (now - _parse(created_at)).total_seconds() / 3600
            weight = self.judges(by, author.principal)
            if hours <= DELETE_SOON_HOURS and weight > 0:
                judged.add(author.principal)
                reason = f"memory {memory_id} deleted by {by} {hours:.1f} h after it was written"
                self.signal(author.principal, "deleted_soon", now, reason, memory_id=memory_id, source=by, scale=weight)

    def note_helpful(self, memory_id: int, by: str, now: datetime) -> bool:
        """A helpful mark from someone other than the author, counted once per principal; True if it counted."""
        row = self.repo.memory(memory_id)
        if row is None or row.principal == by or not self.repo.endorse(memory_id, by, "helpful"):
            return False
        weight = self.voice(by)
        reason = f"memory {memory_id} marked helpful by {by}"
        self.signal(row.principal, "helpful", now, reason, memory_id=memory_id, source=by, scale=weight)
        return True

    def approve(self, memory_id: int, now: datetime) -> None:
        row = self.repo.memory(memory_id)
        if row is None or not self.repo.approve(memory_id):
            return  # approving again is no new evidence
        reason = f"memory {memory_id} approved out of quarantine by the user"
        self.signal(row.principal, "approved", now, reason, memory_id=memory_id, source=model.USER)

    def reject(self, memory_id: int, now: datetime) -> None:
        row = self.repo.memory(memory_id)
        if row is None:
            return
        reason = f"memory {memory_id} rejected from quarantine by the user"
        self.signal(row.principal, "rejected", now, reason, memory_id=memory_id, source=model.USER)


def _current(principal: str, trusts: dict[str, float]) -> float:
    """A principal's trust from the posteriors read for this query (the user's is fixed; unseen ones are fresh)."""
    if principal == model.USER:
        return model.USER_TRUST
    return trusts.get(principal, model.fresh(principal).trust)


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
