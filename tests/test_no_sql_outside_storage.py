"""SQL lives in slm/storage: every other package asks a storage function, so the schema has one owner and a query
is found, tested and changed in one place. This test reads the string literals (docstrings skipped) of every
module of slm/ outside slm/storage and fails on one that holds an SQL statement as the code base writes SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SLM = Path(__file__).resolve().parent.parent / "slm"

# Statement shapes, upper case as slm writes SQL, so English prose ("select the …", "update the set") never matches.
SQL = re.compile(
    r"\bSELECT\b[\s\S]*?\bFROM\b"
    r"|\bSELECT\s+\w+\("
    r"|\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b"
    r"|\bREPLACE\s+INTO\b"
    r"|\bUPDATE\s+(?:OR\s+[A-Z]+\s+)?[\w.\"]+\s+SET\b"
    r"|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:(?:UNIQUE|VIRTUAL|TEMP|TEMPORARY)\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)\b"
    r"|\b(?:DROP|ALTER)\s+(?:TABLE|INDEX|TRIGGER|VIEW)\b"
    r"|\bPRAGMA\s+\w+"
    r"|\bBEGIN\s+(?:IMMEDIATE|EXCLUSIVE|DEFERRED)\b"
    r"|\b(?:RELEASE\s+)?SAVEPOINT\s+\w+"
    r"|\bVACUUM\b"
)


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes of a module and of its classes and functions."""
    owners = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)),
    ]
    return {
        id(owner.body[0].value)
        for owner in owners
        if owner.body
        and isinstance(owner.body[0], ast.Expr)
        and isinstance(owner.body[0].value, ast.Constant)
        and isinstance(owner.body[0].value.value, str)
    }


def _literals(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, text) of each string literal outside docstrings; an f-string is one text, `{}` for each placeholder."""
    f_string_parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    skip = _docstrings(tree) | f_string_parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
            found.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found.append((node.lineno, node.value))
    return found


def sql_outside_storage() -> dict[str, list[str]]:
    """For each module of slm/ outside slm/storage holding SQL: `line: statement` for each literal that does."""
    hits: dict[str, list[str]] = {}
    for path in sorted(SLM.rglob("*.py")):
        name = path.relative_to(SLM.parent).as_posix()
        if name.startswith("slm/storage/"):
            continue
        for line, text in _literals(ast.parse(path.read_text(encoding="utf-8"), name)):
            if SQL.search(text):
                hits.setdefault(name, []).append(f"{line}: {' '.join(text.split())[:100]}")
    return hits


def test_no_sql_outside_storage():
    hits = sql_outside_storage()
    listing = "\n".join(f"  {name}:{hit}" for name, found in hits.items() for hit in found)
    assert not hits, f"SQL outside slm/storage; move it into a function of the right slm/storage module:\n{listing}"


def test_the_detector_reads_sql_and_not_prose():
    assert SQL.search("SELECT id, text FROM memories WHERE id = ?")
    assert SQL.search("UPDATE memories SET valid_to = ? WHERE id = ?")
    assert SQL.search("INSERT OR IGNORE INTO tags VALUES (?, ?)")
    assert SQL.search("SELECT vec_version()")
    assert SQL.search("PRAGMA data_version")
    assert SQL.search("BEGIN IMMEDIATE")
    assert not SQL.search("select the memories from the project that match")
    assert not SQL.search("Update the set of tags, then delete from the list")
    assert not SQL.search("Begin immediately; the vacuum cleaner is in the index")
