"""Where each client keeps its hooks, what it sends a hook and what it reads back: one row per client (`CLIENTS`),
the single place that says what a client is, so adding a client is data.

A row names the client's hook configuration at each scope (and the variable that moves its folder), the kind of
writer that puts slm's hooks there (`hook_writers`: nested JSON groups for Claude Code, Gemini CLI and Codex, flat
JSON handlers for Cursor and GitHub Copilot CLI, one executable script per hook for Cline), its events with the `slm
hook` event each runs, the matcher and the timeout (in the client's unit), the fields of its payload that name the
project folder, the session and the prompt, and the shape of its answer (`Reply`). A client that also runs another
client's hooks (Cursor and Copilot CLI run Claude Code's) is told apart by the payload keys only it sends
(`marks`)."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from slm.errors import InvalidInput

DEFAULT_CLIENT = "claude-code"


@dataclass(frozen=True)
class Event:
    ours: str  # the `slm hook` event it runs
    matcher: str | None  # None: no matcher, every occurrence of the event
    timeout: int  # in the client's unit (`Client.timeout_unit`)


@dataclass(frozen=True)
class Reply:
    """How the client reads a hook's answer: the context under `key`, inside `hookSpecificOutput` (with the
    client's event name) when `nested`, beside the fixed fields `base`; with nothing to say, `base` as JSON when
    `json_only` (the client parses stdout as JSON), else no output; `on_error`: that silent answer is printed even
    when the hook fails (a client that turns a failure without JSON into an error of its own)."""

    key: str = "additionalContext"
    nested: bool = True
    base: dict = field(default_factory=dict)
    json_only: bool = False
    on_error: bool = False


@dataclass(frozen=True)
class Payload:
    """The payload's fields, each a dotted path (`workspace_roots.0`) or `$VARIABLE`, the first one set wins."""

    directory: tuple[str, ...] = ("cwd",)
    session: tuple[str, ...] = ("session_id",)
    prompt: tuple[str, ...] = ("prompt",)
    transcript: tuple[str, ...] = ("transcript_path",)


@dataclass(frozen=True)
class Client:
    name: str
    label: str
    env: str | None  # the environment variable that moves the client's folder (None: none documented)
    env_names_home: bool  # True: it replaces the home folder ($VAR/.gemini); False: it is the folder itself
    folder: str  # the client's folder under the home folder
    file: str  # the hook file (or, for `scripts`, the hooks folder) in that folder
    project_files: dict[str, str]  # scope -> the hook file's (folder's) path under the project folder
    events: dict[str, Event]  # the client's event name -> what slm runs at it
    timeout_unit: str
    writer: str = "nested"  # a key of hook_writers.WRITERS
    handler: dict = field(default_factory=lambda: {"type": "command"})  # fixed fields; "{ours}" is filled in
    commands: dict = field(default_factory=lambda: {"command": "{command}"})  # command field -> its text
    timeout_key: str = "timeout"
    reply: Reply = field(default_factory=Reply)
    payload: Payload = field(default_factory=Payload)
    marks: tuple[str, ...] = ()  # payload keys only this client sends
    hosts: tuple[str, ...] = ()  # clients that run this client's hooks too, with their own payloads
    note: str = ""  # what the user still has to do after an install

    @property
    def scopes(self) -> tuple[str, ...]:
        return ("user", *self.project_files)

    def event_name(self, ours: str) -> str | None:
        """The client's name for slm's event `ours`, None when slm does not hook it in this client."""
        return next((name for name, event in self.events.items() if event.ours == ours), None)

    def run(self, command: str, ours: str) -> str:
        """The command line of slm's hook at event `ours` in this client."""
        return f"{command} hook {ours}" + ("" if self.name == DEFAULT_CLIENT else f" --client {self.name}")


