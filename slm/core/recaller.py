"""Recall as callers ask for it: the question and its options validated, the ranker chosen, the pipeline run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from slm import validation
from slm.core import recall_options as declared
from slm.core.reading import Filters, filter_of
from slm.core.store import Store
from slm.errors import InvalidInput
from slm.recall import fusion, pipeline
from slm.recall import ranker as ranking
from slm.recall.hits import Hit
from slm.storage.memories import MemoryFilter

if TYPE_CHECKING:
    from slm.core.learning import Learning


class RecallOptions(Filters, total=False):
    """Everything `Memory.recall` takes besides the question and k."""

    now: object
    channels: Iterable[str] | None
    weights: dict[str, float] | None
    quarantined: bool
    archived: bool
    trust: bool
    lifecycle: bool
    as_of: object
    ranker: ranking.Ranker | str | None
    learning: bool  # False: rank as without learning (the user's own switch is `slm learn off`)
    workspace: str | None  # the project the caller works in, when it names none to filter by
    caller_session: str | None  # the caller's conversation: its earlier recalls are this one's context
    follows: list[int] | None  # what the question before this one showed, when the session is not logged


def recall(
    store: Store,
    query: str,
    k: int,
    options: RecallOptions,
    restrict: Callable[[MemoryFilter], MemoryFilter],
    learning: Learning | None = None,
) -> list[Hit]:
    """The k memories that best answer `query`, best first; each hit's `channels` explains its ranks.

    `now` is the asker's time: memories from after it are left out, as the asker cannot know them.
    `channels` picks a subset of `fusion.CHANNELS` (`fusion.DEFAULT_CHANNELS` by default) and `weights`
    overrides their fusion weights, for ablations and single-channel baselines. Relevance is weighted by each
    memory's trust and lifecycle position; quarantined and archived memories are left out unless asked for
    (`quarantined`, `archived`). Without `trust` or `lifecycle`, that weighing is skipped (for ablations).
    A memory ranks below any memory in the results whose claims superseded its own (an update outranks the
    fact it replaced; hits say `current`); `as_of` recalls what held at that time instead, earlier versions
    included. `restrict` narrows the filter to what the caller may see (private memories). With `learning`, the
    learned ranking is re-ranked by what the user's behaviour taught (`slm.core.learning`), unless `learning` is
    False in the options, the ranking is an ablation or channel fusion, or the learner's guard keeps it out.
    """
    unknown = set(options) - RecallOptions.__optional_keys__
    if unknown:
        raise TypeError(f"recall() got unexpected keyword arguments {sorted(unknown)}")
    o = options
    query = validation.clean_text(query, "query", validation.MAX_QUERY_BYTES)
    k = validation.clean_limit(k)
    as_of = validation.parse_time(o.get("as_of"), "as_of")
    trust, lifecycle = o.get("trust", True), o.get("lifecycle", True)
    archived = o.get("archived", declared.ARCHIVED.default)
    flt = replace(filter_of(now=o.get("now"), **_filters(o)), live=lifecycle and not archived, as_of=as_of)
    flt = restrict(flt)
    ranker, channels, weights = o.get("ranker"), o.get("channels"), o.get("weights")
    if isinstance(ranker, str) and ranker != ranking.FUSION:
        raise InvalidInput(
            f"unknown ranker {ranker!r}", f"leave it out for the learned ranker, or use {ranking.FUSION!r}"
        )
    chosen = None
    if channels is not None or weights is not None:  # an ablation: these channels, fused
        channels, weights = fusion.clean_channels(channels), fusion.clean_weights(weights)
    elif ranker is None:
        chosen = ranking.configured()
    elif ranker != ranking.FUSION:
        chosen = ranker
    seen = pipeline.Seen(trust, lifecycle, o.get("quarantined", declared.QUARANTINED.default), archived)
    personal = None
    if learning is not None and chosen is not None and validation.clean_flag(o.get("learning", True), "learning"):
        workspace = o.get("workspace")
        workspace = None if workspace is None else validation.clean_name(workspace, "workspace", "")
        session = o.get("caller_session")
        session = None if session is None else validation.clean_session(session, {})
        follows = o.get("follows")
        if follows is not None and not isinstance(follows, list | tuple):
            raise InvalidInput(f"follows is a list of memory ids, got {follows!r}")
        follows = None if follows is None else [validation.clean_id(i) for i in follows]
        personal = learning.personal(query, flt.project, workspace, session, follows)
    return pipeline.Recall(store).run(query, k, flt, o.get("now"), seen, chosen, channels, weights, personal)


def _filters(options: Filters) -> dict:
    return {key: options.get(key) for key in Filters.__optional_keys__}


def candidates(store: Store, query: str, now: object) -> tuple[list, np.ndarray]:
    """The candidates of a default recall and their feature rows (`features.FEATURES`), to train the ranker."""
    flt = replace(filter_of(now=now), live=True)
    return pipeline.Recall(store).features(query, now, flt)
