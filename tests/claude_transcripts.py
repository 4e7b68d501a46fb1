"""Claude Code session transcripts for tests, written in its JSONL format (one record per line: `type`, `message`
with `role` and `content` (a string, or text / tool_use / tool_result blocks), `uuid`, `parentUuid`, `sessionId`,
`timestamp`, `cwd`, `isSidechain`), as its documentation and public parsers of it describe."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from slm import Memory

_ids = itertools.count(1)


class Transcript:
    def __init__(self, path: Path, session: str, cwd: Path) -> None:
        self.path, self.session, self.cwd = path, session, cwd
        self.last: str | None = None
        path.touch()

    def _write(self, kind: str, content: object, **extra) -> None:
        n = next(_ids)
        record = {
            "parentUuid": self.last, "isSidechain": False, "userType": "external", "cwd": str(self.cwd),
            "sessionId": self.session, "version": "2.0.0", "gitBranch": "main", "type": kind,
            "message": {"role": kind, "content": content}, "uuid": f"u{n}",
            "timestamp": f"2026-12-01T10:{n // 60:02d}:{n % 60:02d}.000Z", **extra,
        }  # fmt: skip
        self.last = record["uuid"]
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def user(self, text: str) -> None:
        self._write("user", text)

    def assistant(self, text: str) -> None:
        self._write("assistant", [{"type": "text", "text": text}])

    def run(self, command: str, output: str, *, error: bool = False) -> None:
        """The assistant runs a shell command; its output comes back in a user record."""
        use = f"toolu_{next(_ids)}"
        self._write("assistant", [{"type": "tool_use", "id": use, "name": "Bash", "input": {"command": command}}])
        block = {"type": "tool_result", "tool_use_id": use, "content": output, "is_error": error}
        self._write("user", [block])

    def edit(self, relative: str) -> None:
        use = f"toolu_{next(_ids)}"
        given = {"file_path": str(self.cwd / relative), "old_string": "a", "new_string": "b"}
        self._write("assistant", [{"type": "tool_use", "id": use, "name": "Edit", "input": given}])
        self._write(
            "user", [{"type": "tool_result", "tool_use_id": use, "content": f"The file {relative} has been updated."}]
        )

    def raw(self, line: bytes) -> None:
        with self.path.open("ab") as out:
            out.write(line)

    def event(self, name: str) -> dict:
        """The JSON Claude Code sends a hook at `name` for this session."""
        return {"session_id": self.session, "transcript_path": str(self.path), "cwd": str(self.cwd),
                "hook_event_name": name, "permission_mode": "default"}  # fmt: skip


def a_working_session(transcript: Transcript) -> None:
    """A session in which the user sets rules, a test fails, a fix makes it pass, and the build runs."""
    transcript.user("The import in the billing module is broken. We decided to use httpx instead of requests.")
    transcript.assistant("I will run the tests first to see the failure.")
    transcript.run("pytest -q tests/test_billing.py", "FAILED tests/test_billing.py::test_charge\nImportError: cannot "
                   "import name 'Client' from 'requests'\n1 failed in 0.31s", error=True)  # fmt: skip
    transcript.edit("src/billing/client.py")
    transcript.edit("src/billing/client.py")
    transcript.run("pytest -q tests/test_billing.py", "4 passed in 0.22s")
    transcript.user("Always run ruff before you commit. I prefer small commits over big ones.")
    transcript.run("make build", "built dist/shop-1.2.0.tar.gz")
    transcript.assistant("The billing client now uses httpx and the tests pass; the build produced the package.")


def git_checkout(top: Path, remote: str = "git@github.com:acme/shop.git") -> Path:
    """A git checkout at `top` whose origin is `remote` (its project is the remote's repository, "shop")."""
    if shutil.which("git") is None:
        pytest.skip("the project of a hook's folder is read from git's files; these tests set them up with git")
    subprocess.run(["git", "init", "-q", str(top)], check=True)
    subprocess.run(["git", "-C", str(top), "remote", "add", "origin", remote], check=True)
    return top


def shop_store(db: Path, *, poison: str | None = None) -> Path:
    """A store with a decision and a note of project shop, a note of another project, and optionally a poisoned
    note of shop's (quarantined as it is written)."""
    with Memory.open(db) as mem:
        mem.remember("We decided to use PostgreSQL 16 for the billing service.", project="shop", kind="decision")
        mem.remember(
            "The billing service retries Stripe webhooks three times with exponential backoff.", project="shop"
        )
        mem.remember("The blog is built with Hugo.", project="blog")
        if poison is not None:
            mem.remember(poison, project="shop", agent="bob")
    return db
