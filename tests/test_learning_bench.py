"""The learning benchmark (issue 23): its click model, the relevance a hidden profile gives, the held-out split, and
a quick run end to end on a small real store with real embeddings.

The benchmark copies its built SQLite store for each arm of a run, so these tests run on SQLite alone."""

from __future__ import annotations

import itertools
import random

import pytest

from benchmarks import learning as lb
from benchmarks import learning_corpus as lc
from benchmarks import longmemeval as lme
from slm import Memory

PROFILE = lc.Profile(
    "tester",
    ["billing", "search", "payments"],
    {c: options[0] for c, options in lc.CATEGORIES.items()},  # pytest, PostgreSQL, Kubernetes, …
    {t.name: 1.0 for t in lc.TASKS},
)


def test_position_bias_makes_low_ranks_opened_less_often():
    rng = random.Random(5)
    opened = [0] * lb.SHOWN
    for _ in range(4000):
        for n in lb.clicks([2] * lb.SHOWN, rng):  # every result equally relevant: only the position differs
            opened[n] += 1
    rates = [o / 4000 for o in opened]
    assert rates[0] == pytest.approx(lb.OPEN_CHANCE[2], abs=0.03)
    assert rates[4] == pytest.approx(lb.OPEN_CHANCE[2] / 5, abs=0.03)
    assert rates[0] > 3 * rates[4] > 0
    assert rates[9] < rates[4]


def test_without_position_bias_every_rank_is_opened_alike():
    rng = random.Random(6)
    opened = [0] * lb.SHOWN
    for _ in range(3000):
        for n in lb.clicks([2] * lb.SHOWN, rng, eta=0.0):
            opened[n] += 1
    assert max(opened) - min(opened) < 0.06 * 3000


def test_irrelevant_results_are_rarely_opened_wherever_they_are():
    rng = random.Random(7)
    irrelevant = sum(len(lb.clicks([0] * lb.SHOWN, rng)) for _ in range(3000))
    relevant = sum(len(lb.clicks([2] * lb.SHOWN, rng)) for _ in range(3000))
    assert 0 < irrelevant < 0.1 * relevant  # noise: now and then, never as often as a relevant one


def test_relevance_follows_the_profile_task_technology_and_project():
    mine = lc.Truth("migration", "PostgreSQL", "billing", "claude-code")
    rival = lc.Truth("migration", "MySQL", "billing", "claude-code")
    elsewhere = lc.Truth("migration", "PostgreSQL", "search", "cursor")
    other_task = lc.Truth("backfill", "PostgreSQL", "billing", "claude-code")
    noise = lc.Truth(None, None, "billing", "user")
    spam = lc.Truth("migration", "PostgreSQL", "billing", lc.SPAMMER)
    prefers = PROFILE.prefers
    assert lc.grade(mine, "migration", "billing", prefers) == 2
    assert lc.grade(elsewhere, "migration", "billing", prefers) == 1
    assert lc.grade(rival, "migration", "billing", prefers) == 0
    assert lc.grade(other_task, "migration", "billing", prefers) == 0
    assert lc.grade(noise, "migration", "billing", prefers) == 0
    assert lc.grade(spam, "migration", "billing", prefers) == 0
    no_technology = lc.Truth("postmortem", None, "billing", "user")
    assert lc.grade(no_technology, "postmortem", "billing", prefers) == 2


def test_a_change_of_taste_changes_relevance_from_then_on():
    changed = lc.changed_taste(PROFILE, 500, random.Random(1))
    flipped = [c for c in lc.CATEGORIES if changed.prefers_at(500)[c] != PROFILE.prefers[c]]
    assert len(flipped) == (len(lc.CATEGORIES) * 2) // 3
    assert changed.prefers_at(499) == PROFILE.prefers
    category = flipped[0]
    task = next(t.name for t in lc.TASKS if t.category == category)
    old = lc.Truth(task, PROFILE.prefers[category], "billing", "claude-code")
    assert lc.grade(old, task, "billing", changed.prefers_at(0)) == 2
    assert lc.grade(old, task, "billing", changed.prefers_at(500)) == 0


def test_ndcg_is_one_for_the_ideal_order_and_none_without_relevant_memories():
    store = [2, 2, 1, 0, 0, 0, 1]
    assert lb.ndcg([2, 2, 1, 1, 0], store) == pytest.approx(1.0)
    assert lb.ndcg([0, 0, 1, 2, 2], store) < lb.ndcg([2, 1, 0, 0, 2], store) < 1
    assert lb.ndcg([2, 0, 0, 0, 0], [2, 2, 2, 2, 2, 2]) < 0.5  # the ideal is the store's, not the candidates'
    assert lb.ndcg([0, 0], [0, 0, 0]) is None


