"""`slm import`: an slm export (JSONL or JSON), or another tool's memory file, into this store.

An slm file is read twice. The first pass checks every line and the file as a whole (header, duplicate ids,
version chains, the end line), keeping only ids; the second stores the good records in batches, each batch one
transaction, so a record is never half applied. With `strict`, any problem stops the import before anything is
written. Records already in the store (same project, text and stored time) are skipped, which makes importing
the same file twice add nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from slm import faults, validation
from slm.errors import InvalidInput
from slm.portability import foreign, portable
from slm.portability.foreign import Problem
from slm.portability.portable import BehaviorRecord, End, ExportedMemory, Header, LineError
from slm.storage import portable as sql
from slm.storage.behavior import KEPT_LEARNED
from slm.storage.memories import NewMemory

BATCH = 64
MAX_PROBLEMS_SHOWN = 20
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    format: str
    records: int = 0  # memory records read (good or bad)
    added: int = 0
    already: int = 0  # in the store before: skipped
    behavior_added: int = 0
    reembedded: bool = False  # the file's vectors were made by another model (or it had none)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def detect(path: Path) -> str:
    """slm's own export (by its header), else one of the foreign formats; an error naming what is accepted."""
    if path.is_file():
        with path.open("rb") as handle:
            start = handle.read(4096).lstrip()
        if start.startswith(b"[") and b'"slm-export"' in start:
            return "slm-json"
        if b'"slm-export"' in start.split(b"\n", 1)[0]:
            return "slm"
    found = foreign.detect(path)
    if found is None:
        raise InvalidInput(
            f"{path} is not a file slm can import",
            "import an `slm export` file, a reference MCP memory server memory.jsonl, a basic-memory folder of "
            "Markdown notes, or a mem0 JSON export (or name it with --format)",
        )
    return found


