"""The `Memory` facade: the public Python API of the CLI, the MCP server, the TUI and the benchmarks. Each method
hands over to the service that owns the work (docs/ARCHITECTURE.md, "The map")."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

import numpy as np

from slm.core import reading, recaller, upgrades
from slm.core.callers import Caller
from slm.core.reading import Filters
from slm.core.recaller import RecallOptions
from slm.core.store import Store
from slm.errors import InvalidInput
from slm.lifecycle import steps as lifecycle
from slm.recall.hits import Hit
from slm.storage import erasure as erasure_sql
from slm.storage.agents import AgentRow
from slm.storage.behavior import BehaviorRepository
from slm.storage.events import Event
from slm.storage.memories import MemoryFilter, MemoryRow

if TYPE_CHECKING:
    from slm.core.agents import Agents
    from slm.core.aging import Aging
    from slm.core.behaviour import Behaviour
    from slm.core.browsing import Browsing, Listed
    from slm.core.capturing import CaptureReport, ImportReport
    from slm.core.contradictions import Contradictions
    from slm.core.knowledge_graph import KnowledgeGraph
    from slm.core.learning import Learning
    from slm.core.projects import Projects
    from slm.core.reviews import Reviews
    from slm.core.transfers import Transfers
    from slm.core.writer import Progress, Stored, Writer
    from slm.graph import clusters
    from slm.recall.signals import Signals

log = logging.getLogger("slm")


class Memory:
    """One user's memory store. Open with `Memory.open()`; use as a context manager to close it. `protocol` names
    the face it is used through (api, cli, mcp-stdio, mcp-http): with each call's agent, the provenance recorded."""

    LIFECYCLE_STEP_SECONDS = lifecycle.STEP_EVERY_DAYS * 86400  # a step is due this long after the last one

    def __init__(self, store: Store, protocol: str = "api") -> None:
        self.store = store
        self._caller = Caller(store, protocol)
        # the repositories, for tests and benchmarks that look inside (faces use the methods below)
        self.conn, self.path, self.repo, self.events = store.conn, store.path, store.repo, store.events
        self.location = store.location  # where it lives: what reopens it (a file, or a PostgreSQL URL)
        self.graph, self.agents, self.trust = store.graph, store.agents, store.trust
        self.gaussians, self.lifecycle = store.gaussians, store.lifecycle
        self.finished_erasures: list[dict] = []  # receipts of interrupted erasures this open finished
        self.erasure_problem: Exception | None = None  # why an interrupted erasure could not be finished on open

    @property
    def claims(self):
        return self.store.claims

    # -- the services, each imported and made on first use: a one-shot recall needs none of them (~30 ms) ----------
    @functools.cached_property
    def _writer(self) -> Writer:
        from slm.core.writer import Writer

        return Writer(self.store, self._caller)

    @functools.cached_property
    def _agents(self) -> Agents:
        from slm.core.agents import Agents

        return Agents(self._caller)

    @functools.cached_property
    def _reviews(self) -> Reviews:
        from slm.core.reviews import Reviews

        return Reviews(self._caller, self._writer)

    @functools.cached_property
    def _contradictions(self) -> Contradictions:
        from slm.core.contradictions import Contradictions

        return Contradictions(self._caller)

    @functools.cached_property
    def _aging(self) -> Aging:
        from slm.core.aging import Aging

        return Aging(self._caller)

    @functools.cached_property
    def _knowledge(self) -> KnowledgeGraph:
        from slm.core.knowledge_graph import KnowledgeGraph

        return KnowledgeGraph(self._caller)

    @functools.cached_property
    def _browsing(self) -> Browsing:
        from slm.core.browsing import Browsing

        return Browsing(self._caller)

    @functools.cached_property
    def _behaviour(self) -> Behaviour:
        from slm.core.behaviour import Behaviour

        return Behaviour(self._caller)

    @functools.cached_property
    def learning(self) -> Learning:
        """Recall that learns the user (`learn`, `status`, `reset`, `set_enabled`), imported on first use."""
        from slm.core.learning import Learning

        return Learning(self.store)

    @functools.cached_property
    def transfers(self) -> Transfers:
        """Export, import, erasure and backups, imported on first use (a one-shot recall never needs them)."""
        from slm.core.transfers import Transfers

        return Transfers(self.store, self._writer, self._knowledge)

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        model: str | Path | None = None,
        create: bool = True,
        protocol: str = "api",
        threads: int | None = None,
        progress: upgrades.Progress | None = None,
    ) -> Memory:
        """Open and migrate the database at `path` (default `$SLM_HOME/memory.db`); create it unless told not to.
        Upgrading an older store takes a while at 100k memories: `progress(stage, done, total)` hears how far."""
        model_path = Path(model) if model is not None else None
        store = Store.open(path, model=model_path, create=create, threads=threads, progress=progress)
        try:
            memory = cls(store, protocol)
        except BaseException:
            store.close()
            raise
        try:
            memory._finish_erasures()
        except BaseException:
            memory.close()
            raise
        return memory

    def _finish_erasures(self) -> None:
        """Erasures a crash interrupted are finished on the next open: what was erased must not stay half there.
        One that cannot be finished now (a damaged behavior.db, a full disk) must not lock the user out of the
        store: the journal stays, the problem is kept for the faces to report, and doctor says what to do."""
        if not erasure_sql.journal_entries(self.conn):
            return
        try:
            self.finished_erasures = self.transfers.finish_pending_erasures()
        except Exception as err:  # reported, not raised: see above
            self.erasure_problem = err
            log.warning("an interrupted erasure could not be finished: %s", err)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def protocol(self) -> str:
        return self._caller.protocol

    @property
    def verified_agent(self) -> AgentRow | None:
        """The authenticated agent calls act as (`authenticate`), if any."""
        return self._caller.verified_agent

    @property
    def embedder(self):
        """The embedding model, loaded (and bound to the store) on first need."""
        return self.store.embedder

    @property
    def behavior(self) -> BehaviorRepository:
        """The behaviour database beside this one (recalls and feedback), opened, or created, on first use."""
        return self.store.behavior

    def existing_behavior(self) -> BehaviorRepository | None:
        """The behaviour database if there is one: readers use this, so that looking never creates a file."""
        return self.store.existing_behavior()

    # -- writing --------------------------------------------------------------------------------------------
    def remember(
        self,
        text: str,
        *,
        agent: str | None = None,
        project: str | None = None,
        tags: Iterable[str] | None = None,
        time: object = None,
        meta: dict | None = None,
        kind: str | None = None,
        session: str | None = None,
        private: bool = False,
    ) -> Stored:
        """Store one memory and return its id (`.duplicate` set when the project already had this exact text).
        `private`: only the writer's member (their agents, on a team's store) and the owner will see it."""
        item = {"text": text, "agent": agent, "project": project, "tags": tags, "time": time, "private": private}
        return self.remember_many([item | {"meta": meta, "kind": kind, "session": session}])[0]

    def remember_many(
        self,
        items: Iterable[dict],
        *,
        agent: str | None = None,
        project: str | None = None,
        batch_size: int | None = None,
        progress: Progress | None = None,
        imported: bool = False,
    ) -> list[Stored]:
        """Store many memories (all validated first, a transaction per batch of `batch_size`, by default
        `writer.EMBED_BATCH`); ids come back in input order."""
        from slm.core.writer import EMBED_BATCH

        batch = EMBED_BATCH if batch_size is None else batch_size
        return self._writer.remember_many(items, agent, project, batch, progress, imported)

    def capture_transcript(
        self, transcript: Path, *, session: str, project: str, agent: str, root: Path | None = None,
        final: bool = False, client: str = "claude-code",
    ) -> CaptureReport:  # fmt: skip
        """Store what a coding session's transcript holds worth keeping (decisions, conventions, commands, fixes;
        with `final`, its central files and one summary), from where this session's last capture stopped; the
        transcript is read in the format of the `client` that wrote it (Claude Code, Codex or Gemini CLI)."""
        from slm.core.capturing import capture

        return capture(
            self, transcript, session=session, project=project, agent=agent, root=root, final=final, format=client
        )

    def import_sessions(
        self, source: str, path: Path, *, project: str | None = None, total=None, progress=None
    ) -> ImportReport:
        """Capture what the user already has (`capturing.SOURCES`: Claude Code, Codex or Gemini CLI session files, a
        ChatGPT or Claude.ai export) through the same rules as a live session; importing again adds nothing."""
        from slm.core.capturing import import_sessions

        return import_sessions(self, source, path, project=project, total=total, progress=progress)

    def update(self, memory_id: int, text: str, *, agent: str | None = None) -> Stored:
        """Replace a memory's text with a new version; the old one stays as history. Returns the new version's id."""
        return self._writer.update(memory_id, text, agent)

    def tag(
        self, memory_id: int, *, add: Iterable[str] = (), remove: Iterable[str] = (), agent: str | None = None
    ) -> tuple[str, ...]:
        """Add and remove tags of a current memory, in place (tags label it; they are not a new version); returns
        its tags after."""
        from slm.core.tagging import retag

        return retag(self._caller, memory_id, add, remove, agent)

    def current_version(self, memory_id: int) -> int:
        """The id that replaced `memory_id` through any number of updates (itself if it is current)."""
        return self._writer.current_version(memory_id)

    def forget(self, memory_id: int, *, agent: str | None = None) -> list[int]:
        """Delete a memory and the earlier versions it replaced; returns the deleted ids, newest first."""
        return self.forget_many([memory_id], agent=agent)

    def forget_many(self, memory_ids: Iterable[int], *, agent: str | None = None) -> list[int]:
        """`forget` for several ids in one transaction: all go, or none."""
        return self._writer.forget_many(memory_ids, agent)

    def reindex(self, model: str | Path | None = None, *, progress: Progress | None = None) -> int:
        """Re-embed every memory with `model` (default: the default model), all or nothing; returns the count."""
        from slm.core import reindexing

        return reindexing.reindex(self.store, model, progress)

    def model_identity(self) -> dict:
        """The embedding model as an export names it: its file name and dimension (loads the model)."""
        return self.transfers.model_identity()

    # -- authenticated agents -------------------------------------------------------------------------------
    def add_agent(self, name: str, *, member: str | None = None) -> tuple[AgentRow, str]:
        """Register an agent (acting for `member`, a person on a team's store, whose private memories its agents
        share); returns it and its secret token, which is not stored and cannot be shown again."""
        return self._agents.add(name, member)

    def list_agents(self) -> list[AgentRow]:
        return self.agents.list()

    def revoke_agent(self, name: str) -> AgentRow:
        """Its token stops working at once; its memories stay, still attributed to it."""
        return self._agents.revoke(name)

    def rename_agent(self, name: str, new_name: str) -> AgentRow:
        """A new name for the agent and the memories it wrote while authenticated."""
        return self._agents.rename(name, new_name)

    def grant_agent(self, name: str, *, edit_others: bool) -> AgentRow:
        """Let an authenticated agent update and forget memories others wrote, or take that back."""
        return self._agents.grant(name, edit_others)

    def authenticate(self, token: object) -> AgentRow:
        """Act as the agent this token belongs to from now on (until its token is revoked)."""
        self._caller.verified_agent = self._agents.of_token(token)
        return self._caller.verified_agent

    def agent_of_token(self, token: object) -> AgentRow:
        """The active agent this token belongs to, or a clear refusal."""
        return self._agents.of_token(token)

    def acting_as(self, agent_id: int | None) -> AbstractContextManager[None]:
        """Calls inside act as this authenticated agent (None: a claimed name); the caller serialises calls."""
        return self._agents.acting_as(agent_id)

    def authorise(self) -> None:
        """Check that the authenticated agent this Memory acts as still may act (a revoked token stops it)."""
        self._caller.authorise()

    # -- trust ----------------------------------------------------------------------------------------------
    def trust_report(self) -> list[dict]:
        """Every principal that wrote or was scored, and every registered agent: trust, evidence, memories."""
        return self._reviews.report()

    def explain_trust(self, agent: str, *, limit: int = 20) -> list[dict]:
        """The identities behind a name, each with its trust, evidence by signal and newest signals with reasons."""
        return self._reviews.explain(agent, limit)

    def quarantine(self) -> list[tuple[MemoryRow, float]]:
        """Current memories whose trust is below the quarantine line and not approved, least trusted first."""
        return self._reviews.quarantine()

    def memory_trust(self, memory_id: int) -> dict | None:
        """Why a memory has its trust: its author's identity and trust, who vouched for it, its doubt, the verdict."""
        return self._reviews.memory_trust(memory_id)

    def visible_to_agents(self, ids: list[int]) -> list[MemoryRow]:
        """The memories with these ids an agent may see, in order (`without_quarantined`)."""
        return self.without_quarantined(self.get_many(ids))

    def without_quarantined(self, rows: list[MemoryRow]) -> list[MemoryRow]:
        """The rows an agent may see: quarantined memories, and others' private ones, are left out as if they did
        not exist."""
        hidden = self._caller.private_to_others([row.id for row in rows])
        return self._reviews.without_quarantined([row for row in rows if row.id not in hidden])

    def approve(self, memory_ids: Iterable[int]) -> list[int]:
        """The user vouches for these memories: trusted in full from now on, and a good signal for their authors."""
        return self._reviews.approve(memory_ids)

    def reject(self, memory_ids: Iterable[int]) -> list[int]:
        """The user rejects these memories as false or hostile: they are deleted (a rejected update's earlier
        version holds again) and count against their authors. Returns the deleted ids."""
        return self._reviews.reject(memory_ids)

    # -- the lifecycle --------------------------------------------------------------------------------------------
    def lifecycle_step(self, *, now: object = None, seed: int | None = None) -> lifecycle.StepReport:
        """Fold in the uses since the last step, then move every memory one Langevin step to `now` (`seed`: noise)."""
        return self._aging.step(now, seed)

    def step_lifecycle_if_due(self) -> lifecycle.StepReport | None:
        """A step if the last one is older than `lifecycle.STEP_EVERY_DAYS`: the faces call this after writes."""
        return self._aging.step(None, None) if self._aging.is_due() else None

    def lifecycle_status(self) -> dict:
        """Memories per zone, the last step, and the constants of the dynamics."""
        return self._aging.status()

    def nearest_archive(self, *, limit: int = 20) -> list[dict]:
        """The current memories closest to being archived (the farthest from the ball's centre), farthest first:
        each with its position, zone and rank weight."""
        return self._aging.nearest_archive(limit)

    def memory_lifecycle(self, memory_id: int) -> dict:
        """A memory's position, zone, rank weight and the uses that placed it there."""
        return self._aging.of_memory(memory_id)

    # -- claims, validity and contradictions -------------------------------------------------------------------
    def memory_claims(self, memory_id: int) -> dict:
        """When what a memory says holds (valid_from / valid_to) and its claims, with what superseded each."""
        return self._contradictions.memory_claims(memory_id)

    def contradictions(
        self, *, status: str | None = "open", project: str | None = None, memory_id: int | None = None, limit: int = 50
    ) -> list[dict]:
        """Contradictions found by the sheaf check, newest first (`status` None: all)."""
        return self._contradictions.listed(status, project, memory_id, limit)

    def contradiction(self, contradiction_id: int) -> dict:
        """One contradiction with its claims, each with its memory's text, author, time and trust."""
        return self._contradictions.one(contradiction_id)

    def resolve_contradiction(
        self, contradiction_id: int, *, keep: int | None = None, agent: str | None = None
    ) -> dict:
        """Settle a contradiction: `keep` the memory that is right, or dismiss it (None: the claims may all hold)."""
        return self._contradictions.resolve(contradiction_id, keep, agent)

    # -- behaviour: what agents did -------------------------------------------------------------------------
    def feedback(self, memory_id: int, helpful: bool, *, query: str | None = None, agent: str | None = None) -> int:
        """Record whether a recalled memory helped (in behavior.db, with a `feedback.recorded` event there)."""
        return self._behaviour.feedback(memory_id, helpful, query, agent)

    def record_recall(
        self,
        query: str,
        k: int,
        hits: list[Hit],
        *,
        agent: str | None = None,
        session: str | None = None,
        project: str | None = None,
        workspace: str | None = None,
        base_ranks: list[int] | None = None,
    ) -> int:
        """Keep what was asked, in which context (the caller's session, the project it asked about, else the project
        it was working in: `workspace`), and what came back (with `base_ranks`, parallel to `hits`, the rank each had
        before the personal re-ranking, if it moved them), in behavior.db, for the ranking to learn from; the
        recall's id."""
        return self._behaviour.record_recall(query, k, hits, agent, session, project, workspace, base_ranks)

    def record_use(self, kind: str, memory_ids: list[int], *, agent: str | None = None, by: int | None = None) -> int:
        """The agent opened ("get") or updated ("update", `by` the new version) these memories: a use of each a
        recall of its showed in the last half hour (behavior.db); how many were kept."""
        return self._behaviour.record_use(kind, memory_ids, agent, by)

    def record_written(self, memory_id: int, *, agent: str | None = None) -> int:
        """The agent just wrote `memory_id`: a use ("cite") of each memory its recent recalls showed that the new
        one names by id or repeats; how many."""
        return self._behaviour.written(memory_id, agent)

    def learning_signals(self) -> Signals:
        """What a learned ranking may train on: (recall, memory, label, weight) examples from feedback, uses and
        skips, weighted against position bias, without low-trust agents' or self-endorsements
        (`slm.recall.signals`)."""
        return self._behaviour.signals()

    def agent_connected(self, agent: str, client: dict | None = None) -> None:
        """An `agent.connected` event: who opened a session, through what, with which client."""
        self._behaviour.agent_connected(agent, client)

    # -- reading --------------------------------------------------------------------------------------------
    def get(self, memory_id: int) -> MemoryRow:
        return self._caller.get(memory_id)

    def get_many(self, memory_ids: list[int]) -> list[MemoryRow]:
        """The memories with these ids that exist (and are not private to someone else), in the order asked."""
        hidden = self._caller.private_to_others(memory_ids)
        return [row for row in self.repo.get_many(memory_ids) if row.id not in hidden]

    def events_after(self, event_id: int = 0, *, agent: str | None = None, limit: int = 1000) -> list[Event]:
        """The store's events after `event_id`, oldest first (not those of memories private to someone else, nor
        those naming a project kept to another member)."""
        events = self.events.after(event_id, agent=agent, limit=limit)
        hidden = self._caller.private_to_others(sorted({e.memory_id for e in events if e.memory_id is not None}))
        kept = self._caller.projects_kept_from()
        return [e for e in events if e.memory_id not in hidden and not kept & _projects_named(e)]

    def list(
        self, *, limit: int = 20, offset: int = 0, session: str | None = None, **filters: Unpack[Filters]
    ) -> list[MemoryRow]:
        """Memories newest first, filtered like `recall`; `session`: only those said in that session."""
        return reading.listed(self.store, self._caller.restrict(reading.filters_of(filters, session)), limit, offset)

    def browse(
        self, *, zone: str | None = None, trust: str | None = None, sort: str = "newest", **filters: Unpack[Filters]
    ) -> list[int]:
        """The ids of every current memory the filters pass, in `sort` order (`browsing.SORTS`), narrowed to a
        lifecycle zone and a trust band (`browsing.TRUST_BANDS`): a list to read a page at a time (`summaries`)."""
        return self._browsing.browse(self._caller.restrict(reading.filters_of(filters, None)), zone, trust, sort)

    def summaries(self, memory_ids: list[int]) -> list[Listed]:
        """These memories with their trust and lifecycle zone, in the order asked."""
        return self._browsing.summaries(memory_ids)

    def counts(self, by: str) -> dict[str, int]:
        """Current memories per project, agent or kind, the most first (what `stats` holds, without the rest)."""
        if by not in ("project", "agent", "kind"):
            raise InvalidInput(f"cannot count memories by {by!r}", "by project, agent or kind")
        return self.repo.counts_by(by, self._visible())

    def tags(self) -> dict[str, int]:
        """Current memories per tag, the most used first."""
        return self.repo.tag_counts(self._visible())

    def versions(self, memory_id: int) -> list[MemoryRow]:
        """The versions `memory_id` replaced, newest first (its history; empty when it was never updated)."""
        self._caller.get(memory_id)
        return self.repo.get_many(self.repo.versions(memory_id)[1:])

    def count(self, *, session: str | None = None, **filters: Unpack[Filters]) -> int:
        """How many current memories match the filters of `list`."""
        return self.repo.count(self._caller.restrict(reading.filters_of(filters, session)))

    def recall(self, query: str, k: int = 10, **options: Unpack[RecallOptions]) -> list[Hit]:
        """The k memories that best answer `query`, best first, weighed by trust and lifecycle, each hit explaining
        its ranks; the options filter, pick channels (ablations) and the ranker (`recaller.recall` says how)."""
        hits = recaller.recall(self.store, query, k, options, self._caller.restrict, self.learning)
        hidden = self._caller.private_to_others([h.id for h in hits])  # the filter keeps them out; this proves it
        return [h for h in hits if h.id not in hidden] if hidden else hits

    def recall_candidates(self, query: str, *, now: object = None) -> tuple[list, np.ndarray]:
        """The candidates of a default recall and their feature rows (`features.FEATURES`), to train the ranker."""
        return recaller.candidates(self.store, query, now)

    def stats(self) -> dict:
        return reading.stats(self.store, self._visible())

    def _visible(self) -> MemoryFilter:
        """Current memories the caller may see: an agent of a team's store counts no other member's."""
        return self._caller.restrict(MemoryFilter())

    # -- the knowledge graph --------------------------------------------------------------------------------
    def graph_build(self, *, progress: Progress | None = None) -> clusters.BuildReport:
        """Link memories stored before the graph existed, then rebuild the Leiden clusters (ids kept by overlap)."""
        return self._knowledge.build(progress)

    def graph_stale(self) -> bool:
        """Whether clusters should be rebuilt: never built, memories not yet linked, or a quarter unclustered."""
        return self._knowledge.is_stale()

    def clusters(self, *, project: str | None = None, refresh: bool = True) -> list[dict]:
        """Top-level clusters, largest first, with their sub-clusters; rebuilt first when stale (`refresh`)."""
        return self._knowledge.top_clusters(project, refresh)

    def cluster(self, cluster_id: int, *, limit: int = 20) -> dict:
        """One cluster: its label, size, parent, sub-clusters, top entities and newest members."""
        return self._knowledge.cluster(cluster_id, limit)

    def neighbors(self, memory_id: int, *, limit: int = 20) -> dict:
        """A memory's entities, cluster and graph neighbours (strongest edges first)."""
        return self._knowledge.neighbors(memory_id, limit)

    def graph_stats(self) -> dict:
        """Counts of entities, edges and clusters (the graph benchmark reports them)."""
        return self._knowledge.stats()

    # -- projects: which one a working directory writes to, and the user's view and repair of them -----------------
    @functools.cached_property
    def _projects(self) -> Projects:
        from slm.core.projects import Projects

        return Projects(self._caller)

    def project_for(self, directory: str | Path, *, agent: str | None = None) -> str:
        """The project a working directory belongs to: its repository's (git remote, else root commit), bound to a
        name the first time (`slm.core.projects` has the rules; `agent`: who the binding's event names); `default`
        in the home folder or `/`. Callers that want inference pass it on:
        `remember(text, project=mem.project_for(Path.cwd()))`."""
        return self._projects.project_for(Path(directory), agent)

    def project_named_for(self, directory: str | Path) -> str | None:
        """The project a working directory is bound to, binding nothing (None: nothing written from there yet;
        `default` where no repository is)."""
        return self._projects.named_for(Path(directory))

    def projects(self) -> list[dict]:
        """Every project a memory or a key names: current memories, versions, keys bound, newest and oldest write."""
        return self._projects.listed()

    def project(self, name: str) -> dict:
        """One project as `projects` shows it, with its keys, kinds, agents and open contradictions."""
        return self._projects.show(name)

    def keep_project_private(self, name: str, member: str | None = None) -> dict:
        """Keep a project to one member of a team's store (None: to the owner): its memories reach only that
        member's agents and the owner, and others' agents may not write there. Owner only."""
        return self._projects.keep_private(name, member, self._knowledge.relabel)

    def share_project(self, name: str) -> dict:
        """Share a project kept to one member again. Owner only."""
        return self._projects.share(name, self._knowledge.relabel)

    def rename_project(self, old: str, new: str) -> dict:
        """Rename a project everywhere (memories, claims, contradictions, trust counts, keys); `new` must not exist."""
        return self._projects.rename(old, new)

    def merge_projects(self, source: str, into: str) -> dict:
        """Move every memory, claim, contradiction and key of `source` into `into`, in one transaction; a memory
        whose text `into` already holds becomes that memory's history."""
        return self._projects.merge(source, into)


def _projects_named(event: Event) -> set[str]:
    """The projects an event's payload names (binding, renaming, merging, keeping a project)."""
    return {v for k in ("project", "from", "into") if isinstance(v := event.payload.get(k), str)}