def test_held_out_queries_are_never_phrased_as_an_interaction():
    asked = {a.text for a in lb.schedule(PROFILE, 3000, random.Random(2))}
    held = lb.held_out(PROFILE, 400, random.Random(3))
    assert {text for _, text, _, _ in held}.isdisjoint(asked)
    assert {previous for _, _, previous, _ in held if previous}.isdisjoint(asked)
    assert any(previous for _, _, previous, _ in held)  # some are follow-ups in a session


def test_a_schedule_follows_workflows_and_moves_between_projects():
    asked = lb.schedule(PROFILE, 1000, random.Random(4))
    assert [a.step for a in asked] == list(range(1000))
    follow_ups = [(b.task, a.task) for b, a in itertools.pairwise(asked) if a.session == b.session]
    assert follow_ups and all(lc.WORKFLOWS[before] == after for before, after in follow_ups)
    assert len({a.project for a in asked}) > 1
    assert [a.when for a in asked] == sorted(a.when for a in asked)


@pytest.fixture(scope="module")
def tiny_user(tmp_path_factory, slm_home):
    """A small real store (real MiniLM embeddings) of a simulated user, with a few spam memories."""
    stores = tmp_path_factory.mktemp("learning-stores")
    cache = lme.EmbeddingCache(stores / "embeddings.sqlite")
    return lb.build_user(7, 0, 150, 10, stores, cache), cache


def test_interactions_go_through_the_api_and_held_out_queries_leave_no_trace(tiny_user, tmp_path):
    user, cache = tiny_user
    run = lb.run_arm(user, "normal", None, [0, 30], 15, tmp_path / "arm", cache)
    assert [c["step"] for c in run["checkpoints"]] == [0, 30]
    assert run["recorded"]["recalls"] == 30  # one per interaction: none for the held-out queries
    held = {text for _, text, _, _ in lb.held_out(user.profile, 15, random.Random("held-out-7-0"))}
    with Memory.open(tmp_path / "arm" / "memory.db") as mem:
        recorded = {q for (q,) in mem.behavior.conn.execute("SELECT query FROM recalls").fetchall()}
        asked = {a.text for a in lb.schedule(user.profile, 30, random.Random("schedule-7-0"))}
        assert recorded == asked
        assert recorded.isdisjoint(held)
    with Memory.open(user.store) as built:
        assert built.existing_behavior() is None  # arms run on copies: the built store never learns anything


def test_the_spam_scenario_records_the_spammers_feedback_on_its_own_memories(tiny_user, tmp_path):
    user, cache = tiny_user
    run = lb.run_arm(user, "spam", None, [0, 20], 10, tmp_path / "arm", cache)
    spam = {i for i, t in user.truths.items() if t.author == lc.SPAMMER}
    with Memory.open(tmp_path / "arm" / "memory.db") as mem:
        rows = mem.behavior.conn.execute("SELECT memory_id, helpful, agent FROM feedback").fetchall()
    by_spammer = [(m, h) for m, h, agent in rows if agent == lc.SPAMMER]
    assert len(by_spammer) >= 40 and all(h == 1 and m in spam for m, h in by_spammer)
    assert run["recorded"]["recalls"] == 40  # the user's 20 and the spammer's 20


def test_quick_run_end_to_end_with_a_learner(tmp_path, slm_home):
    report = lb.main(["--quick", "--stores", str(tmp_path), "--learner", "feedback-boost"])
    found = report["scenarios"]["normal"]
    assert found["checkpoints"] == [0, 20, 60]
    (run,) = found["runs"]
    assert run["store"]["quarantined_after_import"] >= run["store"]["approved"]
    assert run["recall"]["recorded"]["recalls"] == 60 and run["learner"]["recorded"]["recalls"] == 60
    for arm in ("recall", "learner"):
        for point in run[arm]["checkpoints"]:
            assert 0 <= point["ndcg5"] <= point["oracle_ndcg5"] <= 1  # the oracle re-ranks the same candidates
            kinds = point["by_kind"]
            assert sum(k["queries"] for k in kinds.values()) == point["queries"]
            assert all(k["ndcg5"] <= k["oracle_ndcg5"] for k in kinds.values())
    # before any interaction the learner knows nothing: it ranks as recall does
    assert run["learner"]["checkpoints"][0]["ndcg5"] == run["recall"]["checkpoints"][0]["ndcg5"]
    assert [g["step"] for g in found["summary"]["learner_gain"]] == [0, 20, 60]


def test_a_learner_is_named_or_given_as_module_and_callable():
    assert lb.load_learner("feedback-boost") is lb.FeedbackBoost
    assert lb.load_learner("benchmarks.learning:FeedbackBoost") is lb.FeedbackBoost
    with pytest.raises(SystemExit, match="MODULE:CALLABLE"):
        lb.load_learner("no-such-learner")
