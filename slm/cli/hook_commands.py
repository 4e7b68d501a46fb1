"""`slm hooks install|uninstall|status`: slm's hooks in a client's settings; `slm hook EVENT`: the short-lived process
a client runs at that event, reading the event's JSON on standard input and printing what memory adds, in the shape
of the client that ran it (`hook_payloads`).

A hook never blocks the user: every failure exits 1 with one line on standard error. Exit 2 is each client's
"block" or warning: Claude Code's and Codex's UserPromptSubmit drop the prompt and their Stop goes on with the turn,
Gemini CLI's BeforeAgent aborts the turn and its AfterAgent retries it, Copilot CLI surfaces it as a warning; any
other code is a non-blocking error in all of them (Cursor's hooks fail open; Cline, which makes a failure without
JSON an error of its own, also gets `{"cancel": false}`). No process outlives the call."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.hook_clients import CLIENTS, DEFAULT_CLIENT, SCOPES
from slm.cli.shared import Group, db_option, handles_errors, json_option
from slm.errors import InvalidInput, NoStore, SlmError

MAX_INPUT = 1 << 20  # bytes of an event's JSON; clients send well under 100 KiB (a prompt, paths, ids)
EVENTS = ("session-start", "user-prompt-submit", "stop", "pre-compact", "session-end")  # slm's events
CAPTURING = {"stop": False, "pre-compact": True, "session-end": True}  # event -> whether the session is read whole
client_option = click.option(
    "--client", default=DEFAULT_CLIENT, show_default=True, type=click.Choice(list(CLIENTS)), help="The client."
)
scope_option = click.option(
    "--scope", default="user", show_default=True, type=click.Choice(SCOPES),
    help="user (the client's folder in your home), project (in this checkout, shared) or, for Claude Code, local "
    "(.claude/settings.local.json, this checkout only).",
)  # fmt: skip


@click.group("hooks", cls=Group)
def hooks_app() -> None:
    """Automatic memory for coding assistants: context at session start and with each prompt, capture at a turn's
    end, before a compaction and at the session's end."""


@hooks_app.command("install")
@client_option
@scope_option
@json_option
@handles_errors
def hooks_install(client: str, scope: str, as_json: bool) -> None:
    """Add slm's hooks to the client's settings (the user's other hooks are kept; running it again replaces slm's)."""
    from slm.cli import hook_clients

    path = hook_clients.settings_path(scope, Path.cwd(), client)
    events = hook_clients.install(path, hook_clients.slm_command(), client)
    note = "; ".join(filter(None, [CLIENTS[client].note, hook_clients.switched_off(client, path)]))
    result = {"client": client, "settings": str(path), "events": events, "note": note}
    _said(result, as_json, f"hooked {', '.join(events)} in {path}" + (f"\n{note}" if note else ""))


@hooks_app.command("uninstall")
@client_option
@scope_option
@json_option
@handles_errors
def hooks_uninstall(client: str, scope: str, as_json: bool) -> None:
    """Remove slm's hooks from the client's settings, leaving everything else as it was."""
    from slm.cli import hook_clients

    path = hook_clients.settings_path(scope, Path.cwd(), client)
    removed = hook_clients.uninstall(path, client)
    _said(
        {"client": client, "settings": str(path), "removed": removed}, as_json, f"removed {removed} hooks from {path}"
    )


@hooks_app.command("status")
@client_option
@json_option
@handles_errors
def hooks_status(client: str, as_json: bool) -> None:
    """Which of the client's settings files hold slm's hooks, and the commands they run."""
    from slm.cli import hook_clients

    found = {}
    for scope in CLIENTS[client].scopes:
        path = hook_clients.settings_path(scope, Path.cwd(), client)
        found[scope] = {"settings": str(path), "commands": hook_clients.installed(path, client)}
        if off := hook_clients.switched_off(client, path):
            found[scope]["off"] = off
    if as_json:
        out.emit_json(found)
        return
    for scope, where in found.items():
        out.plain(f"{scope:>7}  {where['settings']}: " + (", ".join(where["commands"]) or "no slm hooks"))
        if "off" in where:
            out.plain(f"{'':>7}  {where['off']}")