CLIENTS = {
    # code.claude.com/docs/en/hooks: settings.json at ~/.claude (CLAUDE_CONFIG_DIR), .claude/settings.json and
    # .claude/settings.local.json; timeouts in seconds; context must come fast or not at all, a capture may take
    # longer (SessionEnd allows 60 at most)
    "claude-code": Client(
        "claude-code", "Claude Code", "CLAUDE_CONFIG_DIR", False, ".claude", "settings.json",
        {"project": ".claude/settings.json", "local": ".claude/settings.local.json"},
        {
            "SessionStart": Event("session-start", "startup|resume|clear|compact", 10),
            "UserPromptSubmit": Event("user-prompt-submit", None, 10),
            "Stop": Event("stop", None, 30),
            "PreCompact": Event("pre-compact", None, 60),
            "SessionEnd": Event("session-end", None, 60),
        },
        "seconds",
        hosts=("cursor", "copilot-cli"),  # Cursor runs ~/.claude's and the project's, Copilot CLI the project's
    ),
    # github.com/google-gemini/gemini-cli docs/hooks/index.md and reference.md: settings.json `hooks` at
    # ~/.gemini (the home folder moved by GEMINI_CLI_HOME, packages/core/src/utils/paths.ts) and .gemini/ in the
    # project; timeouts in milliseconds; lifecycle matchers are exact strings, so none is set; `name` lets
    # `/hooks disable` name the hook and dedupes the same hook at two scopes. Every event carries
    # `transcript_path`, the session's chat recording (slm.capture.gemini): AfterAgent ends each turn (a capture
    # of what is new), PreCompress and SessionEnd read the session whole; SessionEnd is not waited for
    "gemini-cli": Client(
        "gemini-cli", "Gemini CLI", "GEMINI_CLI_HOME", True, ".gemini", "settings.json",
        {"project": ".gemini/settings.json"},
        {
            "SessionStart": Event("session-start", None, 10_000),
            "BeforeAgent": Event("user-prompt-submit", None, 10_000),
            "AfterAgent": Event("stop", None, 30_000),
            "PreCompress": Event("pre-compact", None, 60_000),
            "SessionEnd": Event("session-end", None, 60_000),
        },
        "milliseconds", handler={"name": "slm-{ours}", "description": "slm: local memory ({ours})", "type": "command"},
        reply=Reply(json_only=True),
        note="Gemini CLI runs hooks unless `hooksConfig.enabled` is false, and project hooks only in trusted folders",
    ),
    # developers.openai.com/codex/hooks: hooks.json beside config.toml at ~/.codex (CODEX_HOME,
    # developers.openai.com/codex/environment-variables) and <repo>/.codex; timeouts in seconds; SessionStart's
    # matcher filters its `source` (codex-rs/hooks/schema/generated/session-start.command.input.schema.json).
    # Stop (each turn's end) and PreCompact give `transcript_path`, the session's rollout (slm.capture.codex;
    # stop.command.input / pre-compact.command.input schemas); Codex has no session-end event. A Stop hook's empty
    # output lets the turn end; PreCompact ignores plain output
    "codex": Client(
        "codex", "Codex", "CODEX_HOME", False, ".codex", "hooks.json", {"project": ".codex/hooks.json"},
        {
            "SessionStart": Event("session-start", "startup|resume|clear|compact", 10),
            "UserPromptSubmit": Event("user-prompt-submit", None, 10),
            "Stop": Event("stop", None, 30),
            "PreCompact": Event("pre-compact", None, 60),
        },
        "seconds",
        note="Codex runs a new or changed hook only once you trust it: open /hooks in Codex and trust slm's",
    ),
    # cursor.com/docs/hooks: ~/.cursor/hooks.json (no variable moves it) and <project>/.cursor/hooks.json,
    # `{"version": 1, "hooks": {event: [{command, timeout}]}}`, timeouts in seconds. Only sessionStart can add
    # context (`additional_context`); beforeSubmitPrompt's answer can only block. The payload has no `cwd`: the
    # project is workspace_roots[0] (else $CURSOR_PROJECT_DIR), the session conversation_id; `transcript_path`'s
    # format is not documented, so nothing is captured. Cursor also runs Claude Code's hooks (third-party-hooks)
    "cursor": Client(
        "cursor", "Cursor", None, False, ".cursor", "hooks.json", {"project": ".cursor/hooks.json"},
        {"sessionStart": Event("session-start", None, 10)},
        "seconds", writer="flat", handler={},
        reply=Reply("additional_context", nested=False, json_only=True),
        payload=Payload(("workspace_roots.0", "$CURSOR_PROJECT_DIR"), ("conversation_id", "session_id")),
        marks=("cursor_version",),
        note="Cursor runs user hooks at once and project hooks in trusted workspaces; its Hooks output channel "
        "shows their errors",
    ),
    # docs.cline.bot/customization/hooks and cline/cline src/core/hooks: an executable file named after the hook
    # in ~/Documents/Cline/Hooks or <workspace>/.clinerules/hooks, fixed 30 s timeout; TaskStart, TaskResume and
    # UserPromptSubmit answer `{"cancel": false, "contextModification": …}`. The payload: workspaceRoots (the docs'
    # example: workspacePath), taskId, userPromptSubmit.prompt; no transcript. A failure without JSON is an error
    # of Cline's own, so the silent answer goes out even then
    "cline": Client(
        "cline", "Cline", None, False, "Documents/Cline", "Hooks", {"project": ".clinerules/hooks"},
        {
            "TaskStart": Event("session-start", None, 30),
            "TaskResume": Event("session-start", None, 30),
            "UserPromptSubmit": Event("user-prompt-submit", None, 30),
        },
        "seconds", writer="scripts",
        reply=Reply("contextModification", nested=False, base={"cancel": False}, json_only=True, on_error=True),
        payload=Payload(("workspaceRoots.0", "workspacePath"), ("taskId",), ("userPromptSubmit.prompt",), ()),
        marks=("clineVersion",),
        note="Cline runs hooks only once they are enabled (Settings: Enable Hooks; the CLI: `cline config set "
        "hooks-enabled=true`, macOS and Linux only)",
    ),
    # docs.github.com/copilot/reference/hooks-reference: every *.json in $COPILOT_HOME/hooks (default ~/.copilot)
    # and .github/hooks, `{"version": 1, "hooks": {event: [{type, bash, powershell, timeoutSec}]}}`; slm keeps a
    # file of its own. camelCase events get camelCase payloads (sessionId, cwd, prompt); sessionStart's answer is
    # a top-level `additionalContext`, userPromptSubmitted's reaches the model from Copilot CLI 1.0.65 (its
    # changelog). PowerShell needs `&` to run a quoted path. Copilot CLI also runs the repository's
    # .claude/settings*.json hooks, with PascalCase events and the snake_case "VS Code compatible" payload (with a
    # `timestamp`, which Claude Code does not send). Its transcript format is not documented: nothing is captured
    "copilot-cli": Client(
        "copilot-cli", "GitHub Copilot CLI", "COPILOT_HOME", False, ".copilot", "hooks/slm.json",
        {"project": ".github/hooks/slm.json"},
        {
            "sessionStart": Event("session-start", None, 10),
            "userPromptSubmitted": Event("user-prompt-submit", None, 10),
        },
        "seconds", writer="owned", commands={"bash": "{command}", "powershell": "& {command}"},
        timeout_key="timeoutSec", reply=Reply(nested=False),
        payload=Payload(session=("sessionId", "session_id")), marks=("sessionId", "timestamp"),
        note="per-prompt context needs Copilot CLI 1.0.65 or later; `disableAllHooks` switches hooks off",
    ),
}  # fmt: skip
SCOPES = tuple(dict.fromkeys(scope for client in CLIENTS.values() for scope in client.scopes))


