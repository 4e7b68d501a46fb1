"""Recall that learns each user (issue 23), end to end on a real store: an agent's uses teach a preference and a
project, the guard lets the learned ranking in only once it helps, recall says what moved each hit, and the user's
switch, reset and erasure undo it; low-trust agents and self-endorsement teach nothing."""

from __future__ import annotations

import random

import pytest

from slm import Memory
from slm.errors import InvalidInput
from tests.faults import crash_at, db_arg

pytestmark = pytest.mark.both_backends

AGENT = "claude"
QUERIES = ("how do I run the tests", "run the test suite", "test command for this repo", "how are tests run here")
TOOLS = {
    "pytest": ("pytest -x with conftest.py fixtures", "pytest-xdist -n auto", "pytest.ini markers"),
    "unittest": ("python -m unittest discover", "TestCase subclasses with setUp", "unittest.mock patches"),
}


def fill(mem: Memory) -> dict[int, tuple[str, str]]:
    """Memories about running tests with pytest or unittest in two projects: id -> (tool, project)."""
    found = {}
    rng = random.Random(0)
    for n in range(6):
        for tool, lingo in TOOLS.items():
            for project in ("api", "web"):
                text = (
                    f"Tests in {project}: run them with {tool}, {rng.choice(lingo)}. Note {n} from the {project} wiki."
                )
                found[mem.remember(text, project=project, agent="writer")] = (tool, project)
    return found


@pytest.fixture
def notes(mem) -> dict[int, tuple[str, str]]:
    return fill(mem)


def work(mem: Memory, notes: dict, recalls: int, wants=("pytest", "api"), agent: str = AGENT, seed: int = 1) -> None:
    """An agent asks about running tests from the api workspace and opens what the user wants, seen near the top."""
    rng = random.Random(seed)
    for n in range(recalls):
        query, session = rng.choice(QUERIES), f"session-{seed}-{n // 2}"
        hits = mem.recall(query, 8, workspace="api", caller_session=session)
        mem.record_recall(query, 8, hits, agent=agent, session=session, workspace="api")
        for rank, hit in enumerate(hits, 1):
            if notes[hit.id] == wants and rng.random() < 1.0 / rank:
                mem.record_use("get", [hit.id], agent=agent)


def share_wanted(mem: Memory, notes: dict, wants=("pytest", "api"), **options) -> float:
    """The share of the top three, over the agent's questions and two it never asked, that the user wants."""
    asked = [*QUERIES, "what runs our tests", "testing setup"]
    top = [h.id for q in asked for h in mem.recall(q, 3, workspace="api", **options)]
    return sum(notes[i] == wants for i in top) / len(top)


def test_nothing_learned_changes_nothing(mem, notes):
    assert mem.learning.learn()["in_effect"] is False
    status = mem.learning.status()
    assert status["enabled"] and not status["in_effect"] and "nothing learned" in status["why"]
    plain = [h.id for h in mem.recall("how do I run the tests", 8, learning=False)]
    assert [h.id for h in mem.recall("how do I run the tests", 8, workspace="api", caller_session="x")] == plain
    assert not any("learned" in h.channels for h in mem.recall("how do I run the tests", 8))


def test_uses_teach_a_preference_and_a_project_and_recall_follows_them(mem, notes):
    before = share_wanted(mem, notes)
    work(mem, notes, 80)
    status = mem.learning.learn(force=True)
    assert status["in_effect"], status["why"]
    assert status["held_out"]["with_learning"] > status["held_out"]["without_learning"]
    assert any(p["prefers"].lower() == "pytest" for p in status["preferences"]), status["preferences"]
    assert status["projects"][0]["project"] == "api"
    after = share_wanted(mem, notes)
    assert after >= 0.9 and after > before + 0.2
    hits = mem.recall("what runs our tests", 5, workspace="api")
    moved = hits[0].channels["learned"]
    assert moved.rank >= 1 and set(moved.parts) == {"preference", "project", "workflow"}
    assert share_wanted(mem, notes, learning=False) == before  # the option: as without learning
    assert [h.id for h in mem.recall("what runs our tests", 5, learning=False)] == [
        h.id for h in mem.recall("what runs our tests", 5, ranker=None, learning=False)
    ]


def test_a_question_naming_the_rival_gets_the_rival(mem, notes):
    work(mem, notes, 80)
    assert mem.learning.learn(force=True)["in_effect"]
    hits = mem.recall("how to run unittest", 5, workspace="api")
    assert sum(notes[h.id][0] == "unittest" for h in hits) >= 4


def test_the_base_ranks_are_logged_so_the_learner_never_trains_on_its_own_order(mem, notes):
    work(mem, notes, 80)
    assert mem.learning.learn(force=True)["in_effect"]
    hits = mem.recall("how do I run the tests", 8, workspace="api", caller_session="later")
    mem.record_recall("how do I run the tests", 8, hits, agent=AGENT, session="later", workspace="api")
    last = mem.existing_behavior().recalls_since()[-1]
    assert last.base_ranks == [h.channels["learned"].rank for h in hits]
    assert sorted(last.base_ranks) != last.base_ranks or last.base_ranks == list(range(1, 9))


def test_learning_reorders_the_candidates_of_recall_without_it(mem, notes):
    """The same candidates, weighed the same way: each hit's rank before learning is its place among them (before
    updates are put above what they replaced, which these notes' claims do a lot)."""
    work(mem, notes, 80)
    assert mem.learning.learn(force=True)["in_effect"]
    without = {h.id for h in mem.recall("what runs our tests", 24, learning=False)}
    learned = mem.recall("what runs our tests", 24, workspace="api")
    assert {h.id for h in learned} == without
    assert sorted(h.channels["learned"].rank for h in learned) == list(range(1, 25))


