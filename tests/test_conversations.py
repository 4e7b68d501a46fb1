"""The conversational harness reads REALTALK as published: evidence names turns by dialogue id, and a day's talk
can span several sessions."""

from __future__ import annotations

import json

import pytest

from benchmarks import conversations as cv


def _turn(dia: str, speaker: str, text: str, when: str = "01.01.2024, 18:13:08") -> dict:
    return {"clean_text": text, "speaker": speaker, "date_time": when, "img_file": [], "img_url": [], "dia_id": dia}


def test_evidence_is_found_in_whichever_session_holds_its_turn(tmp_path):
    chat = {
        "name": {"speaker_1": "Emi", "speaker_2": "Elise"},
        "session_1": [_turn("D1:1", "Emi", "I love skiing"), _turn("D1:2", "Elise", "")],
        "session_2": [_turn("D1:3", "Elise", "Me too, since 2010", "02.01.2024, 09:00:00")],  # day 1 continues
        "session_2_date_time": "02.01.2024",
        "qa": [
            {"question": "Who likes skiing?", "answer": "both", "evidence": ["D1:1; D1:3."], "category": 1},
            {"question": "Nothing named?", "answer": "-", "evidence": ["D9:9"], "category": 2},
        ],
    }
    (tmp_path / "Chat_1_Emi_Elise.json").write_text(json.dumps(chat))
    [conv] = cv.realtalk_conversations(tmp_path)
    assert conv.keys == [("D1", 1), ("D1", 3)]  # the empty turn is left out
    assert [item["session"] for item in conv.items] == ["session_1", "session_2"]  # stored in its real session
    [question] = conv.questions  # the one whose evidence names no turn is left out
    assert question.evidence == {("D1", 1), ("D1", 3)} and question.asked_at == "2024-01-02T09:00:00"
    assert cv.metrics([("D1", 3), ("D1", 1)], question)["turn_recall@5"] == 1.0


def test_every_evidence_turn_of_the_shared_set_is_a_stored_turn():
    folder = cv.DEFAULT_REALTALK
    if not folder.exists():
        pytest.skip(f"REALTALK not found at {folder} (../shared/data/realtalk)")
    convs = list(cv.realtalk_conversations(folder))
    assert len(convs) == 10 and sum(len(c.questions) for c in convs) == 696
    stored = {c.name: set(c.keys) for c in convs}
    found = sum(len(q.evidence & stored[c.name]) for c in convs for q in c.questions)
    named = sum(len(q.evidence) for c in convs for q in c.questions)
    assert found == named, f"{named - found} of {named} evidence turns are not stored turns"