def client(name: str) -> Client:
    if name not in CLIENTS:
        raise InvalidInput(f"no hooks for {name!r}", f"one of: {', '.join(CLIENTS)}")
    return CLIENTS[name]


def settings_path(scope: str, project_dir: Path, name: str = DEFAULT_CLIENT) -> Path:
    spec = client(name)
    if scope not in spec.scopes:
        raise InvalidInput(f"{spec.label} has no {scope!r} scope", f"one of: {', '.join(spec.scopes)}")
    if scope != "user":
        return project_dir / spec.project_files[scope]
    moved = os.environ.get(spec.env) if spec.env else None
    if moved and not spec.env_names_home:
        return Path(moved) / spec.file
    return Path(moved or Path.home()) / spec.folder / spec.file


def slm_command() -> str:
    """This slm, by its full path: a hook runs without the user's shell setup, so `slm` alone may not be found."""
    beside = Path(sys.executable).with_name("slm")
    return shlex.quote(str(beside if beside.exists() else Path(sys.argv[0]).resolve()))


def install(path: Path, command: str, name: str = DEFAULT_CLIENT) -> list[str]:
    """Add slm's hooks to the client's configuration at `path` (replacing slm's earlier ones); returns the events
    hooked."""
    spec = client(name)
    _writer(spec).install(path, spec, command)
    return list(spec.events)


