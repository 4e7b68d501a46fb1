"""The slm export format (JSONL, version 2): what a line holds, and the checks a line must pass to be imported.

A file is a header line, one line per memory (oldest id first), optional behaviour lines, and an end line that
counts them, so a file cut short at a line boundary is still noticed. The full description, field by field, is
in docs/export-format.md; `parse_line` is its executable form.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from slm import __version__, validation
from slm.errors import InvalidInput

FORMAT = "slm-export"
VERSION = 5  # 2: memories carry `session`; 3: and may carry `derived` (the header names its rules); 4: and
# `private_to`; 5: `learned` lines (the learner's state) may follow the behaviour lines. Older files are read too
# (version 1, without `session`: meta's session).
PRIVATE_VERSION = 4  # what a file with a private memory and no learned line is written as
DERIVED_VERSION = 3  # what a file with derived data and no private memory is written as, for an slm of version 3
PLAIN_VERSION = 2  # what a file without derived data is written as, so that an slm of version 2 reads it too
MAX_LINE_BYTES = 4 * 1024 * 1024  # a memory is at most 64 KB of text; its embedding, links and meta fit well within
PROTOCOLS = ("api", "cli", "mcp-stdio", "mcp-http")
LINK_KINDS = ("entity", "similar", "session")
MAX_LINKS = 10_000
_MEMORY_KEYS = frozenset(
    {"type", "id", "content", "sha256", "created_at", "event_time", "valid_from", "valid_to", "agent", "protocol",
     "project", "kind", "tags", "meta", "session", "superseded_by", "review", "links", "observed", "embedding",
     "derived", "private_to"}
)  # fmt: skip


class LineError(InvalidInput):
    """A line of an import file that cannot be imported: its 1-based number, what is wrong (`detail`), and the
    type the line claimed, when it was JSON at all (so a bad memory line still counts as a memory line)."""

    def __init__(self, line: int, detail: str, hint: str | None = None, claimed: str | None = None) -> None:
        super().__init__(f"line {line}: {detail}", hint)
        self.line, self.detail, self.claimed = line, detail, claimed


@dataclass(frozen=True)
class Header:
    version: int
    model: dict | None  # {"name", "dim"} of the store's model
    embeddings: bool  # memory lines carry that model's vectors
    rules: str | None = None  # the digest of the rules the memory lines' derived data was derived by


@dataclass(frozen=True)
class Link:
    to: int  # the other memory's id in the file
    kind: str
    weight: float


@dataclass(frozen=True)
class ExportedMemory:
    """A memory line, checked; ids are the file's own, mapped to the importing store's ids on import."""

    line: int
    id: int
    content: str
    created_at: str
    event_time: str | None
    valid_from: str | None
    valid_to: str | None
    agent: str
    protocol: str
    project: str
    kind: str
    tags: tuple[str, ...]
    meta: dict
    superseded_by: int | None
    review: str | None
    session: str | None = None
    links: tuple[Link, ...] = ()
    spans: list[tuple[int, int]] | None = None
    vectors: np.ndarray | None = field(default=None, compare=False)
    derived: dict | None = field(default=None, compare=False)  # {"claims", "entities"} as slm.core.derivations has
    private_to: str | None = None  # whose private memory it is (`member:NAME`, `user`); None: shared


@dataclass(frozen=True)
class BehaviorRecord:
    line: int
    type: str  # recall, feedback or learned
    fields: dict


@dataclass(frozen=True)
class End:
    line: int
    counts: dict


# -- writing -------------------------------------------------------------------------------------------------------
def header(
    exported_at: str,
    model: dict | None,
    filters: dict,
    embeddings: bool,
    behavior: bool,
    rules: str | None = None,
    private: bool = False,
    learned: bool = False,
) -> dict:
    """The first line; its version is the oldest that reads what the file holds (`private`: a memory line may
    carry `private_to`; `learned`: `learned` lines follow)."""
    derived = {} if rules is None else {"derived": {"rules": rules}}
    return {
        "type": "header",
        "format": FORMAT,
        "version": (
            VERSION
            if learned
            else PRIVATE_VERSION
            if private
            else DERIVED_VERSION
            if rules is not None
            else PLAIN_VERSION
        ),
        "slm_version": __version__,
        "exported_at": exported_at,
        "embedding_model": model,
        "filters": filters,
        "includes": {"embeddings": embeddings, "behavior": behavior},
        **derived,
    }


def encode_vector(vector: np.ndarray) -> str:
    """Little-endian float32, base64: exact, and a third the size of decimal text."""
    return base64.b64encode(np.ascontiguousarray(vector, dtype="<f4").tobytes()).decode("ascii")


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


# -- reading -------------------------------------------------------------------------------------------------------
def parse_line(text: str | bytes, line: int, model_dim: int | None) -> Header | ExportedMemory | BehaviorRecord | End:
    """One line of an export file, checked whole: a record that fails any check is refused whole."""
    if len(text) > MAX_LINE_BYTES:
        raise LineError(line, f"the record is {len(text):,} bytes, over the limit of {MAX_LINE_BYTES:,}")
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise LineError(line, f"invalid JSON: {err}", "the file is damaged here; fix or remove this line") from None
    if not isinstance(obj, dict):
        raise LineError(line, f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    try:
        if kind == "header":
            return _header(obj, line)
        if kind == "memory":
            return _memory(obj, line, model_dim)
        if kind in ("recall", "feedback"):
            return _behavior(obj, line)
        if kind == "learned":
            return _learned(obj, line)
        if kind == "end":
            return End(line, {k: v for k, v in obj.items() if k != "type"})
    except LineError:
        raise
    except InvalidInput as err:
        raise LineError(line, err.message, err.hint, claimed=kind) from None
    raise LineError(
        line, f"unknown record type {kind!r}", "expected header, memory, recall, feedback, learned or end", kind
    )


def _header(obj: dict, line: int) -> Header:
    if obj.get("format") != FORMAT:
        raise LineError(line, f"not an slm export (format {obj.get('format')!r})", "import files made by `slm export`")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise LineError(line, f"the format version {version!r} is not a version number")
    if version > VERSION:
        raise LineError(
            line,
            f"format version {version} is newer than this slm reads (up to {VERSION})",
            "upgrade slm (pip install -U slm) and import again",
        )
    model = obj.get("embedding_model")
    if model is not None and not (isinstance(model, dict) and isinstance(model.get("dim"), int)):
        raise LineError(line, "embedding_model must be an object with a whole-number dim")
    includes = obj.get("includes")
    embeddings = isinstance(includes, dict) and includes.get("embeddings") is True
    derived = obj.get("derived")
    rules = derived.get("rules") if isinstance(derived, dict) else None
    return Header(version, model, embeddings and model is not None, rules if isinstance(rules, str) else None)


def _memory(obj: dict, line: int, model_dim: int | None) -> ExportedMemory:
    unknown = set(obj) - _MEMORY_KEYS
    if unknown:
        raise InvalidInput(f"unknown fields {sorted(unknown)}", "this file was not written by `slm export`")
    content = validation.clean_text(obj.get("content"), "content")
    digest = obj.get("sha256")
    if digest is not None and digest != validation.content_hash(content):
        raise InvalidInput("the content does not match its sha256", "the file was changed or damaged")
    created_at = validation.parse_time(obj.get("created_at"), "created_at")
    if created_at is None:
        raise InvalidInput("created_at is missing")
    protocol = obj.get("protocol", "api")
    if protocol not in PROTOCOLS:
        raise InvalidInput(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    review = obj.get("review")
    if review not in (None, "approved"):
        raise InvalidInput(f"review must be null or 'approved', got {review!r}")
    spans, vectors = _embedding(obj.get("embedding"), content, model_dim)
    meta = validation.clean_meta(obj.get("meta"))
    return ExportedMemory(
        line=line,
        id=validation.clean_id(obj.get("id")),
        content=content,
        created_at=created_at,
        event_time=validation.parse_time(obj.get("event_time"), "event_time"),
        valid_from=validation.parse_time(obj.get("valid_from"), "valid_from"),
        valid_to=validation.parse_time(obj.get("valid_to"), "valid_to"),
        agent=validation.clean_name(obj.get("agent"), "agent", validation.DEFAULT_AGENT),
        protocol=protocol,
        project=validation.clean_name(obj.get("project"), "project", validation.DEFAULT_PROJECT),
        kind=validation.clean_kind(obj.get("kind")),
        tags=validation.clean_tags(obj.get("tags")),
        meta=meta,
        superseded_by=None if obj.get("superseded_by") is None else validation.clean_id(obj["superseded_by"]),
        review=review,
        session=_session(obj, meta),
        links=_links(obj.get("links")),
        spans=spans,
        vectors=vectors,
        derived=_derived(obj.get("derived"), digest is not None),
        private_to=_private_to(obj.get("private_to")),
    )


def _private_to(value: object) -> str | None:
    """Whose private memory a line is. An `agent:ID` key names an agent of the store that wrote the file, which an
    agent of this store may share by chance: it comes in as the owner's (`user`), which no agent sees."""
    if value is None or value == "user":
        return value
    if isinstance(value, str) and value.startswith("agent:") and value[6:].isdigit():
        return "user"
    if isinstance(value, str) and value.startswith("member:"):
        return "member:" + validation.clean_name(value[7:], "private_to member", "")
    raise InvalidInput(f"private_to must be null, 'user', 'member:NAME' or 'agent:ID', got {value!r}")


