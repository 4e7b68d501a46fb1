"""The LongMemEval harness: its metrics on hand-made rankings, its parsing, and a 2-instance smoke run."""

from __future__ import annotations

import math

import pytest

from benchmarks import longmemeval as lme


def test_session_and_turn_metrics():
    ranked = ["a", "b", "c", "d"]
    assert lme.recall_any(ranked, {"c", "z"}, 3) == 1.0 and lme.recall_any(ranked, {"d"}, 3) == 0.0
    assert lme.recall_all(ranked, {"a", "c"}, 3) == 1.0 and lme.recall_all(ranked, {"a", "d"}, 3) == 0.0
    assert lme.recall_fraction(ranked, {"a", "d", "z", "y"}, 4) == 0.5
    assert lme.ndcg(ranked, {"a"}, 10) == 1.0
    assert math.isclose(lme.ndcg(ranked, {"b"}, 10), 1 / math.log2(3))
    assert math.isclose(lme.ndcg(ranked, {"b", "z"}, 10), (1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert lme.reciprocal_rank(ranked, {"c"}) == 1 / 3 and lme.reciprocal_rank(ranked, {"z"}) == 0.0
    assert lme.distinct_in_order([3, 1, 3, 2, 1]) == [3, 1, 2]


def test_an_instance_maps_turns_and_sessions():
    raw = {
        "question_id": "q1",
        "question_type": "knowledge-update",
        "question": "Where do I live now?",
        "question_date": "2023/06/01 (Thu) 10:00",
        "haystack_session_ids": ["s-a", "s-b"],
        "haystack_dates": ["2023/05/01 (Mon) 09:30", "2023/05/20 (Sat) 18:05"],
        "answer_session_ids": ["s-b"],
        "haystack_sessions": [
            [{"role": "user", "content": "I live in Lyon."}, {"role": "assistant", "content": "   "}],
            [{"role": "user", "content": "I moved to Porto.", "has_answer": True}],
        ],
    }
    inst = lme.Instance.parse(raw)
    assert inst.asked_at == "2023-06-01T23:59:59" and inst.skipped_turns == 1  # the question's whole day
    assert inst.turn_keys == [(0, 0), (1, 0)] and inst.evidence_turns == {(1, 0)} and inst.evidence_sessions == {1}
    assert inst.items[1] == {
        "text": "I moved to Porto.",
        "time": "2023-05-20T18:05:00",
        "meta": {"role": "user", "session": "s-b", "turn": 0},
    }
    metrics = lme.score([(1, 0), (0, 0)], [1, 0], inst.evidence_turns, inst.evidence_sessions)
    assert metrics["session_recall_any@5"] == 1.0 and metrics["turn_mrr"] == 1.0


def test_smoke_run_on_two_instances(tmp_path, slm_home):
    if not lme.data_path().exists():
        pytest.skip(f"LongMemEval data not found at {lme.data_path()} (set SLM_LME_DATA)")
    report = lme.main(["--limit", "2", "--cache", str(tmp_path / "vectors.db"), "--out", str(tmp_path / "r.json")])
    assert report["instances"] == 2 and len(report["questions"]) == 2
    assert report["embedding_cache"]["misses"] > 0
    for system in ("slm", "bm25+vector", "bm25", "vector"):
        overall = report["summary"][system]["all"]
        assert overall["n"] == 2
        for name in ("session_recall_any@5", "session_recall_all@5", "turn_recall@10", "turn_ndcg@10"):
            assert 0.0 <= overall[name] <= 1.0
    assert (tmp_path / "r.json").stat().st_size > 0
    again = lme.main(["--limit", "1", "--cache", str(tmp_path / "vectors.db")])  # the cache serves a rerun
    assert again["embedding_cache"]["misses"] == 0 and again["embedding_cache"]["hits"] > 0


def test_a_missing_dataset_is_reported_not_crashed(tmp_path, capsys):
    assert lme.main(["--data", str(tmp_path / "nope.jsonl.gz")]) is None
    assert "LongMemEval data not found" in capsys.readouterr().out
