"""Readers for the memory files of other tools, so that what an agent learnt elsewhere can move into slm.

Three formats, each read as its tool writes it, each in its own module: "mcp-memory" (mcp_memory.py, the reference
MCP memory server's memory.jsonl), "basic-memory" (basic_memory.py, a folder of Markdown notes; front_matter.py
reads their YAML front matter) and "mem0" (mem0.py, what mem0's get_all returns). common.py holds what they share.

Nothing here writes: the importer stores what `read` yields. Bad content never raises: each bad line, note or
record becomes a `Problem` naming where it is, and reading goes on. Output depends only on the bytes read (never
on file times or the machine's timezone), in a fixed order, because the importer deduplicates on exact text and
relies on a second import of the same files adding nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from slm import validation
from slm.errors import InvalidInput
from slm.portability.foreign.basic_memory import PART_BYTES, markdown_files, read_basic_memory
from slm.portability.foreign.common import Incoming, Problem, Result
from slm.portability.foreign.mcp_memory import first_json_line, read_mcp
from slm.portability.foreign.mem0 import looks_like_mem0, read_mem0

__all__ = ["FORMATS", "PART_BYTES", "Incoming", "Problem", "Result", "detect", "read"]

FORMATS = ("mcp-memory", "basic-memory", "mem0")


def detect(path: Path) -> str | None:
    """Which of FORMATS a file or folder looks like, from its content (the name is only a hint), else None."""
    path = Path(path)
    _require(path)
    if path.is_dir():
        return "basic-memory" if markdown_files(path)[0] else None
    suffix = path.suffix.lower()
    if suffix == ".md":
        return "basic-memory"
    first = first_json_line(path)
    if isinstance(first, dict) and first.get("type") in ("entity", "relation"):
        return "mcp-memory"  # memory.jsonl, or memory.json as the server named it before
    if suffix == ".json" and looks_like_mem0(path):
        return "mem0"
    return None


def read(path: Path, fmt: str, *, project: str | None = None) -> Iterator[Result]:
    """The items (and problems) of a file or folder in format `fmt`, lazily, in the order of the source.

    Raises InvalidInput at once, before any reading, for an unknown format, a path that does not exist or cannot
    be read, or an invalid project name; everything wrong inside the files comes out as a Problem.
    """
    readers: dict[str, Callable[[Path, str | None], Iterator[Result]]] = {
        "mcp-memory": read_mcp,
        "basic-memory": read_basic_memory,
        "mem0": read_mem0,
    }
    if fmt not in readers:
        raise InvalidInput(f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    path = Path(path)
    _require(path)
    if fmt != "basic-memory" and path.is_dir():
        raise InvalidInput(f"{path} is a folder", f"{fmt} is read from one file, e.g. memory.jsonl or mem0.json")
    if project is not None:
        project = validation.clean_name(project, "project", validation.DEFAULT_PROJECT)
    return readers[fmt](path, project)


def _require(path: Path) -> None:
    """Raise for a path that is not there or that this process may not read (a folder must also be listable)."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist", "check the path of the file or folder to import")
    mode = os.R_OK | os.X_OK if path.is_dir() else os.R_OK
    if not os.access(path, mode):
        raise InvalidInput(f"cannot read {path}", "check its permissions")
