"""Recall that learns each user: when to learn, where the model lives (behavior.db, "model"; the user's switch and
reset point in "settings"), what a recall's personal re-ranking reads of its session, and what the user is told
it learned (docs/ARCHITECTURE.md, "Learning")."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from slm import faults, validation
from slm.core.store import Store
from slm.errors import InvalidInput
from slm.recall import signals
from slm.recall.learning import learner, replay
from slm.recall.learning.personal import Personal, read_facts
from slm.recall.learning.preferences import appearances
from slm.storage.behavior import BehaviorRepository, RecallRow

LEARN_EVERY = 20  # new recalls before the model learns again
MAX_RECALLS = 2_000  # a model learned afresh (first time, reset, new version) replays the newest this many: older
# evidence weighs less than 0.5 ** (2000 / HALF_LIFE), a millionth
CONTEXT_RECALLS = 200  # recalls read before the first new one, for the sessions it continues
ESTIMATE_EVERY = 1_000  # recalls between estimates of the position bias
ESTIMATE_FROM = 3_000  # the newest recalls an estimate reads
STATUS_RECALLS = 2_000  # recalls the status reads to pair each preference with its rival
MODEL, SETTINGS = "model", "settings"


class Learning:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cached: tuple[str, learner.Model | None] | None = None  # (updated_at, model) of the stored model
        self._held_back_at = -LEARN_EVERY  # the last recall when nothing could be learned yet (`_settled_through`)

    # -- the user's switch ----------------------------------------------------------------------------------------
    def settings(self) -> dict:
        behavior = self.store.existing_behavior()
        stored = behavior.learned_state(SETTINGS) if behavior is not None else None
        return {"enabled": True, "since": 0} | (stored or {})

    def set_enabled(self, enabled: bool) -> dict:
        """Learning on or off: off, recall ranks as without learning and nothing is learned; the log is kept."""
        if not isinstance(enabled, bool):
            raise InvalidInput(f"enabled must be true or false, got {enabled!r}")
        settings = self.settings() | {"enabled": enabled}
        self.store.behavior.save_learned_state(SETTINGS, settings, validation.event_time())
        return settings

    def reset(self) -> dict:
        """Forget what was learned and learn only from recalls after now; the behaviour log itself is kept (for
        that, `erase --behavior`)."""
        behavior = self.store.behavior
        last = behavior.last_ids()[0]
        deleted = behavior.delete_learned_state(keep=(SETTINGS,))
        behavior.save_learned_state(SETTINGS, self.settings() | {"since": last}, validation.event_time())
        self._cached = None
        return {"forgot": deleted, "learns_from_recall": last + 1}

    # -- learning -------------------------------------------------------------------------------------------------
    def learn(self, force: bool = False) -> dict:
        """Learn from the recalls since the last time if LEARN_EVERY came (or `force`: any); the status after."""
        self.update(force)
        return self.status()

    def update(self, force: bool = False) -> learner.Model | None:
        """Learn from the recalls since the last time if LEARN_EVERY came (or `force`); the model in use."""
        behavior = self.store.existing_behavior()
        settings = self.settings()
        if behavior is None or not settings["enabled"]:
            return self.model()
        last = behavior.last_ids()[0]
        current = self.model()  # decoded once per version: the check that nothing is due costs three lookups
        done = max(current.processed if current else 0, settings["since"], last - MAX_RECALLS)
        if not force and (last - done < LEARN_EVERY or last - self._held_back_at < LEARN_EVERY):
            return current
        if last == done:
            return current
        raw = behavior.learned_state(MODEL)
        model = (learner.Model.from_dict(raw) if raw else None) or learner.Model()
        since = max(model.processed, settings["since"], last - MAX_RECALLS)
        started = time.perf_counter()
        if raw is None:  # a placeholder to hold on to: an erasure while this learns deletes it, and the save fails
            behavior.save_learned_state(MODEL, {}, validation.event_time())
            faults.step("learn.placeholder")
        version = behavior.learned_version(MODEL)
        if model.processed == 0 or last - model.trained.get("estimated_at", 0) >= ESTIMATE_EVERY:
            estimate = signals.collect(
                behavior, self.store.trust, self.store.repo, max(settings["since"], last - ESTIMATE_FROM)
            )
            model.trained |= {"estimated_at": last, "propensities": list(estimate.propensities.by_rank),
                              "propensities_estimated": estimate.propensities.estimated}  # fmt: skip
        propensities = signals.Propensities(
            tuple(model.trained["propensities"]), model.trained["propensities_estimated"], 0
        )
        recalls = behavior.recalls_since(max(since - CONTEXT_RECALLS, settings["since"]))
        through = _settled_through(recalls, since)
        if through == since:  # an agent's latest recall holds the rest back: try again LEARN_EVERY recalls on
            self._held_back_at = last
            return self.model()
        found = signals.collect(behavior, self.store.trust, self.store.repo, since, propensities, through)
        shown = replay.replay([r for r in recalls if r.id <= through], found.examples)
        batch = [r for r in shown if r.id > since]
        facts = read_facts(self.store, [i for r in shown for i in r.results])
        model.learn(batch, {r.id: r for r in shown}, facts)
        left_out = model.trained.get("left_out", {})
        model.trained |= {
            "recalls": model.trained.get("recalls", 0) + len(batch),
            "labelled": model.trained.get("labelled", 0) + sum(1 for r in batch if r.positives),
            "left_out": {k: left_out.get(k, 0) + v for k, v in found.left_out.items()},
            "at": validation.event_time(),
            "seconds": round(time.perf_counter() - started, 3),
        }
        faults.step("learn.learned")  # learned, not saved: the stored model is the one before
        behavior.update_learned_state(MODEL, model.to_dict(), validation.event_time(), version)
        return self.model()

    def model(self) -> learner.Model | None:
        """The stored model, parsed once per version of it (another process may learn or reset it)."""
        behavior = self.store.existing_behavior()
        if behavior is None:
            return None
        version = behavior.learned_version(MODEL)
        if version is None:
            return None
        if self._cached is None or self._cached[0] != version:
            raw = behavior.learned_state(MODEL)
            self._cached = (version, learner.Model.from_dict(raw) if raw else None)
        return self._cached[1]

    # -- recall ---------------------------------------------------------------------------------------------------
    def personal(
        self, query: str, named: str | None, workspace: str | None, session: str | None, follows: list[int] | None
    ) -> Personal | None:
        """The personal re-ranking of a recall, when learning is on and its guard lets it in; else None."""
        model = self.model()
        if model is None or not model.guard.active or not self.settings()["enabled"]:
            return None
        recent: tuple[int, ...] = ()
        before: tuple[int, ...] = tuple(follows or ())
        behavior = self.store.existing_behavior()
        if session is not None and behavior is not None:
            earlier = behavior.session_recalls(session, _time_ago(replay.LINK_WINDOW), learner.SESSION_CONTEXT)
            if earlier and follows is None:
                before = tuple(earlier[-1].results)
            recent = tuple(behavior.used_in([r.id for r in earlier]))
        return Personal(model, query, workspace, named, before, recent)

    # -- what it learned, in words ---------------------------------------------------------------------------------
    def status(self) -> dict:
        settings = self.settings()
        model = self.model()
        behavior = self.store.existing_behavior()
        recalls = behavior.last_ids()[0] - settings["since"] if behavior is not None else 0
        out: dict = {"enabled": settings["enabled"], "recalls_since_reset": max(recalls, 0)}
        if model is None:
            out |= {"in_effect": False, "why": "nothing learned yet: it learns after every "
                    f"{LEARN_EVERY} recalls an agent makes through MCP"}  # fmt: skip
            return out
        base, learned = model.guard.means()
        patterns = model.workflows.described()
        texts = {row.id: row.content for row in self.store.repo.get_many(sorted({i for p in patterns for i in p[1]}))}
        out |= {
            "in_effect": model.guard.active and settings["enabled"],
            "why": model.guard.reason if settings["enabled"] else "learning is off (slm learn on)",
            "held_out": {"recalls": model.guard.scored, "without_learning": round(base, 4),
                       "with_learning": round(learned, 4)},
            "weights": dict(zip(learner.LAYERS, [round(float(w), 3) for w in model.weights], strict=True)),
            "preferences": model.preferences.top(self._appearances(model, behavior)),
            "projects": model.projects.detected(),
            "patterns": [{"after": query, "then": [_short(texts[i]) for i in ids if i in texts], "weight": weight}
                         for query, ids, weight in patterns],
            "trained": model.trained,
        }  # fmt: skip
        return out

    def _appearances(self, model: learner.Model, behavior: BehaviorRepository | None) -> dict[str, set[int]]:
        """Which recent recalls showed each strong preference's entities: what pairs a preference with its rival."""
        strong = model.preferences.strong()
        if behavior is None or not strong:
            return {}
        recalls = behavior.recalls_since(max(behavior.last_ids()[0] - STATUS_RECALLS, 0))
        ids = list({i for r in recalls for i in r.results})
        found = self.store.graph.entities_of(ids) if ids else {}
        keys = {i: {e.key for e in rows} for i, rows in found.items()}
        return appearances({r.id: r.results for r in recalls}, keys, strong)


def _settled_through(recalls: list[RecallRow], since: int) -> int:
    """The last of the recalls after `since`, in a row, whose uses are all in (the agent asked again since, or the
    window closed); `since` if the first is not."""
    newest: dict[str, int] = {}
    for r in recalls:
        newest[r.agent] = max(newest.get(r.agent, 0), r.id)
    closed = _time_ago(replay.LINK_WINDOW)
    through = since
    for r in recalls:
        if r.id <= since:
            continue
        if r.id >= newest[r.agent] and r.time >= closed:
            break
        through = r.id
    return through


def _short(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _time_ago(window: timedelta) -> str:
    """That long ago, as behavior.db writes times."""
    m = datetime.now(UTC) - window
    return f"{validation.format_time(m)[:-1]}.{m.microsecond:06d}Z"
