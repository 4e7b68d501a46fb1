"""One extractive summary of a session, without an LLM: the sentences closest to what the whole session was about
(the mean of their embeddings), chosen so they do not repeat each other, in the order they were said."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from slm.capture.rules import INJECTED, SENTENCE_END
from slm.capture.transcript import Turn

CANDIDATES = 160  # sentences embedded at most (spread over the session); ~2 s with MiniLM on 2 cores
CHOSEN = 4
REDUNDANT = 0.85  # cosine above which a sentence says what a chosen one already says
MIN_WORDS, MAX_WORDS = 6, 45
MAX_CHARS = 250  # MiniLM takes 256 word pieces and a character is at most one: no sentence is cut or refused
CODE = re.compile(r"```.*?```", re.S)


def summarise(turns: list[Turn], embed: Callable[[list[str]], np.ndarray]) -> str | None:
    """The session's summary, or None when it said too little to summarise."""
    sentences = _candidates(turns)
    if len(sentences) < 2:
        return None
    vectors = embed(sentences)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centre = vectors.mean(axis=0)
    order = np.argsort(-(vectors @ centre), kind="stable")
    chosen: list[int] = []
    for n in order:
        if all(float(vectors[n] @ vectors[m]) < REDUNDANT for m in chosen):
            chosen.append(int(n))
        if len(chosen) == CHOSEN:
            break
    return " ".join(sentences[n] for n in sorted(chosen))


def _candidates(turns: list[Turn]) -> list[str]:
    """Sentences of what the user and the assistant said (no tool output, no code), spread evenly over the session."""
    said = []
    for turn in turns:
        if turn.results or not turn.text:
            continue
        text = CODE.sub(" ", INJECTED.sub(" ", turn.text))
        for sentence in SENTENCE_END.split(text):
            sentence = " ".join(sentence.split()).lstrip("#*-> ")
            fits = MIN_WORDS <= len(sentence.split()) <= MAX_WORDS and len(sentence) <= MAX_CHARS
            if fits and sentence.isprintable():
                said.append(sentence)
    said = list(dict.fromkeys(said))
    if len(said) <= CANDIDATES:
        return said
    step = len(said) / CANDIDATES
    return [said[int(n * step)] for n in range(CANDIDATES)]
