"""What a hook is sent and what it answers, in the words of the client that actually called it.

A hook installed for one client may be run by another: Cursor runs Claude Code's user and project hooks, GitHub
Copilot CLI the repository's `.claude/settings*.json` hooks, each with its own payload and reading its own answer.
`caller` tells them apart by the payload keys only that client sends (`Client.marks`, among the clients the hook's
client lists as `hosts`); the fields are then read, and the answer shaped, by the caller's row of `CLIENTS`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from slm.cli.hook_clients import CLIENTS, Client
from slm.errors import InvalidInput


def caller(given: dict, client: str) -> str:
    """The client that sent `given` to a hook installed for `client`."""
    return next((host for host in CLIENTS[client].hosts if any(k in given for k in CLIENTS[host].marks)), client)


def value(given: dict, paths: tuple[str, ...]) -> object:
    """The first of the fields `paths` (dotted, `workspace_roots.0`; or `$VARIABLE`) that is set, else None."""
    for path in paths:
        if path.startswith("$"):
            found: object = os.environ.get(path[1:]) or None
        else:
            found = given
            for part in path.split("."):
                if isinstance(found, dict):
                    found = found.get(part)
                elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
                    found = found[int(part)]
                else:
                    found = None
        if found is not None and found != "":
            return found
    return None


def directory(given: dict, spec: Client) -> Path:
    found = value(given, spec.payload.directory)
    if not isinstance(found, str) or "\x00" in found:
        names = ", ".join(f"`{p}`" for p in spec.payload.directory)
        raise InvalidInput(f"the event names no working directory ({names})", "the client sends the session's folder")
    return Path(found)


def text(given: dict, paths: tuple[str, ...], what: str) -> str:
    found = value(given, paths)
    if found is None:
        return ""
    if not isinstance(found, str):
        raise InvalidInput(f"the event's `{what}` is not text")
    return found


def answer(spec: Client, event: str, said: str) -> str | None:
    """The line to print for the client `spec` at slm's `event`: the context `said` in its shape, or its silent
    answer (None: print nothing)."""
    reply = spec.reply
    if not said:
        return json.dumps(reply.base) if reply.json_only else None
    if reply.nested:
        body: dict = {"hookSpecificOutput": {"hookEventName": spec.event_name(event), reply.key: said}}
    else:
        body = {reply.key: said}
    return json.dumps(reply.base | body, ensure_ascii=False)
