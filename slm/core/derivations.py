"""What a memory's text derives to by rules alone (its claims and entities), as an export carries it, so that an
import can take it from the file instead of deriving it again (docs/export-format.md, "Derived data").

Both are pure functions of the text and its time, given the rules: `RULES` is a digest of the rules' code and
data, and an import takes the file's data only when the file names the same digest. Anything that depends on
the importing store (neighbours, supersessions, contradictions, trust) is always derived again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path

from slm import __version__
from slm.graph import entities as entity_extraction
from slm.graph.entity_keys import Entity

_ROOT = Path(__file__).resolve().parent.parent
_RULE_SOURCES = ("facts/*.py", "graph/*.py", "graph/data/*", "time_expressions.py")


@cache
def rules() -> str | None:
    """The digest of everything claims and entities are derived by: a change to any of it gives another. None
    when the sources cannot be read (slm run from a zip): then no file's derived data is written or taken."""
    digest = hashlib.sha256(__version__.encode())
    sources = [path for pattern in _RULE_SOURCES for path in sorted(_ROOT.glob(pattern))]
    if not any(path.name == "claim_rules.py" for path in sources):
        return None
    for path in sources:
        digest.update(path.relative_to(_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


def derive(text: str, time: str) -> dict:
    """A memory's claims (null when extraction fails: the import tries it again) and entities, as a file holds
    them; `time` is its event time, else its stored time."""
    from slm.facts import validity  # here: the claim rules cost ~50 ms to import

    found = validity.extract_claims(text, time)
    claims = None if found is None else [_claim_fields(c) for c in found]
    named = [[e.key, e.name, e.kind] for e in entity_extraction.extract(text)]
    return {"claims": claims, "entities": named}


def _claim_fields(claim) -> list:
    when = None if claim.when is None else claim.when.isoformat()
    return [claim.subject, claim.attribute, claim.value, claim.polarity, claim.single, claim.change, when, claim.rule]


def claims_of(fields: list | None) -> tuple | None:
    """The claims a file's `derived.claims` holds (its shape checked by slm.portability.portable)."""
    from slm.facts.claims import Claim

    if fields is None:
        return None
    return tuple(
        Claim(s, a, v, p, single, change, None if when is None else datetime.fromisoformat(when), rule)
        for s, a, v, p, single, change, when, rule in fields
    )


def entities_of(fields: list) -> list[Entity]:
    return [Entity(key, name, kind) for key, name, kind in fields]
