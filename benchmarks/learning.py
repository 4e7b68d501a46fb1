"""Recall that learns each user (issue 23): simulated users with hidden profiles, scored on held-out queries.

Each user (`learning_corpus.Profile`: the technologies they use, 3–5 projects with one active at a time, tasks that
follow one another) has a real slm store of a few thousand developer memories, built once per seed and kept in
`--stores`. An agent works for them over simulated months through the API an MCP agent uses: `recall` and
`record_recall`, `get` of what it opens, sometimes `feedback`. Which results it opens follows a position-biased click
model: rank r is examined with probability 1/r^η, an examined result is opened with a probability set by its hidden
relevance (a little noise included). Held-out queries — phrasings the agent never uses — are scored after 0, 50, 200
and 1,000 interactions: NDCG@5 of recall as it is, and of an oracle that re-ranks the same top-50 candidates by the
hidden relevance (what a re-ranker could at best win). Neither ever writes to the store: they are asked, not used.

A learner plugs in with `--learner MODULE:CALLABLE` (or a name in `LEARNERS`): the callable takes the user's `Memory`
and returns an object with `recall(query, k, context, **options) -> list[Hit]` and `update(step)`, called after each
interaction. Its arm runs on its own copy of the store, with the same users and the same queries, and is compared
with recall without learning. Two scenarios of the issue are options: `--scenario taste` (the user switches most
technologies halfway) and `--scenario spam` (an agent calls `feedback(helpful)` on its own memories; their share
of the held-out top 5 says whether that bought them anything).

    SLM_THREADS=1 SLM_HOME=/tmp/slm-bench-home .venv/bin/python -m benchmarks.learning \
        --scenario normal --scenario taste --scenario spam --out benchmarks/results/learning-baseline.json
    ... -m benchmarks.learning --quick          # one small user, a minute
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import platform
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from benchmarks import learning_corpus as lc
from benchmarks import longmemeval as lme
from slm import Memory
from slm.recall.hits import Hit

ROOT = Path(__file__).resolve().parents[1]
AGENT = "claude-code"
SPAMMER = lc.SPAMMER
SHOWN = 10  # what the agent asks for and looks at
POOL = 50  # the candidates the oracle re-ranks
CUTOFF = 5  # NDCG@5
ETA = 1.0  # examination probability 1 / rank^ETA
OPEN_CHANCE = {0: 0.03, 1: 0.45, 2: 0.9}  # an examined result is opened with this chance, by hidden grade
FEEDBACK_CHANCE = 0.15  # an opened result gets feedback(helpful) with this chance
UNHELPFUL_CHANCE = 0.05  # an examined, irrelevant result gets feedback(not helpful) with this chance
SESSION_SWITCH = 0.1  # chance a session starts on another project: every ten sessions or so
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday: the simulation's first session


# -- the schedule: what the user asks, when, in which project ------------------------------------------------------
@dataclass(frozen=True)
class Asked:
    """One query: an interaction, or a held-out query (`previous` is the query before it in its session)."""

    step: int  # interactions before it
    when: str
    project: str  # the project being worked on (the agent's working directory names it)
    task: str
    text: str
    session: int
    previous: str | None
    names_project: bool  # whether the agent passes `project=` to recall


def _phrasings(task: str, held_out: bool, follow_up: bool) -> tuple[str, ...]:
    """Interactions use the first four phrasings of a task (and of a vague follow-up), held-out queries the rest:
    a held-out query is never a text the agent asked."""
    every = lc.FOLLOW_UPS if follow_up else lc.TASK[task].asks
    return every[4:] if held_out else every[:4]


def schedule(profile: lc.Profile, interactions: int, rng: random.Random) -> list[Asked]:
    """The user's interactions in order: sessions of one to four queries, a session mostly following the user's
    workflows (deploy, then rollback), on the active project, which changes now and then; weekdays 9 to 18."""
    out: list[Asked] = []
    project, when, session = profile.projects[0], START, 0
    while len(out) < interactions:
        session += 1
        if rng.random() < SESSION_SWITCH:
            project = rng.choice([p for p in profile.projects if p != project])
        task = _weighted(rng, profile.task_weights)
        previous = None
        for _ in range(4):
            follow_up = previous is not None
            text = rng.choice(_phrasings(task, False, follow_up and rng.random() < profile.vague))
            names = rng.random() < profile.names_project
            out.append(Asked(len(out), when.isoformat(), project, task, text, session, previous, names))
            when += timedelta(minutes=rng.randint(2, 15))
            if len(out) >= interactions or task not in lc.WORKFLOWS or rng.random() > profile.follow:
                break
            task, previous = lc.WORKFLOWS[task], text
        when = _next_session(when, rng)
    return out


def held_out(profile: lc.Profile, count: int, rng: random.Random) -> list[tuple[str, str, str | None, bool]]:
    """Held-out queries (task, text, previous query in its session or None, names project): the same list at every
    checkpoint, asked in the project active then. A third of those about a task that starts a workflow are
    follow-ups (about one in ten in all), a share of them vague."""
    out = []
    while len(out) < count:
        task = _weighted(rng, profile.task_weights)
        names = rng.random() < profile.names_project
        if rng.random() < 0.33 and task in lc.WORKFLOWS:
            before = rng.choice(_phrasings(task, True, False))
            after = lc.WORKFLOWS[task]
            text = rng.choice(_phrasings(after, True, rng.random() < profile.vague))
            out.append((after, text, before, names))
        else:
            out.append((task, rng.choice(_phrasings(task, True, False)), None, names))
    return out


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _next_session(when: datetime, rng: random.Random) -> datetime:
    when += timedelta(minutes=rng.randint(30, 240))
    if when.hour >= 18:
        when = (when + timedelta(days=1)).replace(hour=9, minute=rng.randint(0, 59))
    while when.weekday() >= 5:
        when += timedelta(days=1)
    return when


# -- the click model ----------------------------------------------------------------------------------------------
def examined(rank: int, eta: float = ETA) -> float:
    """Examination probability of 1-based `rank`: position bias."""
    return 1.0 / rank**eta


def clicks(grades: list[int], rng: random.Random, eta: float = ETA) -> list[int]:
    """0-based positions the agent opens, given the hidden grade of each shown result: examined with falling
    probability, opened if relevant (or by mistake, rarely)."""
    return [n for n, g in enumerate(grades) if rng.random() < examined(n + 1, eta) and rng.random() < OPEN_CHANCE[g]]


# -- ranking quality ----------------------------------------------------------------------------------------------
def ndcg(ranked_grades: list[int], all_grades: list[int], cutoff: int = CUTOFF) -> float | None:
    """NDCG@cutoff with gains 2^g - 1; the ideal is over every memory of the store, so an oracle confined to the
    candidates can stay below 1. None when nothing in the store is relevant."""
    ideal = sorted((g for g in all_grades if g > 0), reverse=True)[:cutoff]
    if not ideal:
        return None
    best = sum((2**g - 1) / math.log2(n + 2) for n, g in enumerate(ideal))
    got = sum((2**g - 1) / math.log2(n + 2) for n, g in enumerate(ranked_grades[:cutoff]))
    return got / best


# -- the learner hook ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """What a learner may know of a query besides its text: who asks, from which project's directory, in which
    session, after which queries. Never the hidden profile."""

    agent: str
    project: str
    session: int
    previous: tuple[str, ...]
    when: str


class Learner(Protocol):
    def recall(self, query: str, k: int, context: Context, **options) -> list[Hit]: ...

    def update(self, step: int) -> None: ...


class FeedbackBoost:
    """A naive reference, not the issue's learner: memories with net helpful feedback move up, whoever gave it. It
    shows the harness can see a learner's effect, and the spam scenario shows why the real one must not be it."""

    def __init__(self, mem: Memory) -> None:
        self.mem = mem
        self.net: dict[int, int] = {}

    def recall(self, query: str, k: int, context: Context, **options) -> list[Hit]:
        hits = self.mem.recall(query, max(k, POOL), **options)
        order = sorted(range(len(hits)), key=lambda n: (-min(self.net.get(hits[n].id, 0), 3), n))
        return [hits[n] for n in order][:k]

    def update(self, step: int) -> None:
        behavior = self.mem.existing_behavior()
        if behavior is None:
            return
        self.net = {}
        for _, _, memory_id, helpful in behavior.feedback_after(0):
            self.net[memory_id] = self.net.get(memory_id, 0) + (1 if helpful else -1)


