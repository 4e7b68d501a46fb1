"""Where each client keeps its hooks, and writing slm's into them without touching the user's own.

One table per client (`CLIENTS`): its hook file at each scope, its events with the `slm hook` event each runs, the
matcher and the timeout (in the client's unit), so adding a client is data. Claude Code, Gemini CLI and Codex all
keep hooks as JSON `{"hooks": {Event: [{"matcher"?, "hooks": [{"type": "command", "command", "timeout"}]}]}}`:
Claude Code's and Gemini CLI's in their `settings.json`, Codex's in a `hooks.json` beside its `config.toml` (which
Codex loads together with any `[hooks]` tables there, so the user's `config.toml` is never rewritten). A file that
is not valid JSON is refused, never overwritten; a file is replaced whole (temp file, rename)."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
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
class Client:
    label: str
    env: str  # the environment variable that moves the client's folder
    env_names_home: bool  # True: it replaces the home folder ($VAR/.gemini); False: it is the folder itself
    folder: str  # the client's folder under the home folder (and under a project)
    file: str  # the hook file's name in that folder
    project_files: dict[str, str]  # scope -> the hook file's path under the project folder
    events: dict[str, Event]  # the client's event name -> what slm runs at it
    timeout_unit: str
    handler: dict = field(default_factory=dict)  # more fields of each handler; "{ours}" is filled in
    json_only: bool = False  # stdout must be JSON even with nothing to say
    note: str = ""  # what the user still has to do after an install

    @property
    def scopes(self) -> tuple[str, ...]:
        return ("user", *self.project_files)

    def event_name(self, ours: str) -> str | None:
        """The client's name for slm's event `ours`, None when slm does not hook it in this client."""
        return next((name for name, event in self.events.items() if event.ours == ours), None)


CLIENTS = {
    # code.claude.com/docs/en/hooks: settings.json at ~/.claude (CLAUDE_CONFIG_DIR), .claude/settings.json and
    # .claude/settings.local.json; timeouts in seconds; context must come fast or not at all, a capture may take
    # longer (SessionEnd allows 60 at most)
    "claude-code": Client(
        "Claude Code", "CLAUDE_CONFIG_DIR", False, ".claude", "settings.json",
        {"project": ".claude/settings.json", "local": ".claude/settings.local.json"},
        {
            "SessionStart": Event("session-start", "startup|resume|clear|compact", 10),
            "UserPromptSubmit": Event("user-prompt-submit", None, 10),
            "Stop": Event("stop", None, 30),
            "PreCompact": Event("pre-compact", None, 60),
            "SessionEnd": Event("session-end", None, 60),
        },
        "seconds",
    ),
    # github.com/google-gemini/gemini-cli docs/hooks/index.md and reference.md: settings.json `hooks` at
    # ~/.gemini (the home folder moved by GEMINI_CLI_HOME, packages/core/src/utils/paths.ts) and .gemini/ in the
    # project; timeouts in milliseconds; lifecycle matchers are exact strings, so none is set; `name` lets
    # `/hooks disable` name the hook and dedupes the same hook at two scopes. Every event carries
    # `transcript_path`, the session's chat recording (slm.capture.gemini): AfterAgent ends each turn (a capture
    # of what is new), PreCompress and SessionEnd read the session whole; SessionEnd is not waited for
    "gemini-cli": Client(
        "Gemini CLI", "GEMINI_CLI_HOME", True, ".gemini", "settings.json", {"project": ".gemini/settings.json"},
        {
            "SessionStart": Event("session-start", None, 10_000),
            "BeforeAgent": Event("user-prompt-submit", None, 10_000),
            "AfterAgent": Event("stop", None, 30_000),
            "PreCompress": Event("pre-compact", None, 60_000),
            "SessionEnd": Event("session-end", None, 60_000),
        },
        "milliseconds", {"name": "slm-{ours}", "description": "slm: local memory ({ours})"}, json_only=True,
        note="Gemini CLI runs hooks unless `hooksConfig.enabled` is false, and project hooks only in trusted folders",
    ),
    # developers.openai.com/codex/hooks: hooks.json beside config.toml at ~/.codex (CODEX_HOME,
    # developers.openai.com/codex/environment-variables) and <repo>/.codex; timeouts in seconds; SessionStart's
    # matcher filters its `source` (codex-rs/hooks/schema/generated/session-start.command.input.schema.json).
    # Stop (each turn's end) and PreCompact give `transcript_path`, the session's rollout (slm.capture.codex;
    # stop.command.input / pre-compact.command.input schemas); Codex has no session-end event. A Stop hook's empty
    # output lets the turn end; PreCompact ignores plain output
    "codex": Client(
        "Codex", "CODEX_HOME", False, ".codex", "hooks.json", {"project": ".codex/hooks.json"},
        {
            "SessionStart": Event("session-start", "startup|resume|clear|compact", 10),
            "UserPromptSubmit": Event("user-prompt-submit", None, 10),
            "Stop": Event("stop", None, 30),
            "PreCompact": Event("pre-compact", None, 60),
        },
        "seconds",
        note="Codex runs a new or changed hook only once you trust it: open /hooks in Codex and trust slm's",
    ),
}  # fmt: skip
SCOPES = tuple(dict.fromkeys(scope for client in CLIENTS.values() for scope in client.scopes))
_OURS = re.compile(r"(^|[/\\'\"\s])slm(\.exe)?['\"]? hook [a-z-]+( --client [a-z-]+)?$")  # what `install` writes


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
    moved = os.environ.get(spec.env)
    if moved and not spec.env_names_home:
        return Path(moved) / spec.file
    return Path(moved or Path.home()) / spec.folder / spec.file


def slm_command() -> str:
    """This slm, by its full path: a hook runs without the user's shell setup, so `slm` alone may not be found."""
    beside = Path(sys.executable).with_name("slm")
    return shlex.quote(str(beside if beside.exists() else Path(sys.argv[0]).resolve()))


