"""The learned ranking end to end: question analysis, session neighbours, the features, the ranker file; on both
backends where a store is used (the keyword channel and session reads are the backend's)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from slm.errors import InvalidInput, ModelError
from slm.recall import ranker as ranking
from slm.recall.candidates import Reads
from slm.recall.features import FEATURES, SESSION_FEATURES
from slm.recall.query import analyse, coverage, speaker_of, stem
from slm.storage.memories import neighbours_in
from tests.test_cli import run

pytestmark = pytest.mark.both_backends

CHAT = [  # one conversation in two sessions, and a note from another project
    ("s1", "Emi", "Where did you go for the holidays?"),
    ("s1", "Elise", "Lisbon! The custard tarts were amazing"),
    ("s1", "Emi", "Nice, I want to go there too"),
    ("s1", "Elise", "You should, it is cheap in winter"),
    ("s2", "Emi", "My sister started a pottery class"),
    ("s2", "Elise", "Cool, does she like it?"),
    ("s2", "Emi", "She loves it, she goes every Tuesday"),
]


@pytest.fixture
def chat(mem):
    items = [{"text": t, "session": s, "meta": {"speaker": who}} for s, who, t in CHAT]
    ids = mem.remember_many(items, project="friends")
    mem.remember("Lisbon office moves to a new building", project="work")
    return mem, [int(i) for i in ids]


def test_question_analysis_finds_names_phrases_and_content_words():
    q = analyse('What did Caroline\'s brother say about "the blue house" in Lisbon?')
    assert q.names == {"caroline", "lisbon"}
    assert q.phrases == ("the blue house",) and q.match.endswith(' OR "the blue house"')
    assert {"brother", "blue", "house", "lisbon"} <= set(q.stems) and "s" not in q.stems
    assert "what" not in q.names and "the" not in q.stems
    assert analyse("🚀 ???").match is None and analyse("🚀 ???").stems == ()
    assert stem("hobbies") == "hobb" and stem("cooking") == "cook" and stem("is") == "is"


def test_speaker_comes_from_meta_only():
    assert speaker_of({"speaker": "Emi"}) == "emi"
    assert speaker_of({"role": "user", "speaker": " "}) == "user"
    assert speaker_of({"speaker": 3}) is None
    assert speaker_of({}) is None  # "Decision: …" or "ETL note 3: …" in the text names no speaker


def test_coverage_counts_question_words_a_memory_contains():
    q = analyse("which hobbies does Kate enjoy, cooking or skiing?")
    assert coverage(q, "Kate loves cooking!") == pytest.approx(2 / len(q.stems))
    assert coverage(q, "Skates, not skiing-trips") == pytest.approx(1 / len(q.stems))  # a stem starts a word
    assert coverage(analyse("???"), "anything") == 0.0


def test_coverage_takes_a_short_form_for_its_word_either_way():
    assert coverage(analyse("which database?"), "Postgres 16, db decision") == 1.0
    assert coverage(analyse("the db config"), "Databases and their configuration") == 1.0
    assert coverage(analyse("which database?"), "dbt models") == 0.0  # a short form counts as a whole word


def test_coverage_reads_a_memorys_tags_and_kind(mem):
    first = mem.remember("Bob wants TypeScript strict mode everywhere", tags=["style"], kind="preference")
    mem.remember("Design tokens come from the Figma library")
    found, features = mem.recall_candidates("coding style preferences")
    share = {c.id: row[FEATURES.index("coverage")] for c, row in zip(found, features, strict=True)}
    assert share[first] == pytest.approx(2 / 3)


def test_session_neighbours_stay_in_their_session_and_skip_old_versions(chat):
    mem, ids = chat
    around = neighbours_in(*mem.repo.session_members([ids[1], ids[4]]), 2)
    assert around[ids[1]] == [(-1, ids[0]), (1, ids[2]), (2, ids[3])]
    assert around[ids[4]] == [(1, ids[5]), (2, ids[6])]  # the first of s2: nothing of s1 before it
    newer = mem.update(ids[2], "Nice, I want to go to Lisbon too")
    around = neighbours_in(*mem.repo.session_members([ids[1]]), 2)[ids[1]]
    assert (1, ids[2]) not in around and int(newer) in {i for _, i in around}  # the update, not the old version
    assert neighbours_in(*mem.repo.session_members([mem.remember("no session here")]), 2) == {}


def test_session_members_are_the_current_memories_of_each_session(chat):
    mem, ids = chat
    newer = int(mem.update(ids[2], "Nice, I want to go to Lisbon too"))
    sessions, members = mem.repo.session_members([ids[0], ids[5], mem.remember("no session")])
    assert sessions == {ids[0]: ("friends", "s1"), ids[5]: ("friends", "s2")}
    assert members == {("friends", "s1"): [ids[0], ids[1], ids[3], newer], ("friends", "s2"): ids[4:]}


def test_rows_read_ahead_are_the_rows_the_repository_gives(chat):
    mem, ids = chat
    asked = [ids[5], ids[0], mem.remember("no session"), 10**9, ids[0]]
    for ahead in ([], ids[4:6], [ids[0], 10**9], asked):
        reads = Reads(mem.repo)
        reads.read_ahead(ahead)
        sessions, members = reads.session_members(asked)
        want_sessions, want_members = mem.repo.session_members(asked)
        assert sessions == want_sessions and list(sessions) == list(dict.fromkeys(i for i in asked if i in sessions))
        assert all(members[key] == want_members[key] for key in want_members)
        assert reads.get_many(asked) == mem.repo.get_many(asked)


def test_a_reply_is_scored_with_the_question_it_answers(chat):
    mem, ids = chat
    found, features = mem.recall_candidates("where did you go for the holidays?")
    row = {c.id: features[n] for n, c in enumerate(found)}
    column = FEATURES.index
    reply = row[ids[1]]  # "Lisbon! …": none of the question's words, but the turn before has them
    assert reply[column("keyword_rank")] == 0 and reply[column("near_keyword")] > 0
    assert row[ids[0]][column("keyword_rank")] == 10 / 11  # the best BM25 match
    assert row[ids[6]][column("near_keyword")] == 0  # the other session's turns have no such neighbour
    assert reply[column("speaker")] == 0
    who = mem.recall_candidates("what did Elise say about the holidays?")
    elise = {c.id: f for c, f in zip(*who, strict=True)}
    assert elise[ids[1]][column("speaker")] == 1 and elise[ids[0]][column("speaker")] == 0


def test_a_memory_without_a_session_gets_the_usual_context_not_a_penalty(chat):
    mem, _ = chat
    found, features = mem.recall_candidates("Lisbon in winter")
    [lonely] = [n for n, c in enumerate(found) if c.session is None]  # the office note of another project
    others = np.delete(features, lonely, axis=0)
    for name in SESSION_FEATURES:
        column = FEATURES.index(name)
        assert others[:, column].min() <= features[lonely, column] <= others[:, column].max(), name


def test_recall_finds_the_answer_next_to_the_question(chat):
    mem, ids = chat
    hits = mem.recall("where did you go for the holidays?", k=10, project="friends")
    order = [h.id for h in hits]
    assert order.index(ids[1]) < min(order.index(i) for i in ids[4:])  # above every turn of the other session
    assert all(h.project == "friends" for h in hits)  # neighbours obey the filters too
    assert hits[0].channels["session"].parts.keys() >= {"near_keyword", "far_vector"}


def _write(path, **changes) -> str:
    good = ranking.load(ranking.SHIPPED).to_dict()
    path.write_text(json.dumps(good | changes))
    return str(path)


def test_the_shipped_ranker_loads_and_matches_the_features():
    shipped = ranking.load(ranking.SHIPPED)
    assert shipped.weights.shape == (len(FEATURES),) and np.isfinite(shipped.weights).all()
    assert json.loads(ranking.SHIPPED.read_text())["command"].startswith("python -m benchmarks.ranker_training")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is missing"),
        ("{not json", "cannot be read"),
        ({"features": ["keyword_rank"]}, "not made for this version"),
        ({"weights": [1.0]}, "no valid 'weights'"),
        ({"scale": [0.0] * len(FEATURES)}, "not positive"),
        ({"scale": [1.0] * len(FEATURES) + [2.0]}, "no valid 'scale'"),
    ],
)
def test_a_missing_or_corrupt_ranker_is_a_clear_error(chat, tmp_path, monkeypatch, content, message):
    mem, _ = chat
    path = tmp_path / "ranker.json"
    if isinstance(content, dict):
        _write(path, **content)
    elif isinstance(content, str):
        path.write_text(content)
    monkeypatch.setenv("SLM_RANKER", str(path))
    with pytest.raises(ModelError, match=message) as err:
        mem.recall("holidays")
    assert "SLM_RANKER=rrf" in err.value.hint  # what to do, and never a silent change of ranking


def test_slm_ranker_chooses_fusion_or_another_file(chat, tmp_path, monkeypatch):
    mem, _ = chat
    monkeypatch.setenv("SLM_RANKER", "rrf")
    fused = mem.recall("holidays in Lisbon", k=5)
    assert [h.id for h in fused] == [h.id for h in mem.recall("holidays in Lisbon", k=5, ranker="rrf")]
    assert all("session" not in h.channels for h in fused)
    only_vectors = np.zeros(len(FEATURES))
    only_vectors[FEATURES.index("vector")] = 1.0
    monkeypatch.setenv("SLM_RANKER", _write(tmp_path / "mine.json", weights=only_vectors.tolist()))
    mine = mem.recall("holidays in Lisbon", k=5)
    cosines = [h.channels["vector"].score for h in mine]
    assert cosines == sorted(cosines, reverse=True)
    with pytest.raises(InvalidInput, match="unknown ranker"):
        mem.recall("holidays", ranker="lambdamart")


@pytest.mark.sqlite_only  # the CLI opens db_path, a file: users cannot name a postgresql:// store yet
def test_cli_says_what_to_do_about_a_broken_ranker(chat, db_path, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[]")
    result = run("recall", "holidays", "--db", db_path, code=1, env={"SLM_RANKER": str(broken)})
    assert "ranker" in result.stderr and "SLM_RANKER=rrf" in result.stderr


def test_doctor_checks_the_ranker(db_path, tmp_path):
    healthy = json.loads(run("doctor", "--db", db_path, "--json").stdout)
    assert {c["name"]: c["ok"] for c in healthy["checks"]}["recall ranker"] is True
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    sick = json.loads(run("doctor", "--db", db_path, "--json", code=1, env={"SLM_RANKER": str(broken)}).stdout)
    check = next(c for c in sick["checks"] if c["name"] == "recall ranker")
    assert not check["ok"] and "SLM_RANKER=rrf" in check["fix"]


DEMO_ANSWERS = ["PostgreSQL 16 over MySQL", "make itest", "ECONNRESET", "TypeScript strict mode", "Flaky Playwright"]


def test_the_demo_answers_its_own_questions_at_the_top(mem):
    """Two need what the writer filed a memory under: "which database did we pick for billing" matches the ETL
    note's "billing … picked up" in two words, the answer only through its tag "db"; "coding style preferences"
    matches "Bob wants TypeScript strict mode" only in its tag "style" and kind "preference"."""
    from slm.cli import demo

    mem.remember_many(demo.sample_memories())
    assert len(demo.QUESTIONS) == len(DEMO_ANSWERS)
    places = []
    for (question, options), answer in zip(demo.QUESTIONS, DEMO_ANSWERS, strict=True):
        texts = [h.text for h in mem.recall(question, k=5, **options)]
        places.append(next(n for n, text in enumerate(texts, 1) if answer in text))
    assert places == [1, 1, 1, 1, 1]
    trusting = [h.id for h in mem.recall(demo.QUESTIONS[1][0], k=5)]
    assert trusting == [h.id for h in mem.recall(demo.QUESTIONS[1][0], k=5, trust=False)]  # conventions cost nothing


def test_a_long_list_is_as_long_as_asked(mem):
    """The candidates are each channel's best 40; asking for more widens both channels instead of stopping short."""
    mem.remember_many([{"text": f"Note {n} on the release checklist, item {n}"} for n in range(70)])
    assert len(mem.recall("what do we know about zebras?", k=60)) == 60
    assert len(mem.recall("release checklist", k=70)) == 70