class Personal:
    """slm's own learner (issue 23), as an MCP agent gets it: recall is told the caller's workspace and session,
    and the model trains every `slm.core.learning.LEARN_EVERY` recalls. A held-out follow-up has no logged session:
    what its previous question showed is passed instead (`follows`), as the log would have said."""

    def __init__(self, mem: Memory) -> None:
        self.mem = mem

    def recall(self, query: str, k: int, context: Context, **options) -> list[Hit]:
        where = {"workspace": context.project} if "project" not in options else {}
        follows = None
        if context.session < 0 and context.previous:
            follows = [h.id for h in self.mem.recall(context.previous[-1], SHOWN, **where)]
        return self.mem.recall(query, k, caller_session=_session(context.session), follows=follows, **where, **options)

    def update(self, step: int) -> None:
        self.mem.learning.update()


def _session(number: int) -> str:
    return f"bench-session-{number}"


LEARNERS: dict[str, Callable[[Memory], Learner]] = {"feedback-boost": FeedbackBoost, "slm": Personal}


def load_learner(spec: str) -> Callable[[Memory], Learner]:
    """A name in LEARNERS, or MODULE:CALLABLE."""
    if spec in LEARNERS:
        return LEARNERS[spec]
    module, _, name = spec.partition(":")
    if not name:
        raise SystemExit(f"--learner {spec!r}: give one of {sorted(LEARNERS)} or MODULE:CALLABLE")
    return getattr(importlib.import_module(module), name)