def install(path: Path, command: str, name: str = DEFAULT_CLIENT) -> list[str]:
    """Add slm's hooks to the client's file at `path` (replacing slm's earlier ones); returns the events hooked."""
    spec = client(name)
    settings = read(path)
    hooks = _without_ours(settings.get("hooks", {}))
    flag = "" if name == DEFAULT_CLIENT else f" --client {name}"
    for event, ours in spec.events.items():
        handler = {key: value.format(ours=ours.ours) for key, value in spec.handler.items()}
        handler |= {"type": "command", "command": f"{command} hook {ours.ours}{flag}", "timeout": ours.timeout}
        group: dict = {"hooks": [handler]}
        if ours.matcher is not None:
            group = {"matcher": ours.matcher, **group}
        hooks.setdefault(event, []).append(group)
    write(path, settings | {"hooks": hooks})
    return list(spec.events)


def uninstall(path: Path) -> int:
    """Remove slm's hooks from the file at `path`, leaving everything else; returns how many were removed."""
    if not path.exists():
        return 0
    settings = read(path)
    before = installed(settings)
    hooks = _without_ours(settings.get("hooks", {}))
    if hooks:
        settings["hooks"] = hooks
    else:
        settings.pop("hooks", None)
    if before:
        write(path, settings)
    return len(before)


def installed(settings: dict) -> list[str]:
    """The commands of slm's hooks in these settings."""
    hooks = settings.get("hooks", {})
    return [h["command"] for groups in hooks.values() for h in _handlers(groups) if _is_ours(h)]


def read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput(f"{path} is not valid JSON ({err})", "fix or move it; slm changed nothing") from None
    if not isinstance(settings, dict) or not isinstance(settings.get("hooks", {}), dict):
        raise InvalidInput(f"{path} does not hold a settings object with a `hooks` object", "fix or move it first")
    return settings


def write(path: Path, settings: dict) -> None:
    """Replace the file whole (a crash leaves the old one), keeping its permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(prefix=".slm-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(settings, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def switched_off(name: str, path: Path) -> str | None:
    """Why the client would not run the hooks in `path` by its own settings, if it says so: Codex turns hooks off
    with `[features] hooks = false` (or the older `codex_hooks`) in the config.toml beside hooks.json."""
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


def _without_ours(hooks: dict) -> dict:
    kept: dict = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            kept[event] = groups  # not ours to judge (Gemini's `enabled`, say): kept as it is
            continue
        left = []
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
                left.append(group)  # not ours to judge (Gemini's `disabled` names, say): kept as it is
                continue
            handlers = [h for h in group["hooks"] if not _is_ours(h)]
            if handlers:
                left.append(group | {"hooks": handlers})
        if left:
            kept[event] = left
    return kept


def _handlers(groups: object) -> list[dict]:
    if not isinstance(groups, list):
        return []
    return [h for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list) for h in g["hooks"]]


def _is_ours(handler: object) -> bool:
    command = handler.get("command") if isinstance(handler, dict) else None
    return isinstance(command, str) and bool(_OURS.search(command))


def doctor(project_dir: Path) -> tuple[bool, str, str]:
    """(ok, what was found, how to fix it) for `slm doctor`: where slm's hooks are installed, in every client, and
    whether each runs this slm."""
    this, found, wrong = shlex.split(slm_command())[0], [], []
    for name, spec in CLIENTS.items():
        places = []
        for scope in spec.scopes:
            path = settings_path(scope, project_dir, name)
            try:
                commands = installed(read(path))
            except InvalidInput as err:
                return False, err.message, err.hint or "fix the file"
            if commands:
                places.append(f"{scope} ({len(commands)})")
            wrong += [c for c in commands if shlex.split(c)[0] != this]
        if places:
            found.append(f"{spec.label} hooks in {', '.join(places)} settings")
    if wrong:
        return False, f"hooks run another slm: {wrong[0]}", "run `slm hooks install` again with this slm"
    if not found:
        return True, "none installed (`slm hooks install [--client C]` adds a client's)", ""
    return True, f"{'; '.join(found)}, running {this}", ""
