"""Checks on everything a caller hands to slm, so bad input is refused with a clear message before any write."""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from datetime import UTC, date, datetime

from slm.errors import InvalidInput

MAX_TEXT_BYTES = 64 * 1024
MAX_QUERY_BYTES = 8 * 1024
MAX_META_BYTES = 16 * 1024
MAX_NAME_CHARS = 128
MAX_TAG_CHARS = 64
MAX_TAGS = 32
MAX_META_DEPTH = 32  # JSON nesting of meta: deep enough for any real record, far from any recursion limit
MAX_ID = 2**63 - 1  # SQLite's largest rowid: a bigger number cannot even be looked up
DEFAULT_AGENT = "user"  # the owner: reserved, no agent may use the name (is_owner_name)
UNKNOWN_AGENT = "unknown"  # an agent that gave no name
DEFAULT_PROJECT = "default"
DEFAULT_KIND = "note"

_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# Unicode categories a name may not contain: control, format (zero-width spaces and joiners, bidi overrides),
# surrogates, private use, unassigned, line and paragraph separators. Two names that look alike must be alike.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ and ZWJ: part of Persian words and emoji sequences, between letters
# Letters of other scripts that look like those of "user", so that "usеr" (a Cyrillic е) is the owner's name too.
_LOOKALIKES = str.maketrans({"ս": "u", "υ": "u", "ѕ": "s", "е": "e", "ё": "e", "ε": "e", "г": "r", "ᴦ": "r"})


def _as_str(value: object, what: str) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInput(f"{what} is not valid UTF-8 (byte {err.start})", "re-encode it as UTF-8") from err
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidInput(f"{what} is not valid UTF-8 (character {err.start})", "re-encode it as UTF-8") from err
    return value


def clean_text(value: object, what: str = "text", limit: int = MAX_TEXT_BYTES) -> str:
    text = _as_str(value, what).strip()
    if not text:
        raise InvalidInput(f"{what} is empty", f"the {what} needs at least one word")
    size = len(text.encode("utf-8"))
    if size > limit:
        raise InvalidInput(f"{what} is {size:,} bytes, over the limit of {limit:,}", "split it into several memories")
    return text


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_name(value: object, what: str, default: str) -> str:
    """Agent and project names: short, NFC-normalised, every character visible, never empty (None: the default)."""
    if value is None:
        return default
    name = unicodedata.normalize("NFC", _as_str(value, what)).strip()
    if not name or len(name) > MAX_NAME_CHARS or not visible(name):
        raise InvalidInput(
            f"{what} must be 1-{MAX_NAME_CHARS} visible characters, got {value!r}",
            "no control or invisible characters (zero-width spaces, joiners, direction marks) and no other "
            "spaces than the plain one",
        )
    return name


def clean_session(value: object, meta: dict) -> str | None:
    """A session name (None: none); without one, a string or integer `meta["session"]`, the convention clients
    followed before sessions had their own field. A `meta["session"]` that is no valid name (blank, too long,
    invisible characters) stays in meta only: meta took any value before sessions had a field, and still does."""
    if value is None:
        fallback = meta.get("session")
        if isinstance(fallback, bool) or not isinstance(fallback, (str, int)):
            return None
        try:
            return clean_session(str(fallback), {})
        except InvalidInput:
            return None
    if isinstance(value, str) and not value.strip():
        raise InvalidInput("session must not be blank", "leave it out for a memory said in no session")
    return clean_name(value, "session", "")


def visible(text: str) -> bool:
    """No control or invisible character and no space but the plain one; a zero-width joiner or non-joiner only
    between two visible characters (where it shapes them, as in Persian words and emoji sequences)."""
    for at, ch in enumerate(text):
        category = unicodedata.category(ch)
        if ch in _JOINERS:
            if not (0 < at < len(text) - 1 and _shown(text[at - 1]) and _shown(text[at + 1])):
                return False
        elif category in _INVISIBLE or (category == "Zs" and ch != " "):
            return False
    return True


def _shown(ch: str) -> bool:
    return ch not in _JOINERS and unicodedata.category(ch) not in _INVISIBLE and not ch.isspace()


def is_owner_name(name: str) -> bool:
    """Whether a name reads as the owner's ("user", "User", "ＵＳＥＲ", "usеr" with a Cyrillic е)."""
    return unicodedata.normalize("NFKC", name).casefold().translate(_LOOKALIKES) == DEFAULT_AGENT


