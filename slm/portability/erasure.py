"""`slm erase`: delete memories so that they are really gone, and prove it with a signed receipt.

An erasure chooses memories (ids, a text they contain, an agent, a project, a session, an entity they name, a
time range, or all), widens the choice to whole version chains, deletes them with everything derived from them
(the cascades, then what no cascade reaches: event payloads, orphaned entities and contradictions, cluster
labels, behaviour rows, the keyword index), then gets the bytes out of the database's files. On SQLite the WALs
are emptied; `secure_delete` zeroes the rows where they are; a copy a page rebalance left in free space is looked
for, and only if one is found is the file VACUUMed. On PostgreSQL the tables that held them are rewritten (VACUUM
FULL), and the receipt says what PostgreSQL cannot promise (`guarantee`). The receipt lists what went (counts,
ids, content hashes, scope, time, files or tables rewritten) and is signed with the store's Ed25519 key; `verify`
checks a receipt against the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from slm import faults, validation
from slm.embedding import vector_file
from slm.errors import InvalidInput, NotFound
from slm.graph import entities
from slm.storage import erasure as sql
from slm.storage.memories import MemoryFilter
from slm.trust import receipts

RECEIPT_TYPE = "slm-erasure-receipt"
RECEIPTS_DIR = "receipts"
MAX_LOOKED_FOR = 64 * 1024  # bytes of erased text looked for in free space; past that, VACUUM
IN_PLACE_AT_MOST = 256  # memories whose FTS entries are deleted in place (a few ms each); more: merge after
Stage = Callable[[str], None]


@dataclass
class Texts:
    """What an erasure deletes as text, held in this process only (never journalled), to look for stale copies of
    it once the rows are gone. An erasure finished after a crash has none, and VACUUMs instead."""

    memory: list[str]
    behavior: list[str]

    @classmethod
    def of(cls, texts: list[str]) -> Texts | None:
        return cls(texts, list(texts)) if sum(len(t) for t in texts) <= MAX_LOOKED_FOR else None


@dataclass(frozen=True)
class Scope:
    """What to erase: `ids`, or memories passing every given condition, or `everything`."""

    ids: tuple[int, ...] = ()
    contains: str | None = None
    agent: str | None = None
    project: str | None = None
    entity: str | None = None
    since: str | None = None
    until: str | None = None
    everything: bool = False
    session: str | None = None

    @classmethod
    def of(cls, ids=(), contains=None, agent=None, project=None, entity=None, since=None, until=None,
           everything=False, *, session=None) -> Scope:  # fmt: skip
        conditions = (contains, agent, project, entity, since, until, session)
        chosen = sum([bool(ids), any(c is not None for c in conditions), everything])
        if chosen != 1:
            raise InvalidInput(
                "say what to erase: memory ids, or conditions (--query, --agent, --project, --entity, --session, "
                "--since, --until), or --all; one of the three",
                "preview it with --dry-run first",
            )
        return cls(
            ids=tuple(dict.fromkeys(validation.clean_id(i) for i in ids)),
            contains=None if contains is None else validation.clean_text(contains, "query"),
            agent=None if agent is None else validation.clean_name(agent, "agent", ""),
            project=None if project is None else validation.clean_name(project, "project", ""),
            entity=None if entity is None else validation.clean_text(entity, "entity"),
            since=validation.parse_time(since, "since"),
            until=validation.parse_time(until, "until"),
            everything=everything,
            session=None if session is None else validation.clean_session(session, {}),
        )

    def describe(self) -> dict:
        """The scope as the receipt states it: the searched text and the session only as their hashes, as they may
        be what was erased (a session's name may say what it was about, and the erasure leaves it nowhere else)."""
        shown = {k: v for k, v in self.__dict__.items() if v not in (None, (), False)}
        if "ids" in shown:
            shown["ids"] = list(self.ids)
        for name in ("contains", "session"):
            if name in shown:
                shown[f"{name}_sha256"] = hashlib.sha256(shown.pop(name).encode("utf-8")).hexdigest()
        return shown


def select(engine, scope: Scope) -> list[int]:
    """The memories an erasure of `scope` removes, whole version chains, oldest first."""
    if scope.ids:
        known = {row.id for row in engine.repo.get_many(list(scope.ids))}
        missing = [i for i in scope.ids if i not in known]
        if missing:
            hint = "list the memories to see their ids"
            raise NotFound(f"no memory with id {missing[0]}: nothing was erased", hint, what="memory")
        chosen = list(scope.ids)
    else:
        every_version = MemoryFilter(
            project=scope.project,
            agent=scope.agent,
            since=scope.since,
            until=scope.until,
            session=scope.session,
            versions=True,
        )
        entity = None if scope.entity is None else entity_keys(scope.entity)
        chosen = sql.matching_ids(engine.conn, every_version, scope.contains, entity)
    return sql.whole_chains(engine.conn, chosen)


def entity_keys(name: str) -> tuple[str, ...]:
    """The keys an entity is stored under, found as the graph finds them in text ("Kafka" is "apache kafka")."""
    return tuple(dict.fromkeys([*(e.key for e in entities.extract(name)), name.strip().lower()]))


def erase(engine, scope: Scope, *, by: str = "user", stage: Stage | None = None) -> dict:
    """Erase what `scope` selects; returns the signed receipt (also written under the store's receipts folder,
    whose path is in `receipt["path"]` of the returned copy).

    The memories are chosen, journalled and deleted in one transaction; the journal then carries the erasure
    through its later steps, so a crash anywhere after that commit is finished by the next open (`finish`).
    """
    tell = stage or (lambda _: None)
    with _erasing(engine, wait=True):
        # chosen and deleted under one lock: a version written meanwhile can't escape
        with engine.conn.write_transaction():
            ids = select(engine, scope)
            if not ids:
                raise NotFound("nothing matches what you asked to erase", "check the conditions with --dry-run")
            tell("counting what goes")
            hashes = sql.hashes(engine.conn, ids)
            texts = Texts.of(sql.erased_texts(engine.conn, ids)) if len(ids) <= IN_PLACE_AT_MOST else None
            kept = sql.held_elsewhere(engine.conn, ids, hashes)
            everything = scope.everything and sql.holds_only(engine.conn, ids)  # table by table, not memory by memory
            counts = sql.count_all(engine.conn) if everything else sql.count_rows(engine.conn, ids)
            counts |= {"same text kept in memories not erased": len(kept)} if kept else {}
            clustered = sorted({c for pair in engine.graph.membership_of(ids).values() for c in pair if c is not None})
            gone = [h for h in hashes if h not in kept]  # what verify checks
            body = _body(engine, scope.describe(), counts, ids, gone)
            sql.journal_open(engine.conn, sql.JournalEntry(body["id"], body, clustered, []))
            faults.step("erase.journalled")
            tell("deleting memories and what was derived from them")
            in_place = len(ids) <= IN_PLACE_AT_MOST  # FTS5 deletes their entries now: no index merge afterwards
            if in_place:
                sql.delete_index_in_place(engine.conn, True)
            cleared = sql.clear_all(engine.conn) if everything else 0
            faults.step("erase.cleared")
            purged = engine.purge(ids, agent=by, receipt=body["id"])
            body["counts"] |= purged | {"orphaned contradictions": purged["orphaned contradictions"] + cleared}
            if in_place:
                sql.delete_index_in_place(engine.conn, False)
                body["index"] = "deleted in place"
            sql.journal_save(engine.conn, sql.JournalEntry(body["id"], body, clustered, []))
        faults.step("erase.deleted")
        return finish(engine, body["id"], tell, texts)


def erase_behavior(engine, *, stage: Stage | None = None) -> dict:
    """Empty the behaviour database (recalls, feedback, their events, the learned state but the user's settings);
    memories stay as they are."""
    body = _body(engine, {"behavior": True}, {}, [], [])
    with _erasing(engine, wait=True):
        with engine.conn.write_transaction():
            sql.journal_open(engine.conn, sql.JournalEntry(body["id"], body, [], []))
        return finish(engine, body["id"], stage or (lambda _: None))


def _body(engine, scope: dict, counts: dict, ids: list[int], content_hashes: list[str]) -> dict:
    return {
        "type": RECEIPT_TYPE,
        "version": 1,
        "id": uuid.uuid4().hex,
        "erased_at": validation.event_time(),
        "store": engine.location.shown,
        "scope": scope,
        "counts": counts,
        "memory_ids": ids,
        "content_hashes": content_hashes,
    }


def pending(engine) -> list[str]:
    """The ids of erasures begun and not finished (a crash, a kill, a full disk)."""
    return [entry.id for entry in sql.journal_entries(engine.conn)]


def finish_pending(engine, *, stage: Stage | None = None) -> list[dict]:
    """Finish every erasure a crash interrupted, oldest first; their receipts. An erasure another process is
    running now is left to it (its lock is held), so opening the store during one neither waits nor repeats it."""
    with _erasing(engine, wait=False) as ours:
        return [finish(engine, entry_id, stage or (lambda _: None)) for entry_id in pending(engine)] if ours else []


@contextmanager
def _erasing(engine, *, wait: bool) -> Iterator[bool]:
    """The store's erasure lock, held by whoever runs an erasure; yields whether it was taken (`wait`: until it is).

    A journal whose lock is free is an interrupted erasure's: the kernel (or the database server) drops a lock
    with the process that held it, however it died.
    """
    engine.location.folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # a server's store may have none yet
    with sql.erasure_lock(engine.conn, engine.location.beside(".erasing", hidden=True), wait) as taken:
        yield taken


def finish(engine, entry_id: str, tell: Stage, texts: Texts | None = None) -> dict:
    """Carry a journalled erasure through the steps it has not done, each marked done when it is, then write the
    receipt and close the journal. The caller holds the erasure lock; every step can run again safely, so a
    crash at any point ends, when finished, with the same receipt (but for which files it VACUUMed)."""
    for name, run in _STEPS:
        [entry] = sql.journal_entries(engine.conn, entry_id)
        if name in entry.done:
            continue
        body = run(engine, entry, tell, texts) or entry.body
        with engine.conn.write_transaction():
            sql.journal_save(engine.conn, replace(entry, body=body, done=[*entry.done, name]))
        faults.step(f"erase.{name}")
    [entry] = sql.journal_entries(engine.conn, entry_id)
    receipt = _issue(engine, entry.body)
    faults.step("erase.receipt")
    with engine.conn.write_transaction():
        sql.journal_close(engine.conn, entry_id)
    return receipt


def _behaviour(engine, entry: sql.JournalEntry, tell: Stage, texts: Texts | None) -> dict | None:
    """Behaviour rows about the erased memories (or all, for a behaviour erasure). They are counted into the
    journal before they are deleted: the two databases cannot commit together, and a rerun would count none."""
    behavior = engine.existing_behavior()
    if behavior is None:
        return None
    everything = bool(entry.body["scope"].get("behavior"))
    if not any(k.startswith("behavior.") for k in entry.body["counts"]):
        counted = sql.count_behavior(behavior.conn, None if everything else entry.body["memory_ids"])
        body = {**entry.body, "counts": entry.body["counts"] | {f"behavior.{k}": v for k, v in counted.items()}}
        with engine.conn.write_transaction():
            sql.journal_save(engine.conn, replace(entry, body=body))
        entry = replace(entry, body=body)
    tell("erasing behaviour rows")
    with behavior.conn.write_transaction():
        if texts is not None:
            texts.behavior += sql.behavior_texts(behavior.conn, entry.body["memory_ids"])
        if everything:
            sql.clear_behavior(behavior.conn)
        else:
            sql.purge_behavior(behavior.conn, entry.body["memory_ids"])
        faults.step("erase.behaviour.rows")  # deleted, learned state too, not committed: a kill here keeps them all
    return entry.body


def _relabel(engine, entry: sql.JournalEntry, tell: Stage, _: Texts | None) -> None:
    if entry.clusters:
        tell("relabelling the clusters they were in")
        engine.relabel_clusters(set(entry.clusters))


def _merge_index(engine, entry: sql.JournalEntry, tell: Stage, _: Texts | None) -> None:
    """Merge the FTS index: a deleted row's terms stay in older segments until they are merged (unless the
    erasure deleted them in place: 0.5 s of merging at 100k saved, with the write lock held)."""
    if entry.body["memory_ids"] and entry.body.get("index") != "deleted in place":
        tell("merging the keyword index")
        with engine.conn.write_transaction():
            sql.merge_index(engine.conn)


def _compact(engine, entry: sql.JournalEntry, tell: Stage, texts: Texts | None) -> dict:
    """Get the deleted bytes out of the files (memory.db only if memories went); the receipt names the files (or,
    on PostgreSQL, the tables) that were rewritten, and what the backend cannot promise beyond them."""
    tell(sql.rewriting(engine.conn))
    vacuumed = []
    if entry.body["memory_ids"]:
        vector_file.discard(engine.location.beside(vector_file.SUFFIX))  # it holds the erased memories' vectors
        vacuumed += sql.rewrite(engine.conn, engine.path, texts and texts.memory, "memory", tell)
    behavior = engine.existing_behavior()
    if behavior is not None:
        vacuumed += sql.rewrite(behavior.conn, behavior.path, texts and texts.behavior, "behavior", tell)
    limits = sql.guarantee(engine.conn)
    rewritten = list(dict.fromkeys(vacuumed))  # PostgreSQL's statistics are rewritten after each database's tables
    return {**entry.body, "vacuumed": rewritten} | ({"guarantee": limits} if limits else {})


_STEPS = (
    ("behaviour", _behaviour),
    ("clusters", _relabel),
    ("index", _merge_index),
    ("files", _compact),
)


def _receipt_path(engine, body: dict) -> Path:
    name = f"erasure-{body['erased_at'].replace(':', '')}-{body['id'][:8]}.json"
    return engine.location.folder / RECEIPTS_DIR / name


def _issue(engine, body: dict) -> dict:
    """Sign the receipt and write it atomically (Ed25519 signs deterministically: writing it again is harmless)."""
    receipt = receipts.sign(body, receipts.load_or_create_key(engine.location.folder))
    path = _receipt_path(engine, body)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".receipt-", suffix=".tmp", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(receipt, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {**receipt, "path": str(path)}


def verify(engine, receipt_path: Path) -> dict:
    """Re-check a receipt: its signature (by this store's key), then that nothing it lists is left."""
    try:
        receipt = json.loads(Path(receipt_path).expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        hint = "receipts are in the receipts folder beside the store"
        raise InvalidInput(f"no receipt at {receipt_path}", hint) from None
    except ValueError as err:
        raise InvalidInput(f"{receipt_path} is not a JSON receipt: {err}") from None
    if not isinstance(receipt, dict) or receipt.get("type") != RECEIPT_TYPE:
        raise InvalidInput(f"{receipt_path} is not an slm erasure receipt")
    body = receipts.check(receipt, receipts.load_key(engine.location.folder))
    ids, hashes = body["memory_ids"], body["content_hashes"]
    left = sql.leftovers(engine.conn, ids, hashes)
    left["fts index out of step with memories"] = 0 if sql.index_consistent(engine.conn) else 1
    behavior = engine.existing_behavior()
    if behavior is not None:
        if body["scope"].get("behavior"):
            # rows dated after an erasure of the whole behaviour database are new use, not leftovers
            left |= {f"behavior.{t}": n for t, n in sql.behavior_until(behavior.conn, body["erased_at"]).items()}
        else:
            left |= {f"behavior.{k}": v for k, v in sql.behavior_leftovers(behavior.conn, ids).items()}
        left["behavior.learned"] = sql.learned_until(behavior.conn, body["erased_at"])
    return {
        "receipt": body["id"],
        "erased_at": body["erased_at"],
        "signature": "valid",
        "memories": len(ids),
        "left": left,
        "ok": not any(left.values()),
    }