def import_file(
    engine, path: Path, *, fmt: str | None = None, strict: bool = False, project: str | None = None,
    progress: Progress | None = None, total: Callable[[int], None] | None = None,
) -> ImportReport:  # fmt: skip
    """Import `path`; `total(n)` is told how many records there are before `progress(n)` counts them stored."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InvalidInput(f"{path} does not exist", "check the path")
    fmt = fmt or detect(path)
    if fmt in ("slm", "slm-json"):
        if project is not None:
            raise InvalidInput(
                "--project is for other tools' notes that name no project", "an slm export names each memory's own"
            )
        return _import_slm(engine, path, fmt, strict, progress, total)
    if fmt not in foreign.FORMATS:
        raise InvalidInput(f"unknown import format {fmt!r}", f"one of {['slm', 'slm-json', *foreign.FORMATS]}")
    return _import_foreign(engine, path, fmt, strict, project, progress, total)


# -- slm's own format ---------------------------------------------------------------------------------------------
def _lines(path: Path, fmt: str) -> Iterator[tuple[int, object]]:
    """(number, text or object) of each record: JSONL streamed line by line, a JSON export loaded whole."""
    if fmt == "slm":
        with path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, line
        return
    try:
        records = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidInput(f"{path} is not valid JSON: {err}", "check the file, or export it again") from None
    if not isinstance(records, list):
        raise InvalidInput(f"{path} is not an slm JSON export (a list of records)")
    yield from enumerate(records, 1)


def _parse(raw: object, number: int, dim: int | None):
    if isinstance(raw, (bytes, str)):
        return portable.parse_line(raw, number, dim)
    return portable.parse_line(json.dumps(raw), number, dim)


@dataclass
class _Checked:
    header: Header
    bad: dict[int, str]  # line -> what is wrong with it
    ids: dict[int, int]  # file id -> line, of the good memory records
    successors: set[int]  # file ids that replace another record: a batch is stored up to each of them
    count: int = 0  # memory lines, good or bad


def _check(path: Path, fmt: str) -> _Checked:
    """The first pass: every line parsed, then what only the whole file shows."""
    lines = _lines(path, fmt)
    first = next(lines, None)
    if first is None:
        raise InvalidInput(f"{path} is empty", "export again: an slm export has at least a header and an end line")
    header = _parse(first[1], first[0], None)
    if not isinstance(header, Header):
        raise InvalidInput(f"line {first[0]}: the first record must be the header", "import files made by `slm export`")
    dim = header.model["dim"] if header.embeddings else None
    checked = _Checked(header, {}, {}, set())
    end: End | None = None
    successors: list[tuple[int, int]] = []
    feedback: list[tuple[int, int]] = []
    last = first[0]
    for number, raw in lines:
        last = number
        try:
            record = _parse(raw, number, dim)
        except LineError as err:
            checked.bad[number] = err.detail
            checked.count += err.claimed == "memory"
            continue
        if end is not None:
            checked.bad[number] = f"a record after the end line (line {end.line})"
        elif isinstance(record, End):
            end = record
        elif isinstance(record, Header):
            checked.bad[number] = "a second header"
        elif isinstance(record, BehaviorRecord) and record.type == "feedback":
            feedback.append((number, record.fields["memory_id"]))
        elif isinstance(record, ExportedMemory):
            checked.count += 1
            if record.id in checked.ids:
                checked.bad[number] = f"id {record.id} is used already on line {checked.ids[record.id]}"
                continue
            checked.ids[record.id] = number
            if record.superseded_by is not None:
                successors.append((number, record.superseded_by))
    while broken := [(n, s) for n, s in successors if s not in checked.ids and n not in checked.bad]:
        for number, successor in broken:  # a record whose successor is bad is bad too, down the whole chain
            checked.bad[number] = f"superseded_by {successor} is not a good memory record of this file"
        checked.ids = {i: n for i, n in checked.ids.items() if n not in checked.bad}
    checked.successors = {s for n, s in successors if n not in checked.bad}
    for number, memory_id in feedback:
        if memory_id not in checked.ids:
            checked.bad[number] = f"feedback on memory {memory_id}, which is not a good memory record of this file"
    if end is None:
        checked.bad[last + 1] = f"the file ends without its end line: it was cut short after line {last}"
    elif end.counts.get("memories") not in (None, checked.count):
        checked.bad[end.line] = (
            f"the end line counts {end.counts['memories']} memories but the file holds {checked.count}: "
            "records are missing"
        )
    return checked


def _import_slm(engine, path: Path, fmt: str, strict: bool, progress, total) -> ImportReport:
    checked = _check(path, fmt)
    faults.step("import.checked")
    report = ImportReport(fmt, records=checked.count)
    unit = "line" if fmt == "slm" else "record"
    report.problems = [Problem(f"{path.name} {unit} {n}", message) for n, message in sorted(checked.bad.items())]
    if strict and report.problems:
        raise InvalidInput(_summary(report.problems), "nothing was imported (--strict): fix the file, or drop --strict")
    header = checked.header
    use_vectors = header.embeddings and header.model == engine.model_identity()
    report.reembedded = not use_vectors
    if total:
        total(len(checked.ids))
    run = _Run(engine, report, header.rules is not None and header.rules == engine.derivation_rules())
    batch: list[ExportedMemory] = []
    for number, raw in _lines(path, fmt):
        if number in checked.bad:
            continue
        record = _parse(raw, number, header.model["dim"] if header.embeddings else None)
        if isinstance(record, ExportedMemory):
            batch.append(record if use_vectors else _without_vectors(record))
            # a successor is linked to its earlier versions before anything after it is stored: a text updated
            # away and later stated again must find the first one already history
            if len(batch) == BATCH or record.id in checked.successors:
                run.store(batch, progress)
                batch = []
        elif isinstance(record, BehaviorRecord):
            run.store(batch, progress)
            batch = []
            faults.step("import.behavior")  # the first time: every memory committed, no behaviour record yet
            run.behavior(record)
    run.store(batch, progress)
    return report


def _without_vectors(record: ExportedMemory) -> ExportedMemory:
    return replace(record, spans=None, vectors=None)


class _Run:
    """The second pass's state: file ids mapped to store ids, and old versions waiting for their successor."""

    def __init__(self, engine, report: ImportReport, use_derived: bool) -> None:
        self.engine = engine
        self.report = report
        self.use_derived = use_derived  # the file's derived data was derived by this slm's rules
        self.ids: dict[int, int] = {}  # file id -> store id
        self.added: set[int] = set()  # store ids this import created, or a killed import of the file (see store)
        self.waiting: dict[int, list[ExportedMemory]] = {}  # file id of a successor -> the versions it replaced

    def store(self, batch: list[ExportedMemory], progress) -> None:
        if not batch:
            return
        fresh = []
        digests = [validation.content_hash(record.content) for record in batch]
        keys = [(r.project, digest, r.created_at) for r, digest in zip(batch, digests, strict=True)]
        found = sql.same_records(
            self.engine.conn, [(*key, r.superseded_by is None) for r, key in zip(batch, keys, strict=True)]
        )
        # A history record not found as history may be there still current: an import of this file was killed
        # before it stored the successor. It is this import's to chain, else it would stay current beside its
        # successor for ever.
        unchained = [i for i, r in enumerate(batch) if found[i] is None and r.superseded_by is not None]
        still_current = dict(
            zip(unchained, sql.same_records(self.engine.conn, [(*keys[i], True) for i in unchained]), strict=True)
        )
        for position, (record, digest) in enumerate(zip(batch, digests, strict=True)):
            existing = found[position]
            if position in still_current:
                existing = still_current[position]
                if existing is not None:
                    self.added.add(existing)
            if existing is not None:
                self.ids[record.id] = existing
                self.report.already += 1
            else:
                fresh.append((record, _new_memory(record, digest)))
        ready = self.engine.with_vectors([m for _, m in fresh])  # embedded before the write lock is taken
        with self.engine.conn.write_transaction():  # each record whole, with its versions, validity and links, or not
            # edges among the memories this import adds are replaced by the file's (_restore): none are derived
            derived = [record.derived if self.use_derived else None for record, _ in fresh]
            stored = self.engine.store_imported(ready, derived, self.added) if ready else []
            for (record, _), memory_id in zip(fresh, stored, strict=True):
                self.ids[record.id] = int(memory_id)
                if memory_id.duplicate:  # the same text is a current memory of the project here already
                    self.report.already += 1
                else:
                    self.added.add(int(memory_id))
                    self.report.added += 1
            linked = self._versions(batch)
            self._restore(batch + linked)
            faults.step("import.storing")  # the batch written, not committed
        faults.step("import.batch")
        if progress:
            progress(len(batch))

    def _versions(self, batch: list[ExportedMemory]) -> list[ExportedMemory]:
        """Chain the versions this import added (versions mapped onto memories the store had are left as they
        are); returns the earlier versions linked to a successor of this batch."""
        pairs, linked = [], []
        for record in batch:
            here = self.ids[record.id]
            for old in self.waiting.pop(record.id, ()):
                if here in self.added and self.ids[old.id] != here:
                    pairs.append((self.ids[old.id], here))
                    linked.append(old)
            if record.superseded_by is not None and here in self.added:
                successor = self.ids.get(record.superseded_by)
                if successor is None:
                    self.waiting.setdefault(record.superseded_by, []).append(record)
                elif successor in self.added and successor != here:
                    pairs.append((here, successor))
        if pairs:
            self.engine.link_imported_versions(pairs)
        return linked

    def _restore(self, records: list[ExportedMemory]) -> None:
        """Validity, review and links as the file recorded them, for the memories this import added."""
        for record in records:
            memory_id = self.ids[record.id]
            if memory_id not in self.added:
                continue
            sql.restore(self.engine.conn, memory_id, record.valid_from, record.valid_to, record.review)
            links = [(self.ids[link.to], link.kind, link.weight) for link in record.links if link.to in self.ids]
            kept = [x for x in links if x[0] in self.added and x[0] != memory_id]
            sql.replace_links(self.engine.conn, memory_id, self.added, kept)

    def behavior(self, record: BehaviorRecord) -> None:
        fields = dict(record.fields)  # popped from below: the record stays as parsed
        behavior = self.engine.behavior
        if record.type == "learned":
            # Derived state (the model, ...) is retrained from the imported behaviour, never taken from a file; the
            # user's settings are, where this store has none of its own.
            if fields["name"] not in KEPT_LEARNED:
                return
            with behavior.conn.write_transaction():
                if not sql.add_learned(behavior.conn, fields["name"], fields["state"], fields["updated_at"]):
                    return
        elif record.type == "recall":
            if sql.has_recall(behavior.conn, fields["time"], fields["query"], fields["agent"]):
                return
            uses = fields.pop("uses")
            kept = [n for n, i in enumerate(fields["results"]) if i in self.ids]  # base ranks stay parallel
            results = [self.ids[fields["results"][n]] for n in kept]
            ranks = fields["base_ranks"]
            fields["base_ranks"] = None if ranks is None else [ranks[n] for n in kept]
            with behavior.conn.write_transaction():  # a recall and its uses, or neither
                recall_id = behavior.record_recall(**{**fields, "results": results})
                behavior.record_uses([
                    (u["time"], recall_id, self.ids[u["memory_id"]], u["kind"], self.ids.get(u["by_id"])) for u in uses
                    if self.ids.get(u["memory_id"]) in results
                ])  # fmt: skip
        else:
            memory_id = self.ids[fields["memory_id"]]
            if sql.has_feedback(behavior.conn, fields["time"], memory_id, fields["agent"]):
                return
            recall_time = fields.pop("recall_time")
            recall_id = None if recall_time is None else sql.recall_at(behavior.conn, recall_time, fields["agent"])
            sql.add_feedback(behavior.conn, {**fields, "memory_id": memory_id, "recall_id": recall_id})
        self.report.behavior_added += 1