def uninstall(path: Path, name: str = DEFAULT_CLIENT) -> int:
    """Remove slm's hooks from the configuration at `path`, leaving everything else; returns how many went."""
    spec = client(name)
    return _writer(spec).uninstall(path, spec)


def installed(path: Path, name: str = DEFAULT_CLIENT) -> list[str]:
    """The commands of slm's hooks in the client's configuration at `path`."""
    spec = client(name)
    return _writer(spec).installed(path, spec)


def _writer(spec: Client):
    """The writer of the client's configuration, imported on need: a hook's run never writes one."""
    from slm.cli.hook_writers import WRITERS

    return WRITERS[spec.writer]


def native(name: str, folders: list[Path]) -> bool:
    """Whether slm's own hooks for client `name` are installed for its user or any of these project folders (a
    configuration that cannot be read counts as none)."""
    spec = client(name)
    places = {settings_path(scope, folder, name) for scope in spec.scopes for folder in folders}
    for place in places:
        try:
            if installed(place, name):
                return True
        except (InvalidInput, OSError):
            continue
    return False


def switched_off(name: str, path: Path) -> str | None:
    """Why the client would not run the hooks in `path` by its own settings, if it says so: Codex turns hooks off
    with `[features] hooks = false` (or the older `codex_hooks`) in the config.toml beside hooks.json, Copilot CLI
    with `disableAllHooks` in the hooks file itself."""
    if name == "copilot-cli":
        try:
            from slm.cli.hook_writers import read

            off = read(path).get("disableAllHooks") is True
        except InvalidInput as err:
            return err.message
        return f"{path} sets `disableAllHooks`" if off else None
    if name != "codex":
        return None
    import tomllib

    config = path.with_name("config.toml")
    try:
        features = tomllib.loads(config.read_text(encoding="utf-8")).get("features", {}) if config.exists() else {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        return f"{config} does not parse as TOML ({err}); Codex will not read its hooks"
    for key in ("hooks", "codex_hooks"):
        if isinstance(features, dict) and features.get(key) is False:
            return f"{config} turns hooks off (`[features] {key} = false`)"
    return None


def doctor(project_dir: Path) -> tuple[bool, str, str]:
    """(ok, what was found, how to fix it) for `slm doctor`: where slm's hooks are installed, in every client, and
    whether each runs this slm."""
    this, found, wrong = shlex.split(slm_command())[0], [], []
    for name, spec in CLIENTS.items():
        places = []
        for scope in spec.scopes:
            path = settings_path(scope, project_dir, name)
            try:
                commands = installed(path, name)
            except InvalidInput as err:
                return False, err.message, err.hint or "fix the file"
            if commands:
                places.append(f"{scope} ({len(commands)})")
            wrong += [(name, c) for c in commands if shlex.split(c)[0] != this]
        if places:
            found.append(f"{spec.label} hooks in {', '.join(places)} settings")
    if wrong:
        name, command = wrong[0]
        return False, f"hooks run another slm: {command}", f"run `slm hooks install --client {name}` with this slm"
    if not found:
        return True, "none installed (`slm hooks install [--client C]` adds a client's)", ""
    return True, f"{'; '.join(found)}, running {this}", ""