@click.command("hook")
@click.argument("event", type=click.Choice(EVENTS), help="The client's event.")
@click.option("--budget", default=1500, type=click.IntRange(100, 2500), help="Tokens of context at session start.")
@click.option("--client", default=DEFAULT_CLIENT, type=click.Choice(list(CLIENTS)), help="The client that runs it.")
@db_option
def hook(event: str, budget: int, client: str, db: Path | None) -> None:
    """Run by the client at EVENT with the event's JSON on standard input; prints the context memory adds."""
    from slm.cli import hook_payloads

    spec = caller = CLIENTS[client]
    try:
        if spec.event_name(event) is None:
            raise InvalidInput(f"slm does not hook {event} in {spec.label}", _why_not(client))
        given = _event_input()
        caller = CLIENTS[hook_payloads.caller(given, client)]
        said = _answer(event, given, budget, db, spec, caller)
    except SlmError as err:
        _failed(event, caller, err.message + (f" ({err.hint})" if err.hint else ""))
    except Exception as err:  # a hook never shows its client a traceback, nor blocks it: one line, exit 1
        _failed(event, caller, f"unexpected {type(err).__name__}: {err} (run `slm doctor`)")
    line = hook_payloads.answer(caller, event, said)
    if line is not None:
        click.echo(line)  # Gemini CLI, Cursor and Cline parse stdout as JSON: nothing to say is their empty answer


def _failed(event: str, caller, message: str) -> None:
    """One line on stderr and exit 1; a client that reads a failure without JSON as an error of its own (Cline)
    is given its silent answer too, which lets it go on."""
    from slm.cli import hook_payloads

    click.echo(f"slm hook {event}: {message}", err=True)
    if caller.reply.on_error:
        click.echo(hook_payloads.answer(caller, event, ""))
    sys.exit(1)


def _why_not(client: str) -> str:
    events = ", ".join(f"{e.ours} ({name})" for name, e in CLIENTS[client].events.items())
    return f"the client has no such event; slm hooks {events}"


def _answer(event: str, given: dict, budget: int, db: Path | None, spec, caller) -> str:
    """What memory adds at `event` for the client `caller`, which ran a hook installed for `spec`. Another client
    running it (Cursor or Copilot CLI running Claude Code's hooks) is answered only at an event where it takes
    context and only without slm's own hooks for it (no context twice); its transcripts are not read (their
    formats are not documented)."""
    from slm.cli import hook_clients, hook_payloads
    from slm.core.project_identity import identify

    if caller is not spec and caller.event_name(event) is None:
        return ""
    folder = hook_payloads.directory(given, caller)
    identity = identify(folder)
    if caller is not spec and hook_clients.native(caller.name, [folder, identity.root]):
        return ""
    if event in CAPTURING:
        _capture(event, given, identity, db, caller)
        return ""  # a capture says nothing: a Stop hook's JSON would be read as a decision (Gemini CLI gets `{}`)
    prompt = ""
    if event == "user-prompt-submit":
        prompt = hook_payloads.text(given, caller.payload.prompt, caller.payload.prompt[0])
        if not prompt.strip():
            return ""
    memory = _open(db, create=False)
    if memory is None:
        return ""  # no store yet: nothing to add, and a hook that only reads creates none
    from slm.core import session_context

    with memory:
        project = memory.project_for(identity.root)  # the name the repository is bound to (renames, merges kept)
        if event == "session-start":
            return session_context.session_start(memory, project, budget)
        return session_context.for_prompt(memory, prompt[:8000], project)


def _capture(event: str, given: dict, identity, db: Path | None, spec) -> None:
    """Store what is new in the session's transcript, read in the client's format, as the client's (the user's own
    sentences as theirs); the store is made on the first capture."""
    from slm.cli.hook_payloads import value

    fields = spec.payload
    transcript, session = value(given, fields.transcript), value(given, fields.session)
    if not isinstance(transcript, str) or "\x00" in transcript:
        raise InvalidInput(f"the event names no transcript (`{fields.transcript[0]}`)",
                           "the client sends the session's file")  # fmt: skip
    if not isinstance(session, str):
        raise InvalidInput(f"the event names no session (`{fields.session[0]}`)", "the client sends the session's id")
    with _open(db, create=True) as memory:
        memory.capture_transcript(
            Path(transcript), session=session, project=memory.project_for(identity.root), agent=spec.name,
            root=identity.root, final=CAPTURING[event], client=spec.name,
        )  # fmt: skip


def _open(db: Path | None, *, create: bool):
    from slm.core.memory import Memory

    try:
        return Memory.open(db, create=create, protocol="cli")
    except NoStore:
        return None


def _event_input() -> dict:
    raw = sys.stdin.buffer.read(MAX_INPUT + 1)
    if len(raw) > MAX_INPUT:
        raise InvalidInput(f"the event's JSON is over {MAX_INPUT} bytes", "slm reads at most 1 MiB from a hook")
    try:
        given = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput(f"the event's input is not JSON ({err})", "the client sends one JSON object") from None
    if not isinstance(given, dict):
        raise InvalidInput("the event's input is not a JSON object", "the client sends one JSON object")
    return given


def _said(result: dict, as_json: bool, line: str) -> None:
    if as_json:
        out.emit_json(result)
    else:
        out.plain(line)