def test_off_on_and_reset(mem, notes):
    work(mem, notes, 80)
    assert mem.learning.learn(force=True)["in_effect"]
    plain = [h.id for h in mem.recall("what runs our tests", 5, learning=False)]
    mem.learning.set_enabled(False)
    assert [h.id for h in mem.recall("what runs our tests", 5, workspace="api")] == plain
    status = mem.learning.status()
    assert not status["enabled"] and not status["in_effect"] and "off" in status["why"]
    assert mem.learning.learn(force=True)["in_effect"] is False  # off trains nothing
    mem.learning.set_enabled(True)
    assert mem.learning.status()["in_effect"]
    reset = mem.learning.reset()
    assert reset["forgot"] >= 1
    status = mem.learning.status()
    assert not status["in_effect"] and status["recalls_since_reset"] == 0
    assert [h.id for h in mem.recall("what runs our tests", 5, workspace="api")] == plain
    assert mem.learning.learn(force=True)["in_effect"] is False  # the old log no longer teaches
    with pytest.raises(InvalidInput, match="true or false"):
        mem.learning.set_enabled("yes")


@pytest.mark.parametrize(
    ("options", "says"),
    [({"follows": 3}, "list of memory ids"), ({"follows": ["x"]}, "memory id"), ({"workspace": ""}, "workspace"),
     ({"caller_session": 5}, "session"), ({"learning": "no"}, "learning")],
)  # fmt: skip
def test_bad_learning_options_are_clear_errors(mem, notes, options, says):
    with pytest.raises(InvalidInput, match=says):
        mem.recall("what runs our tests", 5, **options)


def test_erasing_behaviour_erases_what_was_learned(mem, notes):
    work(mem, notes, 80)
    assert mem.learning.learn(force=True)["in_effect"]
    mem.transfers.erase_behavior()
    assert not mem.learning.status()["in_effect"]
    assert mem.existing_behavior().learned_state("model") is None
    plain = [h.id for h in mem.recall("what runs our tests", 5, learning=False)]
    assert [h.id for h in mem.recall("what runs our tests", 5, workspace="api")] == plain


def test_a_distrusted_agent_teaches_nothing(mem, notes):
    written = [
        mem.remember(f"Mole note {n}: always use unittest in web", project="web", agent="mole") for n in range(3)
    ]
    mem.reject(written)  # the user rejects its writes: its trust falls below what trains the learner
    work(mem, notes, 40, wants=("unittest", "web"), agent="mole")
    mem.learning.learn(force=True)
    work(mem, notes, 40, wants=("unittest", "web"), agent="mole", seed=2)
    status = mem.learning.learn(force=True)
    assert not status["in_effect"]
    learned_through = mem.learning.model().processed  # the newest recall waits for its uses
    uses = [u for u in mem.existing_behavior().uses_since() if u.recall_id <= learned_through]
    assert status["trained"]["labelled"] == 0 and status["trained"]["left_out"]["low_trust"] == len(uses) > 0
    assert not status["preferences"]


def test_an_agent_praising_its_own_memories_gains_nothing(mem, notes):
    own = [mem.remember(f"Pro tip {n}: run the tests with unittest discover", project="api", agent="spammer")
           for n in range(4)]  # fmt: skip
    for n in range(60):
        hits = mem.recall(QUERIES[n % 4], 8, workspace="api")
        mem.record_recall(QUERIES[n % 4], 8, hits, agent="spammer", session=f"spam-{n}", workspace="api")
        for memory_id in own:
            mem.feedback(memory_id, True, agent="spammer")
    status = mem.learning.learn(force=True)
    assert not status["in_effect"] and status["trained"]["left_out"]["self_endorsement"] > 0
    plain = [h.id for h in mem.recall("what runs our tests", 8, learning=False)]
    assert [h.id for h in mem.recall("what runs our tests", 8, workspace="api")] == plain


def test_explicit_feedback_teaches_without_any_use(mem, notes):
    """Helpful on the wanted notes and unhelpful on their rivals, nothing opened: feedback alone teaches."""
    rng = random.Random(3)
    for n in range(80):
        query, session = rng.choice(QUERIES), f"feedback-{n // 2}"
        hits = mem.recall(query, 8, workspace="api", caller_session=session)
        mem.record_recall(query, 8, hits, agent=AGENT, session=session, workspace="api")
        for rank, hit in enumerate(hits[:4], 1):
            if rng.random() < 1.0 / rank:
                mem.feedback(hit.id, notes[hit.id] == ("pytest", "api"), query=query, agent=AGENT)
    status = mem.learning.learn(force=True)
    assert mem.existing_behavior().use_counts()["get"] == 0
    assert status["in_effect"], status["why"]
    assert any(p["prefers"].lower() == "pytest" for p in status["preferences"])


@pytest.mark.parametrize("step", ["learn.placeholder", "learn.learned"])
def test_a_kill_while_learning_leaves_the_model_before_and_learning_again_completes(mem, notes, store_at, step):
    work(mem, notes, 80)
    plain = [h.id for h in mem.recall("what runs our tests", 5, learning=False)]
    script = (
        f"from slm import Memory\nwith Memory.open({db_arg(store_at)!r}) as mem:\n    mem.learning.update(force=True)\n"
    )
    crash_at(step, script)
    assert mem.learning.model() is None and not mem.learning.status()["in_effect"]
    assert [h.id for h in mem.recall("what runs our tests", 5, workspace="api")] == plain
    assert mem.learning.learn(force=True)["in_effect"]
