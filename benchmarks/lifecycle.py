"""The memory lifecycle: a seeded, simulated usage history through the public API, and the cost of one step at scale.

Part 1, the usage history (`--days` simulated days, 150 by default, on a new store per seed). A small team's
store: on day 0 the user imports the team's notes (`remember_many`): facts with a known answer about each of the
30 services of `benchmarks.corpus` (port, owner, database, retries, deploy day, language, timeout, deploy command;
`--facts-per-service` of them, from `benchmarks.poisoning.TEMPLATES`), one note per project for each of eight
kinds of project knowledge (integration tests, staging URL, on-call, release day, CI, branch, local start,
secrets), and part of the developer notes of `benchmarks.corpus` (each note belongs to the project of the service
it mentions). Two authenticated agents (claude-code, cursor) then work on weekdays between 08:00 and 20:00:

- the work has a focus project that changes every 14-35 days (drawn by the corpus's project weights; a project
  can come back, some never get the focus), plus side work on a random other project (`--side`, 15 %);
- they write the rest of the notes in the project they work on, and now and then (`--change-rate` a weekday) a
  fact of the focus project changes: an agent writes the new value as a new note and nobody updates the old one,
  which stays current (the agent-appends-a-note case; `update` would supersede it and take it out of recall);
- they ask `--questions` a weekday, each recalled with k=10 and logged with `record_recall` (as the MCP server
  does), then mark helpful (`feedback`, with probability `--mark`) the hits that answer it: a fact question (the
  service's facts by a Zipf popularity, so that some are asked often, some once, some never; helpful: the note
  with the current value, never a stale one), a project question ("How do I run the integration tests?",
  without the project's name `--implicit` of the time: the answer is the note of the project worked on) or a
  look-up of one of the project's recent notes by its first eight words (helpful when it comes back);
- the lifecycle steps as the faces run it: before any action once the last step is an hour old, and on a timer
  at 03:00 every day (`lifecycle_step(now=...)`, seeded per simulation).

llama.cpp runs on one thread unless SLM_THREADS says otherwise (its threads spin when another process holds a
core, which made a run several times slower; Part 1 measures rankings, not latency).
Time is simulated with `benchmarks.poisoning.Clock` (slm.core.memory's `datetime` and slm.validation's clock).
A text embedded alone (a question) is embedded once and its vector kept (`MemoisedEmbedder`): the history asks
the same questions again and again, and the evaluation recalls each query two or three times.

Measured at checkpoints (every `--every` days and at the end), on the same store and the same queries, recall with
the lifecycle (the default) against `lifecycle=False`: hit@1, MRR@10 and NDCG@10 of the one right memory, for
query families where recall should prefer the live memory ...

- changed: a fact that changed; right: the newest note, against the stale ones that say the same with another
  value (also: how often a stale note ranks above the current one);
- working_context: the project questions without the project's name; right: the focus project's note, against
  the same kind of note of the other projects;
- working_facts, working_lookups: fact questions and look-ups the agents asked at least twice;

... and families where the right memory is dormant, where the lifecycle can only hurt:

- dormant_facts, dormant_context, dormant_lookups: facts of projects that never had the focus, project
  questions naming such a project, look-ups of notes at least 14 days old never looked up nor marked helpful;
- past_facts: facts asked at least twice while their project had the focus, which it has no longer.

Then: a mixture where a future query follows past use with probability p (the live families pooled) and asks
for a dormant memory otherwise, and the p at which the lifecycle breaks even; the project questions of a new
focus project at the switch, 2 and 7 days later (the cost of drift); zones per day; zones by how much a memory
was used; how many memories ended archived, whether a right answer was archived, and, for up to 30 archived
memories looked up by their first eight words, whether they are still stored, left out of default recall, and
found with `archived=True` and with `lifecycle=False` (forgetting is not erasure); the rank weight's falloff
(RANK_FALLOFF) swept at the final checkpoint on the same store (`--falloffs`; the history itself ran with the
module's value). Every figure is per seed, and the medians over `--seeds`. Variants: `--no-log-recalls` (agents
that do not log their recalls, as through the Python API or the CLI: uses are then storing and helpful feedback
only), `--set NAME=VALUE` for a constant of slm.lifecycle.langevin or slm.lifecycle.steps (the whole history re-run).
Nothing is archived within 150 days (a memory never used reaches the archived zone after about 390 days at trust
1 and importance 0.5), so a longer run checks archiving.

Part 2, `--step-store PATH`: time `Memory.lifecycle_step()` on an existing large store (the whole call: fold the
uses, read the states and trusts, step, write, commit), with nothing to fold and after `--step-recalls` logged
recalls, where its time goes (as the step reports it, `StepReport.parts_ms`), and the one-off first open after
migration 0006 (it backfills the Gaussians of multi-chunk memories). The store is changed: work on a copy.

    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.lifecycle --out benchmarks/results/lifecycle.json
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.lifecycle --no-log-recalls \
        --out /tmp/lifecycle-no-log-recalls.json
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.lifecycle --set RANK_FALLOFF=0.02 \
        --out /tmp/lifecycle-falloff-0.02.json
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.lifecycle --days 420 --memories 1200 --seeds 1 \
        --every 60 --out benchmarks/results/lifecycle-420-days.json
    cp /tmp/slm-bench-graph/scale.db /tmp/slm-lifecycle-step/scale.db
    SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.lifecycle \\
        --step-store /tmp/slm-lifecycle-step/scale.db --out benchmarks/results/lifecycle-step-100000.json
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks import corpus
from benchmarks.poisoning import START, TEMPLATES, Clock, Template
from benchmarks.report import machine, percentiles, slm_version
from slm import Memory
from slm.core import memory as memory_module
from slm.lifecycle import langevin
from slm.lifecycle import steps as lifecycle
from slm.storage import migrations, vectors
from slm.storage.connection import open_connection

DEFAULT_HOME = "/tmp/slm-bench-home"
K = 10  # the MCP server's default k
AGENTS = ("claude-code", "cursor")
AGENT_SHARE = (0.6, 0.4)
ZIPF = 1.1  # popularity of facts and project questions within a project: weight 1 / rank^ZIPF
LIVE = ("changed", "working_context", "working_facts", "working_lookups")
DORMANT = ("dormant_facts", "dormant_context", "dormant_lookups")
FAMILIES = (*LIVE, *DORMANT, "past_facts")
SAMPLE = {"working_lookups": 30, "dormant_facts": 40, "dormant_context": 24, "dormant_lookups": 30, "past_facts": 40}
DORMANT_AGE_DAYS = 14
SWITCH_OFFSETS_DAYS = (0, 2, 7)
MIXTURE_P = (0.5, 0.7, 0.8, 0.9, 0.95)
METRICS = ("hit_at_1", "mrr", "ndcg_at_10")


# -- project knowledge: one note per project and kind, asked without or with the project's name ----------------------
@dataclass(frozen=True)
class NoteKind:
    name: str
    text: str  # {project} and the values' names
    question: str  # {where}: "" or " for the {project} project"
    values: Callable[[random.Random], dict[str, str]]


NOTE_KINDS = (
    NoteKind(
        "tests",
        "In the {project} repo, run the integration tests with `{cmd}` from the root.",
        "How do I run the integration tests{where}?",
        lambda r: {
            "cmd": r.choice(
                (
                    "make test-integration",
                    "pytest -m integration",
                    "npm run test:int",
                    "go test ./... -tags=integration",
                    "cargo nextest run --features it",
                    "./gradlew integrationTest",
                    "tox -e integration",
                    "just it",
                )
            )
        },
    ),
    NoteKind(
        "staging",
        "The staging environment of {project} is at https://{project}.staging.internal:{port}.",
        "What is the staging URL{where}?",
        lambda r: {"port": str(r.randrange(3000, 9999))},
    ),
    NoteKind(
        "oncall",
        "{person} is on call for {project} this quarter; page them in #{project}-oncall.",
        "Who is on call{where}?",
        lambda r: {"person": r.choice(corpus.PEOPLE)},
    ),
    NoteKind(
        "release",
        "{project} releases go out every {day} after the {hour}:00 code freeze.",
        "When do releases go out{where}?",
        lambda r: {"day": r.choice(("Monday", "Tuesday", "Wednesday", "Thursday")), "hour": str(r.randrange(9, 17))},
    ),
    NoteKind(
        "ci",
        "CI for {project} runs on {ci}; a full pipeline takes about {minutes} minutes.",
        "Which CI do we use and how long does a pipeline take{where}?",
        lambda r: {
            "ci": r.choice(("GitHub Actions", "GitLab CI", "Buildkite", "CircleCI", "Jenkins")),
            "minutes": str(r.randrange(6, 45)),
        },
    ),
    NoteKind(
        "branch",
        "In {project}, open pull requests against `{branch}`; main only takes release merges.",
        "Which branch do I open pull requests against{where}?",
        lambda r: {"branch": r.choice(("develop", "next", "trunk", "staging", "integration"))},
    ),
    NoteKind(
        "local",
        "To start {project} locally, run `{cmd}` and open http://localhost:{port}.",
        "How do I start the app locally{where}?",
        lambda r: {
            "cmd": r.choice(
                ("make dev", "docker compose up", "npm run dev", "just dev", "tilt up", "./scripts/dev.sh")
            ),
            "port": str(r.randrange(3000, 9000)),
        },
    ),
    NoteKind(
        "secrets",
        "Secrets for {project} live in {store} under `kv/{project}/{env}`.",
        "Where are the secrets kept{where}?",
        lambda r: {
            "store": r.choice(("Vault", "AWS Secrets Manager", "1Password", "Doppler", "SOPS files in the repo")),
            "env": r.choice(("prod", "production", "live")),
        },
    ),
)


def where(project: str | None) -> str:
    return "" if project is None else f" for the {project} project"


# -- the world --------------------------------------------------------------------------------------------------------
@dataclass
class Fact:
    key: str
    service: str
    project: str
    template: Template
    values: list[str]
    notes: list[int] = field(default_factory=list)  # memory ids, oldest first: the last is current

    @property
    def question(self) -> str:
        return self.template.question.format(service=self.service)

    @property
    def current(self) -> int:
        return self.notes[-1]

    def text(self, value: str, paraphrase: bool) -> str:
        return (self.template.paraphrase if paraphrase else self.template.primary).format(
            service=self.service, value=value
        )


@dataclass(frozen=True)
class Segment:
    start: float  # days
    end: float
    focus: str


@dataclass(frozen=True)
class Query:
    family: str
    text: str
    gold: int
    stale: tuple[int, ...] = ()  # changed facts: the notes with an old value


def first_service(text: str) -> str | None:
    found = [(text.find(s), s) for s in corpus.SERVICES if s in text]
    return min(found)[1] if found else None


def ndcg(rank: int | None) -> float:
    return 1 / math.log2(rank + 1) if rank else 0.0


def scores(ranks: list[int | None]) -> dict[str, float]:
    n = max(1, len(ranks))
    return {
        "hit_at_1": round(sum(r == 1 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        "ndcg_at_10": round(sum(ndcg(r) for r in ranks) / n, 4),
    }


class MemoisedEmbedder:
    """slm's embedder, keeping the vector of each text embedded alone: a question asked again (the history repeats
    them, and each evaluation recalls a query two or three times) is not run through the model again. The vectors
    are the model's own, as benchmarks.longmemeval caches them; batches pass through."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.memo: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str):  # dim, max_tokens, chunk_spans, count_tokens, …
        return getattr(self.inner, name)

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts)
        if texts[0] not in self.memo:
            self.memo[texts[0]] = self.inner.embed(texts)
        return self.memo[texts[0]].copy()