def _session(obj: dict, meta: dict) -> str | None:
    """The record's session; null is none. A file written before sessions had a field has no key: its memories
    get the session their meta names, as they did in the store that wrote it."""
    if "session" not in obj:
        return validation.clean_session(None, meta)
    return None if obj["session"] is None else validation.clean_session(obj["session"], meta)


def _links(value: object) -> tuple[Link, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_LINKS:
        raise InvalidInput(f"links must be a list of at most {MAX_LINKS:,} objects")
    links = []
    for link in value:
        if not isinstance(link, dict) or link.get("kind") not in LINK_KINDS:
            raise InvalidInput(f"each link needs to, kind (one of {list(LINK_KINDS)}) and weight, got {link!r}")
        weight = link.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight < float("inf"):
            raise InvalidInput(f"a link's weight must be a positive number, got {weight!r}")
        links.append(Link(validation.clean_id(link.get("to"), "link target id"), link["kind"], float(weight)))
    return tuple(links)


def _derived(value: object, digest_given: bool) -> dict | None:
    """Claims and entities as `slm export` writes them (docs/export-format.md), checked for shape only; kept only
    when the line names its text's sha256 (the importer decides whether the header's rules are its own)."""
    if value is None:
        return None
    ok = isinstance(value, dict) and set(value) == {"claims", "entities"} and isinstance(value["entities"], list)
    claims = value["claims"] if ok else None
    ok = ok and (claims is None or (isinstance(claims, list) and all(map(_is_claim, claims))))
    if not ok or not all(map(_is_entity, value["entities"])):
        raise InvalidInput("derived must be an object with claims and entities as `slm export` writes them")
    return value if digest_given else None


def _is_claim(fields: object) -> bool:
    return (
        isinstance(fields, list) and len(fields) == 8 and all(isinstance(x, str) for x in fields[:3])
        and type(fields[3]) is int and fields[3] in (1, -1) and all(isinstance(x, bool) for x in fields[4:6])
        and (fields[6] is None or _is_time(fields[6])) and isinstance(fields[7], str)
    )  # fmt: skip


def _is_time(text: object) -> bool:
    try:
        return isinstance(text, str) and datetime.fromisoformat(text) is not None
    except ValueError:
        return False


def _is_entity(fields: object) -> bool:
    return isinstance(fields, list) and len(fields) == 3 and all(isinstance(x, str) and x for x in fields)


def _embedding(value: object, content: str, dim: int | None) -> tuple[list | None, np.ndarray | None]:
    """Spans and vectors, kept only when the header names a model (the importer decides whether it is ours)."""
    if value is None or dim is None:
        return None, None
    if not isinstance(value, dict) or not isinstance(value.get("spans"), list):
        raise InvalidInput("embedding must be an object with spans and vectors")
    spans, encoded = value["spans"], value.get("vectors")
    if not isinstance(encoded, list) or len(encoded) != len(spans) or not spans:
        raise InvalidInput("embedding needs one vector per span, and at least one")
    clean_spans = []
    for span in spans:
        ok = isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)
        if not ok or not 0 <= span[0] < span[1] <= len(content):
            raise InvalidInput(f"an embedding span must be [start, end] within the content, got {span!r}")
        clean_spans.append((span[0], span[1]))
    try:
        raw = b"".join(base64.b64decode(v, validate=True) for v in encoded)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"an embedding vector is not base64: {err}") from None
    if len(raw) != 4 * dim * len(spans):
        raise InvalidInput(f"embedding vectors must be {dim} float32 values each, as the header's model makes")
    matrix = np.frombuffer(raw, dtype="<f4").reshape(len(spans), dim).astype(np.float32)
    if not np.isfinite(matrix).all():
        raise InvalidInput("an embedding vector holds a value that is not a finite number")
    return clean_spans, matrix