# -- stores -------------------------------------------------------------------------------------------------------
@dataclass
class User:
    seed: int
    index: int
    profile: lc.Profile
    store: Path  # the built store, copied for each arm
    truths: dict[int, lc.Truth]
    review: dict  # what the build's review found and approved (`_review`)


def _code_fingerprint() -> str:
    """Stores are rebuilt when the corpus code changes."""
    return hashlib.sha256((Path(__file__).parent / "learning_corpus.py").read_bytes()).hexdigest()[:12]


def build_user(seed: int, index: int, size: int, spam: int, stores: Path, cache: lme.EmbeddingCache) -> User:
    """The user of (seed, index) and their store, built on first use and then reused."""
    rng = random.Random(f"learning-{seed}-{index}")
    profile = lc.make_profile(rng, f"user-{seed}-{index}")
    folder = stores / f"s{seed}-u{index}-n{size}-spam{spam}-{_code_fingerprint()}"
    done = folder / "truths.json"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        items, truths = [], []
        written = START - timedelta(days=180)
        for n, (text, kind, truth) in enumerate(lc.corpus(rng, profile, size, spam)):
            when = written + timedelta(minutes=n * (180 * 24 * 60) // max(size + spam, 1))
            items.append({"text": text, "kind": kind, "project": truth.project, "agent": truth.author,
                          "time": when.isoformat()})  # fmt: skip
            truths.append(truth)
        with Memory.open(folder / "memory.db") as mem:
            mem.store.replace_embedder(cache.wrap(mem.embedder))
            ids = [int(s) for s in mem.remember_many(items, batch_size=64, imported=True)]
            review = _review(mem, {i for i, t in zip(ids, truths, strict=True) if t.author == SPAMMER})
        truth_of = {str(i): asdict(t) for i, t in zip(ids, truths, strict=True)}
        done.write_text(json.dumps({"truths": truth_of, "review": review}))
    built = json.loads(done.read_text())
    truths = {int(i): lc.Truth(**t) for i, t in built["truths"].items()}
    return User(seed, index, profile, folder / "memory.db", truths, built["review"])


def _review(mem: Memory, spam: set[int]) -> dict:
    """The user's review after the import: the sheaf check finds contradictions in the templated texts (two
    memories alike but for one slot) and the trust model then quarantines nearly all of their agents' memories, so
    the user approves those of their own agents (never the spammer's). What was found and approved is reported."""
    quarantined = [row.id for row, _ in mem.quarantine()]
    approved = mem.approve([i for i in quarantined if i not in spam])
    return {
        "memories": mem.count(),
        "open_contradictions": len(mem.contradictions(limit=1000)),
        "quarantined_after_import": len(quarantined),
        "approved": len(approved),
        "trust_after": {t["name"]: round(t["trust"], 3) for t in mem.trust_report()},
    }


def fresh_copy(user: User, where: Path) -> Path:
    """A copy of the user's built store, without behaviour: what one arm of one run may change."""
    where.mkdir(parents=True, exist_ok=True)
    for part in user.store.parent.glob("memory.db*"):
        shutil.copy2(part, where / part.name)
    return where / "memory.db"


# -- one run: a user, a scenario, an arm --------------------------------------------------------------------------
@dataclass
class Checkpoint:
    step: int
    recall: list[float] = field(default_factory=list)  # NDCG@5 per held-out query, recall as the arm serves it
    oracle: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # QUERY_KINDS, per held-out query
    spam_share: float = 0.0  # share of the top 5 the spammer's memories hold


def run_arm(
    user: User,
    scenario: str,
    learner: Callable[[Memory], Learner] | None,
    checkpoints: list[int],
    held: int,
    workdir: Path,
    cache: lme.EmbeddingCache,
) -> dict:
    """One user working through `max(checkpoints)` interactions on a fresh copy of their store, scored on the
    held-out queries at each checkpoint."""
    profile = user.profile
    total = max(checkpoints)
    if scenario == "taste":
        profile = lc.changed_taste(profile, total // 2, random.Random(f"taste-{user.seed}-{user.index}"))
    asked = schedule(profile, total, random.Random(f"schedule-{user.seed}-{user.index}"))
    tests = held_out(profile, held, random.Random(f"held-out-{user.seed}-{user.index}"))
    click_rng = random.Random(f"clicks-{user.seed}-{user.index}")
    spam_rng = random.Random(f"spam-{user.seed}-{user.index}")
    own_spam = {i for i, t in user.truths.items() if t.author == SPAMMER}
    results, timings = [], {"interaction": [], "evaluation": 0.0}
    with Memory.open(fresh_copy(user, workdir)) as mem:
        mem.store.replace_embedder(cache.wrap(mem.embedder))
        arm = learner(mem) if learner else None

        def ranked(query: str, k: int, context: Context, **options) -> list[Hit]:
            return arm.recall(query, k, context, **options) if arm else mem.recall(query, k, **options)

        for step in range(total + 1):
            if step in checkpoints:
                started = time.perf_counter()
                active = asked[min(step, total - 1)].project
                results.append(_evaluate(mem, ranked, user, profile, tests, active, step))
                timings["evaluation"] += time.perf_counter() - started
            if step == total:
                break
            started = time.perf_counter()
            _interact(mem, ranked, user, profile, asked[step], click_rng)
            if scenario == "spam":
                _spam(mem, asked[step], own_spam, spam_rng)
            if arm:
                arm.update(step + 1)
            timings["interaction"].append(time.perf_counter() - started)
        behaviour = mem.existing_behavior()
        recorded = {"recalls": behaviour.recall_count(), **behaviour.feedback_counts()} if behaviour else {}
    return {
        "checkpoints": results,
        "recorded": recorded,
        "interaction_ms_median": round(1000 * statistics.median(timings["interaction"]), 2),
        "evaluation_s": round(timings["evaluation"], 2),
    }


def _context(a: Asked, previous: tuple[str, ...], agent: str = AGENT) -> Context:
    return Context(agent, a.project, a.session, previous, a.when)


def _interact(mem: Memory, ranked, user: User, profile: lc.Profile, a: Asked, rng: random.Random) -> None:
    """The agent asks, the call is recorded as the MCP server records it, then it opens what it examined and found
    relevant, and now and then says whether a result helped."""
    options = {"project": a.project} if a.names_project else {}
    hits = ranked(a.text, SHOWN, _context(a, (a.previous,) if a.previous else ()), **options)
    where = {"project": a.project} if a.names_project else {"workspace": a.project}
    mem.record_recall(a.text, SHOWN, hits, agent=AGENT, session=_session(a.session), **where)
    prefers = profile.prefers_at(a.step)
    grades = [lc.grade(user.truths[h.id], a.task, a.project, prefers) for h in hits]
    opened = clicks(grades, rng)
    for n in opened:
        mem.get(hits[n].id)
        mem.record_use("get", [hits[n].id], agent=AGENT)  # as the MCP server logs a get
        if rng.random() < FEEDBACK_CHANCE:
            mem.feedback(hits[n].id, grades[n] > 0, query=a.text, agent=AGENT)
    for n, g in enumerate(grades[:3]):
        if g == 0 and n not in opened and rng.random() < UNHELPFUL_CHANCE:
            mem.feedback(hits[n].id, False, query=a.text, agent=AGENT)


def _spam(mem: Memory, a: Asked, own: set[int], rng: random.Random) -> None:
    """The spamming agent asks what the user asks and calls its own memories helpful: those it finds, and a few
    more by id."""
    hits = mem.recall(a.text, SHOWN)
    mem.record_recall(a.text, SHOWN, hits, agent=SPAMMER)
    mine = [h.id for h in hits if h.id in own] + rng.sample(sorted(own), min(2, len(own)))
    for memory_id in mine:
        mem.feedback(memory_id, True, query=a.text, agent=SPAMMER)


def _evaluate(mem: Memory, ranked, user: User, profile, tests, project: str, step: int) -> dict:
    """NDCG@5 of each held-out query as the arm ranks it and as the oracle re-ranks its top 50, asked in the
    active project; nothing is recorded."""
    prefers = profile.prefers_at(step)
    point = Checkpoint(step)
    spam_slots = 0
    for n, (task, text, previous, names) in enumerate(tests):
        options = {"project": project} if names else {}
        context = Context(AGENT, project, -1 - n, (previous,) if previous else (), "")
        hits = ranked(text, POOL, context, **options)
        grades = [lc.grade(user.truths[h.id], task, project, prefers) for h in hits]
        every = [lc.grade(t, task, project, prefers) for t in user.truths.values()]
        if names:
            every = [g for g, t in zip(every, user.truths.values(), strict=True) if t.project == project]
        score = ndcg(grades, every)
        if score is None:
            continue
        point.recall.append(score)
        point.oracle.append(ndcg(sorted(grades, reverse=True), every))
        point.kinds.append("follow-up" if previous else "names project" if names else "plain")
        spam_slots += sum(user.truths[h.id].author == SPAMMER for h in hits[:CUTOFF])
    point.spam_share = spam_slots / (CUTOFF * len(tests))
    return {
        "step": step,
        "queries": len(point.recall),
        "ndcg5": round(statistics.fmean(point.recall), 4),
        "oracle_ndcg5": round(statistics.fmean(point.oracle), 4),
        "spam_share_top5": round(point.spam_share, 4),
        "by_kind": {
            kind: {
                "queries": len(mine := [n for n, k in enumerate(point.kinds) if k == kind]),
                "ndcg5": round(statistics.fmean(point.recall[n] for n in mine), 4),
                "oracle_ndcg5": round(statistics.fmean(point.oracle[n] for n in mine), 4),
            }
            for kind in QUERY_KINDS
            if kind in point.kinds
        },
    }


QUERY_KINDS = ("plain", "names project", "follow-up")  # a follow-up may be vague: only its session says what it is


def by_kind(runs: list[dict], arm: str) -> dict:
    """Per kind of held-out query and checkpoint: the median over users of their mean NDCG@5 and the oracle's."""
    out = {}
    for kind in QUERY_KINDS:
        rows = []
        for n, point in enumerate(runs[0][arm]["checkpoints"]):
            found = [
                r[arm]["checkpoints"][n]["by_kind"][kind] for r in runs if kind in r[arm]["checkpoints"][n]["by_kind"]
            ]
            if found:
                rows.append({
                    "step": point["step"], "queries": sum(f["queries"] for f in found),
                    "ndcg5": round(statistics.median(f["ndcg5"] for f in found), 4),
                    "oracle_ndcg5": round(statistics.median(f["oracle_ndcg5"] for f in found), 4),
                })  # fmt: skip
        out[kind] = rows
    return out


# -- the whole benchmark ------------------------------------------------------------------------------------------
def checkpoints_for(scenario: str, total: int, base: list[int]) -> list[int]:
    """The issue's checkpoints; a taste change adds the moment it happens and 50 and 200 interactions after."""
    points = set(base) | {total}
    if scenario == "taste":
        half = total // 2
        points |= {half, min(half + 50, total), min(half + 200, total)}
    return sorted(points)


def summarise(runs: list[dict], arm: str, key: str) -> list[dict]:
    """Per checkpoint: median of the users' mean figure, its spread over users, and the median of each seed."""
    out = []
    for n, point in enumerate(runs[0][arm]["checkpoints"]):
        values = [r[arm]["checkpoints"][n][key] for r in runs]
        seeds = sorted({r["seed"] for r in runs})
        per_seed = {
            str(s): round(statistics.median(r[arm]["checkpoints"][n][key] for r in runs if r["seed"] == s), 4)
            for s in seeds
        }
        out.append({
            "step": point["step"], "median": round(statistics.median(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4), "per_seed_median": per_seed,
        })  # fmt: skip
    return out


def paired_gain(runs: list[dict], arm: str) -> list[dict]:
    """Per checkpoint: the median over users of the learner's NDCG@5 minus recall's, and the relative gain of the
    medians."""
    out = []
    for n, point in enumerate(runs[0]["recall"]["checkpoints"]):
        base = [r["recall"]["checkpoints"][n]["ndcg5"] for r in runs]
        got = [r[arm]["checkpoints"][n]["ndcg5"] for r in runs]
        diffs = [g - b for g, b in zip(got, base, strict=True)]
        out.append({
            "step": point["step"], "median_difference": round(statistics.median(diffs), 4),
            "min_difference": round(min(diffs), 4), "max_difference": round(max(diffs), 4),
            "relative_gain_of_medians": round(statistics.median(got) / max(statistics.median(base), 1e-9) - 1, 4),
        })  # fmt: skip
    return out


def users(seeds: list[int], per_seed: int, size: int, spam: int, stores: Path, cache) -> Iterator[User]:
    for seed in seeds:
        for index in range(per_seed):
            yield build_user(seed, index, size, spam, stores, cache)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--users", type=int, default=2, help="users per seed")
    parser.add_argument("--memories", type=int, default=2000, help="memories per user (besides the spammer's)")
    parser.add_argument("--spam-memories", type=int, default=60)
    parser.add_argument("--interactions", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[0, 50, 200, 1000])
    parser.add_argument("--held-out", type=int, default=60, help="held-out queries per user")
    parser.add_argument("--scenario", action="append", choices=("normal", "taste", "spam"))
    parser.add_argument("--learner", help=f"one of {sorted(LEARNERS)} or MODULE:CALLABLE; none: the baseline")
    parser.add_argument("--stores", type=Path, default=Path("/tmp/slm-learning-stores"))
    parser.add_argument("--quick", action="store_true", help="one seed, one user of 300 memories, 60 interactions")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.users, args.memories, args.spam_memories = args.seeds[:1], 1, 300, 20
        args.interactions, args.checkpoints, args.held_out = 60, [0, 20, 60], 20
    scenarios = args.scenario or ["normal"]
    learner = load_learner(args.learner) if args.learner else None
    cache = lme.EmbeddingCache(args.stores / "embeddings.sqlite")
    started = time.perf_counter()
    built = list(users(args.seeds, args.users, args.memories, args.spam_memories, args.stores, cache))
    build_s = time.perf_counter() - started
    report: dict = {
        "benchmark": "learning",
        "command": "python -m benchmarks.learning " + " ".join(argv if argv is not None else _argv()),
        "commit": _commit(),
        "machine": platform.node(),
        "settings": {
            "seeds": args.seeds,
            "users_per_seed": args.users,
            "memories_per_user": args.memories,
            "spam_memories": args.spam_memories,
            "interactions": args.interactions,
            "held_out": args.held_out,
            "shown": SHOWN,
            "oracle_pool": POOL,
            "eta": ETA,
            "open_chance": OPEN_CHANCE,
            "feedback_chance": FEEDBACK_CHANCE,
            "unhelpful_chance": UNHELPFUL_CHANCE,
            "learner": args.learner,
        },
        "build_s": round(build_s, 1),
        "scenarios": {},
    }
    with tempfile.TemporaryDirectory(prefix="slm-learning-") as tmp:
        for scenario in scenarios:
            points = checkpoints_for(
                scenario, args.interactions, [c for c in args.checkpoints if c <= args.interactions]
            )
            runs = []
            for user in built:
                run = {
                    "seed": user.seed,
                    "user": user.index,
                    "projects": len(user.profile.projects),
                    "store": user.review,
                }
                base = Path(tmp) / f"{scenario}-{user.seed}-{user.index}"
                run["recall"] = run_arm(user, scenario, None, points, args.held_out, base / "recall", cache)
                if learner:
                    run["learner"] = run_arm(user, scenario, learner, points, args.held_out, base / "learner", cache)
                runs.append(run)
                print(f"{scenario} seed {user.seed} user {user.index}: {_line(run)}", flush=True)
            summary = {
                "recall_ndcg5": summarise(runs, "recall", "ndcg5"),
                "oracle_ndcg5": summarise(runs, "recall", "oracle_ndcg5"),
                "spam_share_top5": summarise(runs, "recall", "spam_share_top5"),
                "recall_by_query_kind": by_kind(runs, "recall"),
            }
            if learner:
                summary |= {
                    "learner_ndcg5": summarise(runs, "learner", "ndcg5"),
                    "learner_spam_share_top5": summarise(runs, "learner", "spam_share_top5"),
                    "learner_gain": paired_gain(runs, "learner"),
                    "learner_by_query_kind": by_kind(runs, "learner"),
                }
            report["scenarios"][scenario] = {"checkpoints": points, "summary": summary, "runs": runs}
    report["total_s"] = round(time.perf_counter() - started, 1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    _print(report)
    return report


def _line(run: dict) -> str:
    parts = []
    for arm in ("recall", "learner"):
        if arm in run:
            parts.append(arm + " " + " ".join(f"{c['step']}:{c['ndcg5']:.3f}" for c in run[arm]["checkpoints"]))
    oracle = " ".join(f"{c['step']}:{c['oracle_ndcg5']:.3f}" for c in run["recall"]["checkpoints"])
    return f"{'; '.join(parts)}; oracle {oracle}"


def _print(report: dict) -> None:
    for scenario, found in report["scenarios"].items():
        print(f"\n{scenario}: NDCG@5 on held-out queries, median over users (min-max)")
        for name, rows in found["summary"].items():
            if name.endswith("by_query_kind"):
                for kind, points in rows.items():
                    cells = [f"{r['step']}: {r['ndcg5']:.3f} / {r['oracle_ndcg5']:.3f}" for r in points]
                    print(f"  {name[:-14] + ' ' + kind + ' / oracle':26} " + "  ".join(cells))
                continue
            if name.endswith("gain"):
                cells = [
                    f"{r['step']}: {r['median_difference']:+.3f} ({r['relative_gain_of_medians']:+.1%})" for r in rows
                ]
            else:
                cells = [f"{r['step']}: {r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f})" for r in rows]
            print(f"  {name:26} " + "  ".join(cells))
    print(f"\nbuild {report['build_s']} s, total {report['total_s']} s")


def _argv() -> list[str]:
    import sys

    return sys.argv[1:]


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