# -- the simulation ---------------------------------------------------------------------------------------------------
class Simulation:
    def __init__(self, args: argparse.Namespace, seed: int, db: Path) -> None:
        self.args, self.seed = args, seed
        self.rng = random.Random(seed)
        self.clock = Clock(START)
        self.clock.install()
        self.user = Memory.open(db)
        shared = MemoisedEmbedder(self.user.embedder)
        self.user.store.replace_embedder(shared)
        self.agents: dict[str, Memory] = {}
        for name in AGENTS:
            _, token = self.user.add_agent(name)
            mem = Memory.open(db)
            mem.store.replace_embedder(shared)  # one model in memory for every instance of this process
            mem.authenticate(token)
            self.agents[name] = mem
        self.queue: list[tuple[datetime, int, Callable, tuple]] = []
        self.order = itertools.count()
        self.last_step = -math.inf
        self.steps: list[float] = []  # seconds per step
        # what the simulation knows about the store
        self.project_of: dict[int, str] = {}
        self.class_of: dict[int, str] = {}  # fact, stale, context, note
        self.text: dict[int, str] = {}
        self.born: dict[int, float] = {}
        self.helpful: Counter = Counter()  # memory id -> helpful marks
        self.asked: Counter = Counter()  # fact key, ("context", project, kind) -> times asked
        self.asked_in_focus: Counter = Counter()  # fact key -> times asked while its project had the focus
        self.looked_up: Counter = Counter()  # memory id -> look-ups
        self.notes_of: dict[str, list[int]] = defaultdict(list)  # project -> its developer notes, oldest first
        self.history = Counter()  # questions asked, by kind, and how many found a previously helpful answer
        self.timeline: list[dict] = []
        self.checkpoints: list[dict] = []
        self.switches: list[dict] = []
        self.final_queries: list[Query] = []
        self._world()

    # -- the world, drawn from the seed ----------------------------------------------------------------------------
    def _world(self) -> None:
        rng, args = self.rng, self.args
        services = list(corpus.SERVICES)
        rng.shuffle(services)
        per = len(services) // len(corpus.PROJECTS)
        self.service_project = {s: corpus.PROJECTS[i // per] for i, s in enumerate(services)}
        self.facts: list[Fact] = []
        for service in services:
            for template in rng.sample(TEMPLATES, args.facts_per_service):
                value = template.values(rng, corpus._slug(service))
                key = f"{corpus._slug(service)}/{template.slot}"
                self.facts.append(Fact(key, service, self.service_project[service], template, [value]))
        self.facts_of: dict[str, list[Fact]] = defaultdict(list)
        for fact in self.facts:
            self.facts_of[fact.project].append(fact)
        self.context: dict[tuple[str, str], int] = {}  # (project, kind) -> memory id
        self.context_text = {
            (p, kind.name): kind.text.format(project=p, **kind.values(rng))
            for p in corpus.PROJECTS
            for kind in NOTE_KINDS
        }
        # popularity: a random order of each project's facts and question kinds, weighted by Zipf
        self.fact_weights = {}
        for project, facts in self.facts_of.items():
            rng.shuffle(facts)
            self.fact_weights[project] = [1 / (i + 1) ** ZIPF for i in range(len(facts))]
        self.kind_order = {p: rng.sample(NOTE_KINDS, len(NOTE_KINDS)) for p in corpus.PROJECTS}
        self.kind_weights = [1 / (i + 1) ** ZIPF for i in range(len(NOTE_KINDS))]
        # focus segments
        self.segments: list[Segment] = []
        begin, previous = 0.0, None
        while begin < args.days:
            length = rng.uniform(14, 35)
            focus = previous
            while focus == previous:
                focus = rng.choices(corpus.PROJECTS, corpus.PROJECT_WEIGHTS)[0]
            self.segments.append(Segment(begin, min(args.days, begin + length), focus))
            begin, previous = begin + length, focus
        # developer notes by project: the project of the first service a note mentions, else any
        weekdays = sum((START + timedelta(days=d)).weekday() < 5 for d in range(args.days))
        changes = round(args.change_rate * weekdays)
        background = args.memories - len(self.facts) - len(self.context_text) - changes
        if background < 100:
            raise SystemExit(f"--memories {args.memories} leaves {background} developer notes; ask for more")
        self.onboard = round(background * args.onboard)
        self.per_weekday = (background - self.onboard) / max(1, weekdays)
        self.pool: dict[str, list[dict]] = defaultdict(list)
        for item in corpus.memories(background * 4, seed=self.seed * 7919 + 1):
            service = first_service(item["text"])
            project = self.service_project[service] if service else rng.choice(corpus.PROJECTS)
            self.pool[project].append(item)

    def day_of(self, moment: datetime | None = None) -> float:
        return ((moment or self.clock.now) - START).total_seconds() / 86400

    def focus(self, day: float | None = None) -> str:
        day = self.day_of() if day is None else day
        return next((s.focus for s in self.segments if s.start <= day < s.end), self.segments[-1].focus)

    def ever_focused(self, day: float) -> set[str]:
        return {s.focus for s in self.segments if s.start <= day}

    def at(self, when: datetime, action: Callable, *args: object) -> None:
        heapq.heappush(self.queue, (when, next(self.order), action, args))

    # -- planning ---------------------------------------------------------------------------------------------------
    def plan(self) -> None:
        args, rng = self.args, self.rng
        self.at(START + timedelta(hours=7), self.onboard_notes)
        carry = 0.0
        for day in range(args.days):
            midnight = START + timedelta(days=day)
            self.at(midnight + timedelta(hours=3), self.timer)
            if midnight.weekday() >= 5:
                continue
            carry += self.per_weekday
            writes, carry = int(carry), carry - int(carry)
            for _ in range(writes):
                self.at(self.working(midnight), self.write_note)
            for _ in range(args.questions):
                self.at(self.working(midnight), self.ask)
            if rng.random() < args.change_rate:
                self.at(self.working(midnight), self.change_fact)
        for day in range(args.every, args.days, args.every):
            self.at(START + timedelta(days=day), self.checkpoint, day)
        self.at(START + timedelta(days=args.days), self.checkpoint, args.days)
        for segment in self.segments[1:]:
            for offset in SWITCH_OFFSETS_DAYS:
                if segment.start + offset < min(segment.end, args.days):
                    self.at(START + timedelta(days=segment.start + offset), self.switch_eval, segment, offset)

    def working(self, midnight: datetime) -> datetime:
        return midnight + timedelta(hours=8, seconds=self.rng.uniform(0, 12 * 3600))

    def run(self, progress: Callable[[int, int], None]) -> None:
        done = 0
        while self.queue:
            when, _, action, args = heapq.heappop(self.queue)
            self.clock.now = max(self.clock.now, when)
            if action not in (self.timer, self.checkpoint, self.switch_eval):
                self.step_if_due()
            action(*args)
            done += 1
            progress(done, len(self.queue))

    # -- the lifecycle, as the faces run it ------------------------------------------------------------------------
    def step_if_due(self) -> None:
        if self.day_of() - self.last_step >= lifecycle.STEP_EVERY_DAYS:
            self.step()

    def step(self) -> lifecycle.StepReport:
        began = time.perf_counter()
        report = self.user.lifecycle_step(now=self.clock.now, seed=self.seed if not self.steps else None)
        self.steps.append(time.perf_counter() - began)
        self.last_step = self.day_of()
        return report

    def timer(self) -> None:
        report = self.step()
        self.timeline.append({"day": round(self.day_of(), 3), **report.zones})

    # -- writing ----------------------------------------------------------------------------------------------------
    def _note(self, mem_id: int, project: str, kind: str, text: str) -> None:
        self.project_of[mem_id], self.class_of[mem_id], self.text[mem_id] = project, kind, text
        self.born[mem_id] = self.day_of()

    def onboard_notes(self) -> None:
        """Day 0: the user imports the team's facts, project notes and part of the developer notes in one call."""
        items: list[tuple[str, str, dict]] = []
        for fact in self.facts:
            items.append(("fact", fact.key, {"text": fact.text(fact.values[0], False), "project": fact.project}))
        for (project, kind), text in self.context_text.items():
            items.append(("context", f"{project}/{kind}", {"text": text, "project": project, "kind": "fact"}))
        weights = dict(zip(corpus.PROJECTS, corpus.PROJECT_WEIGHTS, strict=True))
        for _ in range(self.onboard):
            project = self.rng.choices(list(weights), list(weights.values()))[0]
            item = self._take(project)
            items.append(("note", project, self._item(item, project)))
        self.rng.shuffle(items)
        stored = self.user.remember_many([item for _, _, item in items])
        facts = {f.key: f for f in self.facts}
        for (kind, key, item), mem_id in zip(items, stored, strict=True):
            if mem_id.duplicate:
                continue
            self._note(int(mem_id), item["project"], kind, item["text"])
            if kind == "fact":
                facts[key].notes.append(int(mem_id))
            elif kind == "context":
                project, _, name = key.partition("/")
                self.context[(project, name)] = int(mem_id)
            else:
                self.notes_of[item["project"]].append(int(mem_id))

    def _take(self, project: str) -> dict:
        pool = self.pool[project] or max(self.pool.values(), key=len)
        return pool.pop()

    @staticmethod
    def _item(item: dict, project: str) -> dict:
        return {"text": item["text"], "project": project, "kind": item["kind"], "tags": item["tags"]}

    def agent(self) -> tuple[str, Memory]:
        name = self.rng.choices(AGENTS, AGENT_SHARE)[0]
        return name, self.agents[name]

    def project_now(self) -> str:
        focus = self.focus()
        if self.rng.random() < self.args.side:
            return self.rng.choice([p for p in corpus.PROJECTS if p != focus])
        return focus

    def write_note(self) -> None:
        name, mem = self.agent()
        project = self.project_now()
        item = self._item(self._take(project), project)
        stored = mem.remember(item["text"], agent=name, project=project, kind=item["kind"], tags=item["tags"])
        if not stored.duplicate:
            self._note(int(stored), project, "note", item["text"])
            self.notes_of[project].append(int(stored))

    def change_fact(self) -> None:
        """A fact of the focus project changes; an agent writes the new value as a new note (no `update`)."""
        fact = self.rng.choice(self.facts_of[self.focus()])
        value = fact.values[-1]
        while value in fact.values:
            value = fact.template.values(self.rng, corpus._slug(fact.service))
        name, mem = self.agent()
        text = fact.text(value, self.rng.random() < 0.5)
        stored = mem.remember(text, agent=name, project=fact.project)
        if stored.duplicate:
            return
        for old in fact.notes:
            self.class_of[old] = "stale"
        self._note(int(stored), fact.project, "fact", text)
        fact.values.append(value)
        fact.notes.append(int(stored))

    # -- asking -----------------------------------------------------------------------------------------------------
    def ask(self) -> None:
        roll = self.rng.random()
        if roll < self.args.fact_share:
            self.ask_fact()
        elif roll < self.args.fact_share + self.args.context_share:
            self.ask_context()
        else:
            self.look_up()

    def _recall(self, name: str, mem: Memory, query: str, gold: set[int], kind: str) -> None:
        """One logged recall; the hits that answer it are marked helpful (each with probability `--mark`)."""
        self.history[kind] += 1
        self.history[f"{kind}_answer_was_helpful_before"] += any(self.helpful[g] for g in gold)
        hits = mem.recall(query, K)
        if self.args.log_recalls:
            mem.record_recall(query, K, hits, agent=name)
        found = [h.id for h in hits if h.id in gold]
        self.history[f"{kind}_answer_in_top_{K}"] += bool(found)
        for memory_id in found:
            if self.rng.random() < self.args.mark:
                mem.feedback(memory_id, True, query=query, agent=name)
                self.helpful[memory_id] += 1

    def ask_fact(self) -> None:
        project = self.project_now()
        fact = self.rng.choices(self.facts_of[project], self.fact_weights[project])[0]
        self.asked[fact.key] += 1
        if project == self.focus():
            self.asked_in_focus[fact.key] += 1
        self._recall(*self.agent(), fact.question, {fact.current}, "fact")

    def ask_context(self) -> None:
        project = self.project_now()
        kind = self.rng.choices(self.kind_order[project], self.kind_weights)[0]
        self.asked[("context", project, kind.name)] += 1
        named = project if self.rng.random() >= self.args.implicit else None
        self._recall(
            *self.agent(), kind.question.format(where=where(named)), {self.context[(project, kind.name)]}, "context"
        )

    def look_up(self) -> None:
        project = self.project_now()
        recent = self.notes_of[project][-40:]
        if not recent:
            return
        wanted = self.rng.choice(recent)
        self.looked_up[wanted] += 1
        self._recall(*self.agent(), lookup_query(self.text[wanted]), {wanted}, "lookup")

    # -- measuring --------------------------------------------------------------------------------------------------
    def queries(self, day: float) -> list[Query]:
        """The evaluation queries at `day`, family by family (samples drawn from a generator fixed by the day)."""
        rng = random.Random(self.seed * 1000 + round(day * 24))
        focus, focused = self.focus(day), self.ever_focused(day)
        out: list[Query] = []
        for fact in self.facts:
            if len(fact.notes) > 1:
                out.append(Query("changed", fact.question, fact.current, tuple(fact.notes[:-1])))
        for kind in NOTE_KINDS:
            out.append(Query("working_context", kind.question.format(where=""), self.context[(focus, kind.name)]))
        single = [f for f in self.facts if len(f.notes) == 1]
        working = [f for f in single if f.project == focus and self.asked[f.key] >= 2]
        out += [Query("working_facts", f.question, f.current) for f in working]
        looked = [i for i, n in self.looked_up.items() if n >= 2]
        out += [Query("working_lookups", lookup_query(self.text[i]), i) for i in sample(rng, looked, "working_lookups")]
        dormant = [
            f for f in single if f.project not in focused and not self.asked[f.key] and not self.helpful[f.current]
        ]
        out += [Query("dormant_facts", f.question, f.current) for f in sample(rng, dormant, "dormant_facts")]
        unused = [
            (p, kind)
            for p in corpus.PROJECTS
            for kind in NOTE_KINDS
            if p not in focused and not self.helpful[self.context[(p, kind.name)]]
        ]
        for p, kind in sample(rng, unused, "dormant_context"):
            out.append(Query("dormant_context", kind.question.format(where=where(p)), self.context[(p, kind.name)]))
        old = [
            i
            for i, kind in self.class_of.items()
            if kind == "note"
            and not self.looked_up[i]
            and not self.helpful[i]
            and day - self.born[i] >= DORMANT_AGE_DAYS
        ]
        out += [Query("dormant_lookups", lookup_query(self.text[i]), i) for i in sample(rng, old, "dormant_lookups")]
        past = [f for f in single if f.project in focused and f.project != focus and self.asked_in_focus[f.key] >= 2]
        out += [Query("past_facts", f.question, f.current) for f in sample(rng, past, "past_facts")]
        return out

    def rank(self, query: Query, **options) -> tuple[int | None, int | None, str | None]:
        """The rank of the right memory in the top K (None if absent), the best rank of a stale one, and what
        came first instead of the right memory (its class, zone, and whether it belongs to the focus project)."""
        hits = self.user.recall(query.text, K, **options)
        ids = [h.id for h in hits]
        gold = ids.index(query.gold) + 1 if query.gold in ids else None
        stale = min((ids.index(i) + 1 for i in query.stale if i in ids), default=None)
        first = None
        if hits and gold != 1:
            top = hits[0]
            where_ = "focus" if self.project_of.get(top.id) == self.focus() else "other"
            first = f"{self.class_of.get(top.id, '?')}/{top.zone}/{where_}"
        return gold, stale, first

    def evaluate(self, queries: list[Query], falloffs: tuple[float, ...] = ()) -> dict:
        states = {q.gold: self.user.memory_lifecycle(q.gold) for q in queries}
        rows = []
        for query in queries:
            (lc, lc_stale, lc_first), (base, base_stale, _) = self.rank(query), self.rank(query, lifecycle=False)
            state = states[query.gold]
            row = {
                "family": query.family,
                "lc": lc,
                "base": base,
                "lc_first_instead": lc_first if base == 1 else None,  # what the lifecycle put above a right rank 1
                "zone": state["zone"],
                "uses": round(state["uses"], 3),
                "position": round(state["position"], 3),
            }
            if query.stale:
                row["stale_above_lc"] = lc_stale is not None and (lc is None or lc_stale < lc)
                row["stale_above_base"] = base_stale is not None and (base is None or base_stale < base)
            if state["zone"] == "archived":
                row["archived_true"] = self.rank(query, archived=True)[0]
            rows.append(row)
        swept = {}
        saved = langevin.RANK_FALLOFF
        try:
            for falloff in falloffs:
                langevin.RANK_FALLOFF = falloff
                swept[str(falloff)] = [self.rank(query)[0] for query in queries]
        finally:
            langevin.RANK_FALLOFF = saved
        return {"rows": rows, "falloffs": swept}

    def checkpoint(self, day: int) -> None:
        self.step()
        queries = self.queries(day)
        final = day == self.args.days
        evaluated = self.evaluate(queries, tuple(self.args.falloffs) if final else ())
        rows = evaluated["rows"]
        summary = {
            "day": day,
            "focus": self.focus(day),
            "zones": self.user.lifecycle_status()["zones"],
            "families": summarise(rows),
            "mixture": mixture(rows),
            "zones_by_use": self.zones_by_use(),
        }
        if final:
            self.final_queries = queries
            summary["falloff_sweep"] = falloff_sweep(rows, evaluated["falloffs"])
            summary["queries"] = [{"text": q.text, "gold": q.gold} | r for q, r in zip(queries, rows, strict=True)]
            summary["archive"] = self.archive_check()
        self.checkpoints.append(summary)

    def switch_eval(self, segment: Segment, offset: int) -> None:
        """The project questions of a new focus project, at the switch and some days after."""
        self.step()
        queries = [
            Query("working_context", kind.question.format(where=""), self.context[(segment.focus, kind.name)])
            for kind in NOTE_KINDS
        ]
        rows = self.evaluate(queries)["rows"]
        self.switches.append(
            {
                "day": round(segment.start, 2),
                "offset_days": offset,
                "focus": segment.focus,
                "lc": scores([r["lc"] for r in rows]),
                "base": scores([r["base"] for r in rows]),
            }
        )

    def zones_by_use(self) -> dict:
        """Zones of every memory by how it was used: marked helpful 5+ times, 1-4 times, never but returned by
        recalls, never returned by any recall (uses = 1, its storing)."""
        table: dict[str, Counter] = defaultdict(Counter)
        for memory_id in self.class_of:
            state = self.user.memory_lifecycle(memory_id)
            marks = self.helpful[memory_id]
            if marks >= 5:
                group = "helpful_5_plus"
            elif marks:
                group = "helpful_1_to_4"
            elif state["uses"] > 1:
                group = "only_recalled"
            else:
                group = "never_recalled"
            table[group][state["zone"]] += 1
        return {group: dict(sorted(counts.items())) for group, counts in sorted(table.items())}

    def archive_check(self) -> dict:
        """Archived memories are still stored (`get`), left out of default recall, found with `archived=True`."""
        archived = [i for i in self.class_of if self.user.memory_lifecycle(i)["zone"] == "archived"]
        picked = random.Random(self.seed).sample(archived, min(30, len(archived)))
        found_default = found_archived = found_off = 0
        ranks_archived, ranks_off = [], []
        for memory_id in picked:
            query = lookup_query(self.text[memory_id])
            found_default += memory_id in {h.id for h in self.user.recall(query, K)}
            rank = self.rank(Query("archived", query, memory_id), archived=True)[0]
            off = self.rank(Query("archived", query, memory_id), lifecycle=False)[0]
            found_archived, found_off = found_archived + (rank is not None), found_off + (off is not None)
            ranks_archived.append(rank)
            ranks_off.append(off)
        stored = sum(self.user.get(i).id == i for i in archived)
        return {
            "archived": len(archived),
            "archived_by_class": dict(Counter(self.class_of[i] for i in archived)),
            "still_stored": stored,
            "looked_up": len(picked),
            "found_by_default_recall": found_default,
            "found_with_archived_true": found_archived,
            "found_with_lifecycle_off": found_off,
            "archived_true": scores(ranks_archived) if picked else None,
            "lifecycle_off": scores(ranks_off) if picked else None,
        }

    def store_summary(self) -> dict:
        marks = Counter(min(n, 5) for n in self.helpful.values())
        return {
            "memories": self.user.count(),
            "by_class": dict(Counter(self.class_of.values())),
            "facts": len(self.facts),
            "facts_changed": sum(len(f.notes) > 1 for f in self.facts),
            "segments": [{"start": round(s.start, 1), "end": round(s.end, 1), "focus": s.focus} for s in self.segments],
            "never_focused": sorted(set(corpus.PROJECTS) - {s.focus for s in self.segments}),
            "history": dict(self.history),
            "memories_marked_helpful": {("5+" if n == 5 else str(n)): c for n, c in sorted(marks.items())},
            "memories_never_marked_helpful": len(self.class_of) - len(self.helpful),
            "steps": len(self.steps),
            "step_ms": percentiles([s * 1000 for s in self.steps]),
        }

    def close(self) -> None:
        for mem in self.agents.values():
            mem.close()
        self.user.close()


def lookup_query(text: str) -> str:
    return " ".join(text.split()[:8])


def sample(rng: random.Random, items: list, family: str) -> list:
    return rng.sample(items, min(len(items), SAMPLE[family]))


# -- figures ----------------------------------------------------------------------------------------------------------
def summarise(rows: list[dict]) -> dict:
    by_family: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_family[row["family"]].append(row)
    out = {}
    for family in FAMILIES:
        group = by_family.get(family, [])
        if not group:
            continue
        entry = {
            "n": len(group),
            "lc": scores([r["lc"] for r in group]),
            "base": scores([r["base"] for r in group]),
            "gold_zones": dict(Counter(r["zone"] for r in group)),
            "gold_uses_median": round(statistics.median(r["uses"] for r in group), 3),
            "lc_displaced_by": dict(Counter(r["lc_first_instead"] for r in group if r.get("lc_first_instead"))),
        }
        entry["delta"] = {m: round(entry["lc"][m] - entry["base"][m], 4) for m in METRICS}
        if family == "changed":
            entry["stale_above_current"] = {
                mode: round(sum(r[f"stale_above_{mode}"] for r in group) / len(group), 4) for mode in ("lc", "base")
            }
        archived = [r for r in group if r["zone"] == "archived"]
        if archived:
            entry["archived_gold"] = {
                "n": len(archived),
                "found_with_archived_true": sum(r["archived_true"] is not None for r in archived),
            }
        out[family] = entry
    for name, families in (("live", LIVE), ("dormant", DORMANT)):
        group = [r for r in rows if r["family"] in families]
        lc, base = scores([r["lc"] for r in group]), scores([r["base"] for r in group])
        out[name] = {"n": len(group), "lc": lc, "base": base, "delta": {m: round(lc[m] - base[m], 4) for m in METRICS}}
    return out


def mixture(rows: list[dict]) -> dict:
    """Future queries that follow past use with probability p (a live query), else ask for a dormant memory: the
    expected metric is p * live + (1 - p) * dormant; `break_even_p` is where the lifecycle neither helps nor hurts."""
    pooled = summarise(rows)
    live, dormant = pooled["live"], pooled["dormant"]
    out: dict = {}
    for metric in METRICS:
        gain, loss = live["delta"][metric], dormant["delta"][metric]
        row = {
            str(p): {
                "lc": round(p * live["lc"][metric] + (1 - p) * dormant["lc"][metric], 4),
                "base": round(p * live["base"][metric] + (1 - p) * dormant["base"][metric], 4),
            }
            for p in MIXTURE_P
        }
        row["break_even_p"] = round(-loss / (gain - loss), 4) if gain > 0 > loss else (0.0 if loss >= 0 else None)
        out[metric] = row
    return out


def falloff_sweep(rows: list[dict], swept: dict[str, list[int | None]]) -> dict:
    out = {}
    for falloff, ranks in swept.items():
        changed = [dict(r, lc=rank) for r, rank in zip(rows, ranks, strict=True)]
        families = summarise(changed)
        out[falloff] = {
            name: {"lc": families[name]["lc"], "delta": families[name]["delta"]}
            for name in (*FAMILIES, "live", "dormant")
            if name in families
        }
        out[falloff]["mixture_mrr_break_even_p"] = mixture(changed)["mrr"]["break_even_p"]
    return out


# -- experiments on constants -------------------------------------------------------------------------------------
def apply_settings(specs: list[str]) -> dict:
    """NAME=VALUE sets a constant of slm.lifecycle.langevin (or slm.lifecycle.steps), e.g. RANK_FALLOFF=0.03."""
    applied = {}
    for spec in specs:
        name, _, raw = spec.partition("=")
        owner = next((m for m in (langevin, lifecycle) if hasattr(m, name)), None)
        old = getattr(owner, name, None)
        if owner is None or not raw or not isinstance(old, (int, float)):
            raise SystemExit(
                f"--set {spec!r}: no numeric constant {name} in slm.lifecycle.langevin or slm.lifecycle.steps"
            )
        setattr(owner, name, type(old)(float(raw)))
        applied[name] = float(raw)
    langevin.TEMPERATURE = langevin.STIFFNESS * langevin.SPREAD**2
    return applied


def constants() -> dict:
    names = ("DECAY", "MIN_AGE_DAYS", "RHO_0", "W_IMPORTANCE", "W_TRUST", "W_CORROBORATION", "HELPFUL_USES")
    names += ("STIFFNESS", "SPREAD", "RANK_FALLOFF")
    return {name: getattr(langevin, name) for name in names} | {
        "ZONES": {n: b for n, b in langevin.ZONES if b != math.inf},
        "STEP_EVERY_DAYS": lifecycle.STEP_EVERY_DAYS,
    }


# -- Part 1: running the seeds ----------------------------------------------------------------------------------------
def simulate(args: argparse.Namespace, seed: int, db: Path) -> dict:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    began = time.perf_counter()
    sim = Simulation(args, seed, db)
    try:
        sim.plan()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"seed {seed}: simulated events", total=len(sim.queue))
            sim.run(lambda done, left: bar.update(task, completed=done, total=done + left))
        return {
            "seed": seed,
            "simulated_s": round(time.perf_counter() - began, 1),
            "store": sim.store_summary(),
            "checkpoints": sim.checkpoints,
            "switches": summarise_switches(sim.switches),
            "switch_evals": sim.switches,
            "zone_timeline": sim.timeline,
        }
    finally:
        sim.close()


def summarise_switches(switches: list[dict]) -> dict:
    out = {}
    for offset in SWITCH_OFFSETS_DAYS:
        group = [s for s in switches if s["offset_days"] == offset]
        if group:
            out[str(offset)] = {
                "switches": len(group),
                **{
                    f"{mode}_{metric}": round(statistics.fmean(s[mode][metric] for s in group), 4)
                    for mode in ("lc", "base")
                    for metric in ("hit_at_1", "mrr")
                },
            }
    return out


def medians(runs: list[dict]) -> dict:
    """The median over the seeds of each family's figures at the final checkpoint (and the per-seed values)."""
    finals = [run["checkpoints"][-1] for run in runs]
    out: dict = {"families": {}, "mixture": {}, "falloff_sweep": {}, "switches": {}}
    for family in (*FAMILIES, "live", "dormant"):
        present = [f["families"][family] for f in finals if family in f["families"]]
        if not present:
            continue
        entry = {"n": [p["n"] for p in present]}
        for mode in ("lc", "base", "delta"):
            entry[mode] = {m: median([p[mode][m] for p in present]) for m in METRICS}
        entry["per_seed_delta_mrr"] = [p["delta"]["mrr"] for p in present]
        if family == "changed":
            entry["stale_above_current"] = {
                mode: median([p["stale_above_current"][mode] for p in present]) for mode in ("lc", "base")
            }
        out["families"][family] = entry
    for metric in METRICS:
        out["mixture"][metric] = {
            str(p): {mode: median([f["mixture"][metric][str(p)][mode] for f in finals]) for mode in ("lc", "base")}
            for p in MIXTURE_P
        }
        out["mixture"][metric]["break_even_p"] = [f["mixture"][metric]["break_even_p"] for f in finals]
    for falloff in finals[0].get("falloff_sweep", {}):
        sweep = [f["falloff_sweep"][falloff] for f in finals]
        out["falloff_sweep"][falloff] = {
            name: {"mrr": median([s[name]["lc"]["mrr"] for s in sweep if name in s])}
            | {"delta_mrr": median([s[name]["delta"]["mrr"] for s in sweep if name in s])}
            | {"hit_at_1": median([s[name]["lc"]["hit_at_1"] for s in sweep if name in s])}
            for name in (*FAMILIES, "live", "dormant")
            if any(name in s for s in sweep)
        } | {"break_even_p": [s["mixture_mrr_break_even_p"] for s in sweep]}
    for offset in SWITCH_OFFSETS_DAYS:
        present = [run["switches"][str(offset)] for run in runs if str(offset) in run["switches"]]
        if present:
            out["switches"][str(offset)] = {
                key: median([p[key] for p in present]) for key in present[0] if key != "switches"
            } | {"switches": [p["switches"] for p in present]}
    out["archived_at_end"] = [f["zones"].get("archived", 0) for f in finals]
    out["zones_at_end"] = {z: median([f["zones"].get(z, 0) for f in finals]) for z, _ in langevin.ZONES}
    return out


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def print_summary(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    seeds = [run["seed"] for run in report["runs"]]
    med = report["medians"]
    title = f"lifecycle vs lifecycle=False, day {report['settings']['days']} (median of seeds {seeds})"
    table = Table(title=title)
    for column in ("family", "n", "hit@1 lc", "hit@1 off", "MRR lc", "MRR off", "ΔMRR", "NDCG lc", "NDCG off"):
        table.add_column(column, justify="left" if column == "family" else "right")
    table.add_column("ΔMRR per seed", justify="right")
    for family, row in med["families"].items():
        table.add_row(
            family,
            "/".join(map(str, row["n"])),
            f"{row['lc']['hit_at_1']:.3f}",
            f"{row['base']['hit_at_1']:.3f}",
            f"{row['lc']['mrr']:.3f}",
            f"{row['base']['mrr']:.3f}",
            f"{row['delta']['mrr']:+.3f}",
            f"{row['lc']['ndcg_at_10']:.3f}",
            f"{row['base']['ndcg_at_10']:.3f}",
            " ".join(f"{d:+.3f}" for d in row["per_seed_delta_mrr"]),
        )
    console.print(table)
    changed = med["families"].get("changed")
    if changed:
        stale = changed["stale_above_current"]
        console.print(
            f"changed facts: a stale note above the current one {stale['lc']:.3f} lc, {stale['base']:.3f} off"
        )
    mix = Table(title="mixture (MRR, median)", caption="p: a future query follows past use")
    for column in ("p", "lc", "off"):
        mix.add_column(column, justify="right")
    for p in MIXTURE_P:
        cell = med["mixture"]["mrr"][str(p)]
        mix.add_row(str(p), f"{cell['lc']:.3f}", f"{cell['base']:.3f}")
    console.print(mix)
    console.print(f"break-even p (MRR) per seed: {med['mixture']['mrr']['break_even_p']}")
    if med["switches"]:
        sw = Table(title="project questions of a new focus project (no project named), days after the switch")
        for column in ("days", "switches", "hit@1 lc", "hit@1 off", "MRR lc", "MRR off"):
            sw.add_column(column, justify="right")
        for offset, row in med["switches"].items():
            sw.add_row(
                offset,
                "/".join(map(str, row["switches"])),
                f"{row['lc_hit_at_1']:.3f}",
                f"{row['base_hit_at_1']:.3f}",
                f"{row['lc_mrr']:.3f}",
                f"{row['base_mrr']:.3f}",
            )
        console.print(sw)
    if med["falloff_sweep"]:
        fs = Table(
            title="RANK_FALLOFF at the final checkpoint (same store and history; MRR with the lifecycle, median)"
        )
        names = ("live", "dormant", "changed", "working_context", "dormant_facts", "dormant_context", "dormant_lookups")
        fs.add_column("falloff", justify="right")
        for name in names:
            fs.add_column(name, justify="right")
        fs.add_column("break-even p", justify="right")
        base = med["families"]
        fs.add_row("off", *(f"{base[n]['base']['mrr']:.3f}" if n in base else "-" for n in names), "")
        for falloff, row in med["falloff_sweep"].items():
            cells = [f"{row[n]['mrr']:.3f}" if n in row else "-" for n in names]
            fs.add_row(falloff, *cells, " ".join(str(p) for p in row["break_even_p"]))
        console.print(fs)
    days = [c["day"] for c in report["runs"][0]["checkpoints"]]
    over = Table(title="MRR over time, median of the seeds: lifecycle / off")
    over.add_column("family")
    for day in days:
        over.add_column(f"day {day}", justify="right")
    for name in ("live", "dormant", "changed", "working_context", "dormant_facts", "dormant_lookups"):
        cells = []
        for n, _ in enumerate(days):
            present = [run["checkpoints"][n]["families"].get(name) for run in report["runs"]]
            present = [p for p in present if p]
            if not present:
                cells.append("-")
                continue
            lc, base = (median([p[mode]["mrr"] for p in present]) for mode in ("lc", "base"))
            cells.append(f"{lc:.3f} / {base:.3f}")
        over.add_row(name, *cells)
    console.print(over)
    for run in report["runs"]:
        final, store = run["checkpoints"][-1], run["store"]
        console.print(
            f"seed {run['seed']}: {store['memories']} memories, {store['steps']} steps (p50 "
            f"{store['step_ms']['p50_ms']} ms), zones at the end {final['zones']}, archive check {final['archive']}, "
            f"simulated in {run['simulated_s']} s"
        )
        console.print(f"  zones by use at the end: {final['zones_by_use']}")
        console.print(
            "  zones over time: "
            + ", ".join(f"d{c['day']} {c['zones']}" for c in run["checkpoints"])
            + f"; history: {store['history']}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    floats = lambda text: [float(x) for x in text.split(",") if x]  # noqa: E731
    parser.add_argument(
        "--seeds", type=lambda text: [int(x) for x in text.split(",")], default=[1, 2, 3], help="one store per seed"
    )
    parser.add_argument("--days", type=int, default=150, help="simulated days")
    parser.add_argument("--memories", type=int, default=1500, help="memories in the store at the end (about)")
    parser.add_argument("--facts-per-service", type=int, default=5, help="facts with a known answer per service (≤ 8)")
    parser.add_argument("--onboard", type=float, default=0.4, help="share of the developer notes imported on day 0")
    parser.add_argument("--questions", type=int, default=16, help="questions a weekday")
    parser.add_argument("--fact-share", type=float, default=0.45, help="share of the questions about a fact")
    parser.add_argument(
        "--context-share", type=float, default=0.2, help="share of project questions (the rest: look-ups)"
    )
    parser.add_argument("--implicit", type=float, default=0.6, help="share of project questions without the project")
    parser.add_argument("--side", type=float, default=0.15, help="share of the work on another project than the focus")
    parser.add_argument("--change-rate", type=float, default=0.3, help="chance a weekday that a focus fact changes")
    parser.add_argument("--mark", type=float, default=0.8, help="chance an agent marks an answering hit helpful")
    parser.add_argument(
        "--no-log-recalls",
        dest="log_recalls",
        action="store_false",
        help="agents do not record_recall (the Python API and CLI do not; the MCP server does): uses are only "
        "storing and helpful feedback",
    )
    parser.add_argument("--every", type=int, default=30, help="a checkpoint every this many days")
    parser.add_argument(
        "--falloffs", type=floats, default=[0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2], help="RANK_FALLOFF values swept"
    )
    parser.add_argument("--store", type=Path, help="keep the stores in this folder (default: a temporary one)")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a constant of slm.lifecycle.langevin / slm.lifecycle.steps for this run, e.g. RANK_FALLOFF=0.03",
    )
    parser.add_argument("--step-store", type=Path, help="Part 2: time lifecycle steps on this existing store (a copy)")
    parser.add_argument("--step-reps", type=int, default=7, help="Part 2: steps timed per case")
    parser.add_argument("--step-recalls", type=int, default=100, help="Part 2: recalls logged before each busy step")
    args = parser.parse_args(argv)
    if not 1 <= args.facts_per_service <= len(TEMPLATES):
        parser.error(f"--facts-per-service is 1 to {len(TEMPLATES)}")
    return args


def command(argv: list[str] | None) -> str:
    env = [f"{name}={os.environ[name]}" for name in ("SLM_HOME", "SLM_THREADS") if name in os.environ]
    return shlex.join(
        [*env, ".venv/bin/python", "-m", "benchmarks.lifecycle"] + (sys.argv[1:] if argv is None else argv)
    )


def history(args: argparse.Namespace, argv: list[str] | None) -> dict:
    patched = apply_settings(args.set)
    began, load = time.perf_counter(), os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(prefix="slm-lifecycle-") as workdir:
        folder = args.store or Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            db = folder / f"lifecycle-seed{seed}.db"
            if db.exists():
                raise SystemExit(f"{db} exists: each simulation needs a new store")
            runs.append(simulate(args, seed, db))
    report = {
        "benchmark": "lifecycle",
        "command": command(argv),
        "machine": machine() | {"load_average_at_start": load, "load_average_at_end": os.getloadavg()},
        "slm": slm_version(),
        "settings": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if not k.startswith("step")
        },
        "patched_constants": patched,
        "constants": constants(),
        "medians": medians(runs),
        "runs": runs,
        "wall_s": round(time.perf_counter() - began, 1),
    }
    print_summary(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


# -- Part 2: one step at scale ----------------------------------------------------------------------------------------
def schema_version(path: Path) -> int:
    import apsw

    conn = apsw.Connection(f"file:{path}?mode=ro", flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def first_open(path: Path) -> dict[str, float]:
    """The calls of `Memory.open` in its order, each timed: migrating (0006 adds a lifecycle row per memory), the
    vector trigger, the one-off backfill of the Gaussians of multi-chunk memories."""
    parts = {}
    began = time.perf_counter()
    conn = open_connection(path)
    try:
        for name, call in (
            ("migrate_s", lambda: migrations.migrate(conn)),
            ("delete_trigger_s", lambda: vectors.ensure_delete_trigger(conn)),
            ("backfill_gaussians_s", lambda: memory_module._backfill_gaussians(conn)),
        ):
            t = time.perf_counter()
            call()
            parts[name] = round(time.perf_counter() - t, 2)
    finally:
        conn.close()
    return {"total_s": round(time.perf_counter() - began, 2), **parts}


def timed_steps(mem: Memory, reps: int, before: Callable[[], None] = lambda: None) -> tuple[list[float], list]:
    """The whole public call (fold, read, trust, step, write, commit), timed from outside, `reps` times."""
    seconds, reports = [], []
    for _ in range(reps):
        before()
        began = time.perf_counter()
        reports.append(mem.lifecycle_step())
        seconds.append(time.perf_counter() - began)
    return seconds, reports


def step_at_scale(args: argparse.Namespace, argv: list[str] | None) -> dict:
    path = args.step_store
    if not path.exists():
        raise SystemExit(f"no store at {path}")
    load = os.getloadavg()
    report: dict = {"store": str(path), "schema_before_open": schema_version(path)}
    report["first_open"] = first_open(path)
    began = time.perf_counter()
    mem = Memory.open(path, create=False)
    report["next_open_s"] = round(time.perf_counter() - began, 3)
    try:
        report |= {"memories": mem.count(), "gaussian_rows": mem.gaussians.count()}
        first, first_reports = timed_steps(mem, 1)  # the first step moves every memory from its birth
        report["first_step"] = {"ms": round(first[0] * 1000, 1), "zones": first_reports[0].zones}
        idle, idle_reports = timed_steps(mem, args.step_reps)
        report["idle"] = step_figures(idle)  # nothing to fold: the hourly timer of a quiet store
        queries = corpus.queries(args.step_recalls, seed=args.seeds[0])
        answered, recall_ms = [], []
        for query in queries:
            t = time.perf_counter()
            answered.append((query, mem.recall(query, K)))
            recall_ms.append((time.perf_counter() - t) * 1000)
        report["recall_ms"] = percentiles(recall_ms)

        def log_recalls() -> None:  # a busy hour: these recalls asked again, logged as the MCP server does
            for query, hits in answered:
                mem.record_recall(query, K, hits, agent="bench")

        busy, busy_reports = timed_steps(mem, args.step_reps, log_recalls)
        report["busy"] = step_figures(busy) | {"uses_folded": busy_reports[0].uses_folded}
        report["step_report_seconds_median_ms"] = round(statistics.median(r.seconds for r in busy_reports) * 1000, 1)
        parts = [r.parts_ms for r in idle_reports + busy_reports]  # as the step itself timed them
        report["parts_ms_median"] = {name: round(statistics.median(p[name] for p in parts), 2) for name in parts[0]}
        report["zones"] = mem.lifecycle_status()["zones"]
    finally:
        mem.close()
    report["target_ms"] = 1000
    report["met"] = report["busy"]["p90_ms"] <= 1000 and report["idle"]["p90_ms"] <= 1000
    print(json.dumps(report, indent=1))
    if args.out:
        out = {
            "benchmark": "lifecycle-step",
            "command": command(argv),
            "machine": machine() | {"load_average_at_start": load, "load_average_at_end": os.getloadavg()},
            "slm": slm_version(),
            "constants": constants(),
            "step": report,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    return report


def step_figures(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {
        "median_ms": round(float(np.median(ms)), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
        "max_ms": round(float(ms.max()), 1),
        "n": len(ms),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("SLM_HOME", DEFAULT_HOME)
    if args.step_store:
        return step_at_scale(args, argv)
    os.environ.setdefault("SLM_THREADS", "1")  # rankings, not latency: one thread does not spin on a shared machine
    return history(args, argv)


if __name__ == "__main__":
    main()
