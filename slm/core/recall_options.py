"""The parameters of a recall, declared once for every face: type, default and one help text each.

`name` is the keyword `Memory.recall` takes. A face spells its own surface (`--include-archived` on the command
line, `include_archived` for an MCP client) but takes the rest from here, so the faces cannot drift apart. The
filters (project, agent, tags, since, until) are also those of `slm list`, `export` and `erase`.
Imports nothing heavy: the CLI builds its options from this module while `slm --help` is being shown.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

REQUIRED = inspect.Parameter.empty  # the default of a parameter that has none


@dataclass(frozen=True)
class RecallOption:
    name: str
    type: Any
    default: Any
    help: str


QUERY = RecallOption("query", str, REQUIRED, 'What you want to know; time words ("last week") count.')
K = RecallOption("k", int, 10, "Most memories to return.")
PROJECT = RecallOption("project", str | None, None, "Only this project.")
AGENT = RecallOption("agent", str | None, None, "Only memories written by this agent.")
TAGS = RecallOption("tags", list[str] | None, None, "Only memories with all these tags.")
SINCE = RecallOption("since", str | None, None, "Only memories from this time on (ISO-8601).")
UNTIL = RecallOption("until", str | None, None, "Only memories up to this time (ISO-8601).")
NOW = RecallOption("now", str | None, None, "The asker's time: later memories are left out.")
AS_OF = RecallOption("as_of", str | None, None, "What held at this time (ISO-8601), superseded facts included.")
QUARANTINED = RecallOption("quarantined", bool, False, "Also return memories held in quarantine.")
ARCHIVED = RecallOption("archived", bool, False, "Also search memories archived for disuse.")
CHANNELS = RecallOption("channels", list[str] | None, None, "Channels to fuse instead of the learned ranking.")