def _behavior(obj: dict, line: int) -> BehaviorRecord:
    time = obj.get("time")
    validation.parse_time(time, "time")  # checked, but kept as written: behaviour times carry microseconds
    agent = validation.clean_name(obj.get("agent"), "agent", validation.DEFAULT_AGENT)
    protocol = obj.get("protocol", "api")
    if time is None or protocol not in PROTOCOLS:
        raise InvalidInput("a behaviour record needs a time and a known protocol")
    if obj["type"] == "recall":
        results = obj.get("results")
        if not isinstance(results, list):
            raise InvalidInput("a recall's results must be a list of memory ids")
        session, project, workspace = obj.get("session"), obj.get("project"), obj.get("workspace")
        ranks = obj.get("base_ranks")  # absent (files before version 5) or null: the shown order was the base order
        fields = {
            "query": validation.clean_text(obj.get("query"), "query", validation.MAX_QUERY_BYTES),
            "k": validation.clean_limit(obj.get("k"), "k"),
            "results": [validation.clean_id(i, "result id") for i in results],
            "session": validation.clean_session(session, {}),
            "project": None if project is None else validation.clean_name(project, "project", ""),
            "workspace": None if workspace is None else validation.clean_name(workspace, "workspace", ""),
            "base_ranks": None if ranks is None else validation.clean_ranks(ranks, len(results)),
            "uses": _uses(obj.get("uses", [])),
        }
    else:
        helpful = obj.get("helpful")
        if not isinstance(helpful, bool):
            raise InvalidInput(f"helpful must be true or false, got {helpful!r}")
        query = obj.get("query")
        fields = {
            "memory_id": validation.clean_id(obj.get("memory_id")),
            "helpful": helpful,
            "query": None if query is None else validation.clean_text(query, "query", validation.MAX_QUERY_BYTES),
            "recall_time": _time_or_none(obj.get("recall_time"), "recall_time"),
        }
    return BehaviorRecord(line, obj["type"], {"time": time, "agent": agent, "protocol": protocol, **fields})


