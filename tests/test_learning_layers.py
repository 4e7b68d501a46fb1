"""The learner's layers and guard on hand-made behaviour (no store): what each layer learns from which signal, that
a question can override a preference, and that the guard keeps out a model that does not help."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from slm.recall.learning import learner
from slm.recall.learning.preferences import Preferences, appearances
from slm.recall.learning.project_context import ProjectContext
from slm.recall.learning.replay import Facts, Shown
from slm.recall.learning.workflows import Workflows


def fitted(layer, shown: list[Shown], facts: Facts):
    """A layer that has learned from `shown`, in order."""
    every = {r.id: r for r in shown}
    for r in shown:
        if isinstance(layer, Workflows):
            layer.add(r, every.get(r.previous), facts)
        else:
            layer.add(r, facts)
    return layer


def learned(shown: list[Shown], facts: Facts) -> learner.Model:
    model = learner.Model()
    for start in range(0, len(shown), 20):
        model.learn(shown[start : start + 20], {r.id: r for r in shown}, facts)
    return model


TECH = {"pytest": "technology", "unittest": "technology"}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _facts(memories: dict[int, tuple[str, list[str], np.ndarray]]) -> Facts:
    """memory id -> (project, entity names, vector)."""
    return Facts(
        {i: p for i, (p, _, _) in memories.items()},
        {
            i: tuple((name.lower(), name, TECH.get(name, "technology")) for name in names)
            for i, (_, names, _) in memories.items()
        },
        {i: _unit(v) for i, (_, _, v) in memories.items()},
        lambda query: frozenset(w for w in query.lower().split() if w in TECH),
    )


def _store(seed: int = 0, memories_per: int = 10):
    """Two technologies in two projects, two tasks (deploy, rollback) with their own directions."""
    rng = np.random.default_rng(seed)
    task_dir = {"deploy": rng.normal(size=16), "rollback": rng.normal(size=16)}
    memories, about = {}, {}
    n = 0
    for task in task_dir:
        for tech in TECH:
            for project in ("billing", "search"):
                for _ in range(memories_per):
                    n += 1
                    memories[n] = (project, [tech], task_dir[task] * 3 + rng.normal(size=16))
                    about[n] = (task, tech, project)
    return _facts(memories), about


def _log(about, count: int, rng: random.Random, relevant, workspace="billing", start: int = 0) -> list[Shown]:
    """Recalls of ten shuffled results of one task each; the user opens the relevant ones shown near the top
    (position bias), and one in two sessions goes on from deploy to rollback."""
    out, n = [], start
    while len(out) < count:
        session = f"s{n}"
        previous = None
        for task in ("deploy", "rollback") if rng.random() < 0.5 else ("deploy",):
            n += 1
            pool = [i for i, (t, _, _) in about.items() if t == task]
            results = tuple(rng.sample(pool, 10))
            positives = {i: 1.0 / (1.0 / r) for r, i in enumerate(results, 1)
                         if relevant(about[i], workspace) and rng.random() < 1.0 / r}  # fmt: skip
            positives = {i: min(w, 10.0) for i, w in positives.items()}
            lowest = max((results.index(i) for i in positives), default=-1)
            negatives = {i: 1.0 / (r + 1) for r, i in enumerate(results[:lowest]) if i not in positives}
            stamp = f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z"
            out.append(Shown(n, stamp, f"how to {task}", session, workspace, None, results, tuple(range(1, 11)),
                             positives, negatives, previous))  # fmt: skip
            previous = n
    return out


def test_preferences_learn_the_used_technology_over_its_rival():
    facts, about = _store()
    shown = _log(about, 200, random.Random(1), lambda a, _: a[1] == "pytest")
    prefs = fitted(Preferences(), shown, facts)
    assert prefs.scores["pytest"] > 0.5 > -0.5 > prefs.scores["unittest"]
    assert prefs.top(
        appearances(
            {r.id: list(r.results) for r in shown},
            {i: {key for key, _, _ in found} for i, found in facts.entities.items()},
            prefs.strong(),
        )
    )[0] == {
        "prefers": "pytest",
        "over": "unittest",
        "strength": pytest.approx(prefs.scores["pytest"] - prefs.scores["unittest"], abs=0.01),
    }
    ids = [i for i, a in about.items() if a[0] == "deploy"][:40]
    feature = prefs.feature(ids, facts, "how to deploy", frozenset())
    assert all((f > 0) == (about[i][1] == "pytest") for i, f in zip(ids, feature, strict=True))


def test_a_question_naming_a_technology_or_asking_who_turns_preferences_off():
    facts, about = _store()
    prefs = fitted(Preferences(), _log(about, 200, random.Random(1), lambda a, _: a[1] == "pytest"), facts)
    ids = list(about)[:20]
    assert not prefs.feature(ids, facts, "how to run unittest", frozenset({"unittest"})).any()
    assert not prefs.feature(ids, facts, "who set up the deploy", frozenset()).any()
    assert prefs.feature(ids, facts, "how to deploy", frozenset()).any()


def test_no_signal_no_preference():
    facts, _ = _store()
    assert Preferences().scores == {}
    assert not Preferences().feature([1, 2], facts, "deploy", frozenset()).any()


def test_project_context_favours_the_workspace_then_what_the_session_used():
    facts, about = _store()
    context = fitted(ProjectContext(), _log(about, 100, random.Random(2), lambda a, w: a[2] == w), facts)
    assert context.detected()[0]["project"] == "billing"
    assert context.distribution("search", [], frozenset()) == {"search": 1.0}
    assert context.distribution(None, ["billing", "billing"], frozenset()) == {"billing": 1.0}
    assert context.distribution(None, [], frozenset()) == {}
    mixed = context.distribution("search", ["billing"], frozenset())
    assert mixed["search"] > mixed["billing"] > 0
    ids = list(about)[:40]
    feature = context.feature(ids, facts, {"search": 1.0})
    assert all((f == 1.0) == (about[i][2] == "search") for i, f in zip(ids, feature, strict=True))


def test_workflows_learn_what_comes_next():
    facts, about = _store()
    shown = _log(about, 300, random.Random(3), lambda a, _: True)
    flows = fitted(Workflows(), shown, facts)
    assert flows.described()[0][0] == "how to deploy"
    deploys = [i for i, a in about.items() if a[0] == "deploy"]
    direction = flows.expected(facts.signature(deploys[:5]))
    assert direction is not None
    ids = list(about)
    feature = flows.feature(ids, facts, direction)
    rollback = np.mean([f for i, f in zip(ids, feature, strict=True) if about[i][0] == "rollback"])
    deploy = np.mean([f for i, f in zip(ids, feature, strict=True) if about[i][0] == "deploy"])
    assert rollback > deploy + 0.3
    assert Workflows().expected(facts.signature(deploys[:5])) is None


def test_the_guard_lets_in_a_model_that_helps_and_keeps_out_one_that_does_not():
    facts, about = _store()
    helps = learned(_log(about, 300, random.Random(4), lambda a, w: a[1] == "pytest" and a[2] == w), facts)
    assert helps.guard.active, helps.guard
    assert helps.guard.means()[1] > helps.guard.means()[0]
    assert helps.weights[learner.LAYERS.index("preference")] > 0
    assert helps.weights[learner.LAYERS.index("project")] > 0
    rng = random.Random(5)
    noise = learned(_log(about, 300, rng, lambda a, w: rng.random() < 0.3), facts)
    assert not noise.guard.active, noise.guard
    few = learned(_log(about, 10, random.Random(6), lambda a, w: a[1] == "pytest"), facts)
    assert not few.guard.active and "waiting" in few.guard.reason


def test_a_changed_taste_is_followed_within_two_hundred_recalls():
    facts, about = _store()
    rng = random.Random(7)
    before = _log(about, 400, rng, lambda a, _: a[1] == "pytest")
    after = _log(about, 200, rng, lambda a, _: a[1] == "unittest", start=before[-1].id)
    model = learned(before, facts)
    assert model.preferences.scores["pytest"] > 0 > model.preferences.scores["unittest"]
    every = {r.id: r for r in before + after}
    for start in range(0, len(after), 20):
        model.learn(after[start : start + 20], every, facts)
    assert model.preferences.scores["unittest"] > 0 > model.preferences.scores["pytest"]


def test_one_long_batch_learns_what_many_short_ones_do():
    """Learning afresh replays 2,000 recalls at once: the evidence ages as it goes, not all at the end."""
    facts, about = _store()
    shown = _log(about, 300, random.Random(9), lambda a, w: a[1] == "pytest" and a[2] == w)
    short = learned(shown, facts)
    long = learner.Model()
    long.learn(shown, {r.id: r for r in shown}, facts)
    assert long.preferences.scores["pytest"] == pytest.approx(short.preferences.scores["pytest"], rel=1e-6)
    assert long.guard.active and long.projects.detected()[0]["project"] == "billing"


def test_the_guard_backs_off_when_the_learned_ranking_stops_helping():
    guard = learner.Guard()
    for _ in range(learner.MIN_EVALUATED - 1):
        guard.observe(0.6, 0.8)
    assert not guard.active and "waiting for 1 more" in guard.reason
    guard.observe(0.6, 0.8)
    assert guard.active
    steps = 0
    while guard.active:
        guard.observe(0.6, 0.5)
        steps += 1
    assert steps <= 100 and "does not beat" in guard.reason


def test_when_what_helped_stops_helping_the_weights_let_go():
    """A user who moves to the other project and technology: the project weight falls to 0 within 60 recalls, the
    preference weight comes back once the preferences have flipped, and the learned ranking never loses."""
    facts, about = _store()
    rng = random.Random(8)
    model = learned(_log(about, 300, rng, lambda a, w: a[1] == "pytest" and a[2] == w), facts)
    assert model.guard.active and model.weights[learner.LAYERS.index("project")] > 1
    flipped = _log(about, 300, rng, lambda a, w: a[1] == "unittest" and a[2] != w, start=1000)
    every = {r.id: r for r in flipped}
    for start in range(0, len(flipped), 20):
        model.learn(flipped[start : start + 20], every, facts)
        base, with_learning = model.guard.means()
        assert with_learning >= base
        if start == 60:
            assert model.weights[learner.LAYERS.index("project")] == 0
    assert model.weights[learner.LAYERS.index("preference")] > 0.5
    assert model.preferences.scores["unittest"] > 0 > model.preferences.scores["pytest"]


def test_the_model_survives_its_round_trip():
    facts, about = _store()
    model = learned(_log(about, 300, random.Random(4), lambda a, w: a[1] == "pytest" and a[2] == w), facts)
    again = learner.Model.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again is not None and again.guard == model.guard
    assert np.allclose(again.weights, model.weights, atol=1e-4)
    ids = list(about)[:30]
    context = learner.Context("how to deploy", "billing", None, [], facts.signature(ids[:5]))
    assert np.allclose(learner.features(again, ids, facts, context), learner.features(model, ids, facts, context),
                       atol=1e-2)  # fmt: skip
    assert learner.Model.from_dict({**model.to_dict(), "format": 99}) is None