def _new_memory(record: ExportedMemory, digest: str) -> NewMemory:
    return NewMemory(
        content=record.content,
        content_hash=digest,
        created_at=record.created_at,
        event_time=record.event_time,
        agent=record.agent,
        project=record.project,
        kind=record.kind,
        meta=record.meta,
        tags=record.tags,
        protocol=record.protocol,
        session=record.session,
        private_to=record.private_to,
        spans=record.spans or [],
        vectors=record.vectors,
    )


# -- other tools' files --------------------------------------------------------------------------------------------
def _import_foreign(engine, path: Path, fmt: str, strict: bool, project, progress, total) -> ImportReport:
    report = ImportReport(fmt)
    incoming = []
    for found in foreign.read(path, fmt, project=project):
        if isinstance(found, foreign.Problem):
            report.problems.append(found)
        else:
            incoming.append(found)
    report.records = len(incoming) + len(report.problems)
    faults.step("import.checked")
    if strict and report.problems:
        raise InvalidInput(_summary(report.problems), "nothing was imported (--strict): fix the file, or drop --strict")
    if total:
        total(len(incoming))
    for start in range(0, len(incoming), BATCH):
        batch = incoming[start : start + BATCH]
        for _, stored in _store_items(engine, batch, report):
            if stored.duplicate:
                report.already += 1
            else:
                report.added += 1
        faults.step("import.batch")
        if progress:
            progress(len(batch))
    return report


def _store_items(engine, batch: list, report: ImportReport) -> list:
    """Store a batch; should slm refuse an item, store the others one by one and report that one."""
    try:
        return list(zip(batch, engine.remember_many([i.item for i in batch], imported=True), strict=True))
    except InvalidInput:
        if len(batch) == 1:
            raise
    stored = []
    for one in batch:
        try:
            stored += _store_items(engine, [one], report)
        except InvalidInput as err:
            report.problems.append(Problem(one.where, str(err)))
    return stored


def _summary(problems: list[Problem]) -> str:
    shown = [f"{p.where}: {p.message}" for p in problems]
    more = len(shown) - MAX_PROBLEMS_SHOWN
    text = "; ".join(shown[:MAX_PROBLEMS_SHOWN])
    return f"{len(problems)} problem(s) in the file: {text}" + (f"; and {more} more" if more > 0 else "")