def _learned(obj: dict, line: int) -> BehaviorRecord:
    """A learned state: its name, the JSON object it holds, and when it was saved."""
    state, updated_at = obj.get("state"), _time_or_none(obj.get("updated_at"), "updated_at")
    if not isinstance(state, dict) or updated_at is None:
        raise InvalidInput("a learned record needs a state (a JSON object) and its updated_at")
    name = validation.clean_name(obj.get("name"), "a learned state's name", "")
    return BehaviorRecord(line, "learned", {"name": name, "state": state, "updated_at": updated_at})


USE_KINDS = ("get", "update", "cite")


def _uses(uses: object) -> list[dict]:
    """A recall's uses as an export wrote them: when, which of its results, how, and the memory that did it."""
    if not isinstance(uses, list) or not all(isinstance(u, dict) for u in uses):
        raise InvalidInput("a recall's uses must be a list of objects", "as `slm export --include-behavior` writes")
    cleaned = []
    for use in uses:
        if use.get("kind") not in USE_KINDS:
            raise InvalidInput(f"a use's kind is one of {list(USE_KINDS)}, got {use.get('kind')!r}")
        by = use.get("by_id")
        cleaned.append({
            "time": _time_or_none(use.get("time"), "a use's time"),
            "memory_id": validation.clean_id(use.get("memory_id"), "a use's memory id"),
            "kind": use["kind"],
            "by_id": None if by is None else validation.clean_id(by, "a use's by_id"),
        })  # fmt: skip
        if cleaned[-1]["time"] is None:
            raise InvalidInput("a use needs a time", "as `slm export --include-behavior` writes")
    return cleaned


def _time_or_none(value: object, what: str) -> str | None:
    """A behaviour time, checked but kept as written (with its microseconds); None stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be ISO-8601 text, got {value!r}")
    validation.parse_time(value, what)
    return value