def refuse_owner_name(name: str, what: str) -> str:
    """`name`, unless it reads as the owner's: no agent may take it."""
    if is_owner_name(name):
        raise InvalidInput(
            f"{what} {name!r} is reserved for the owner of the store", "give the agent its own name, e.g. its client's"
        )
    return name


def clean_kind(value: object) -> str:
    if value is None:
        return DEFAULT_KIND
    kind = _as_str(value, "kind").strip()
    if not _KIND.match(kind):
        raise InvalidInput(f"kind must be a short lowercase word such as 'note' or 'decision', got {value!r}")
    return kind


def clean_tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidInput("tags must be a list of strings, e.g. ['db', 'postgres']")
    tags: list[str] = []
    for raw in value:
        tag = unicodedata.normalize("NFC", _as_str(raw, "a tag")).strip()
        if not tag or len(tag) > MAX_TAG_CHARS or not visible(tag):
            raise InvalidInput(
                f"each tag must be 1-{MAX_TAG_CHARS} visible characters, got {raw!r}",
                "no control or invisible characters, and no other spaces than the plain one",
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags per memory, got {len(tags)}")
    return tuple(tags)


def clean_meta(value: object) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"meta must be a JSON object (a dict), not {type(value).__name__}")
    if _depth(value) > MAX_META_DEPTH:
        raise InvalidInput(f"meta is nested more than {MAX_META_DEPTH} levels deep", "flatten it")
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"meta is not JSON-serialisable: {err}") from err
    _as_str(encoded, "meta")
    if len(encoded.encode("utf-8")) > MAX_META_BYTES:
        raise InvalidInput(f"meta is over {MAX_META_BYTES:,} bytes as JSON", "store large data elsewhere")
    return json.loads(encoded)


def _depth(value: object) -> int:
    """How deeply lists and dicts nest in `value`, counted without recursion (a hostile value may nest 10^5 deep);
    it stops counting past the limit."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, (dict, list, tuple)):
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_META_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_time(value: object, what: str = "time") -> str | None:
    """ISO-8601 text, a datetime/date or Unix seconds -> 'YYYY-MM-DDTHH:MM:SSZ'. Naive times are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be an ISO-8601 time, got {value!r}")
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise ValueError("not a finite number")
            moment = datetime.fromtimestamp(value, UTC)
        else:
            text = _as_str(value, what).strip()
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and text else text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return format_time(moment.astimezone(UTC))
    except OverflowError as err:  # e.g. 9999-12-31T23:59:59-23:59 is in year 10000 in UTC
        raise InvalidInput(
            f"{what} {value!r} is out of range", "times must fall between the years 1 and 9999 in UTC"
        ) from err
    except (ValueError, OSError) as err:
        raise InvalidInput(
            f"{what} {value!r} is not a valid time", "use ISO-8601, e.g. 2023-05-08 or 2023-05-08T13:56:00Z"
        ) from err


def format_time(moment: datetime) -> str:
    """Fixed-width UTC text, so that SQLite compares times as strings (strftime drops zero padding on years < 1000)."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def now_utc() -> str:
    return format_time(datetime.now(UTC))


def event_time() -> str:
    """Now to the microsecond, so events of two databases (and one second) merge in the order they happened."""
    m = datetime.now(UTC)
    return f"{format_time(m)[:-1]}.{m.microsecond:06d}Z"


def clean_flag(value: object, what: str) -> bool:
    """A yes/no option: True, False, or left out (None, meaning no)."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be true or false, got {value!r}")
    return value


def clean_id(value: object, what: str = "memory id") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"a {what} is a whole number from 1 to {MAX_ID}, got {value!r}")
    return value


def clean_ranks(value: object, count: int, what: str = "base_ranks") -> list[int]:
    """The ranks (1 = first) `count` shown results had in the ranking before a re-ranking moved them: a list of
    as many distinct whole numbers from 1, one per result, in the order shown."""
    if not isinstance(value, list) or len(value) != count:
        raise InvalidInput(
            f"{what} must be a list of {count} ranks, one per result, got {value!r}",
            "give each shown result's rank (1 = first) in the ranking before the re-ranking, or None",
        )
    for rank in value:
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= MAX_ID:
            raise InvalidInput(f"a rank in {what} is a whole number from 1, got {rank!r}")
    if len(set(value)) != count:
        raise InvalidInput(f"{what} holds a rank twice: {value!r}", "two results cannot have had the same rank")
    return value


def clean_limit(value: object, what: str = "k", maximum: int = 1000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidInput(f"{what} must be a whole number from 1 to {maximum}, got {value!r}")
    return value
