"""Where each client keeps its hooks, and writing slm's into them without touching the user's own: Claude Code's
`settings.json` (user, project or local scope). A file that is not valid JSON is refused, never overwritten."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

from slm.errors import InvalidInput

CLIENTS = ("claude-code",)
SCOPES = ("user", "project", "local")
# Claude Code's events: the `slm hook` event each runs, its matcher (None: the event takes none), and its timeout in
# seconds: context must come fast or not at all; a capture may take longer (SessionEnd allows 60 at most)
CLAUDE_EVENTS = {
    "SessionStart": ("session-start", "startup|resume|clear|compact", 10),
    "UserPromptSubmit": ("user-prompt-submit", None, 10),
    "Stop": ("stop", None, 30),
    "PreCompact": ("pre-compact", None, 60),
    "SessionEnd": ("session-end", None, 60),
}
_OURS = re.compile(r"(^|[/\\'\"\s])slm(\.exe)?['\"]? hook [a-z-]+$")  # a command `slm hooks install` wrote


def settings_path(scope: str, project_dir: Path) -> Path:
    if scope not in SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}", f"one of: {', '.join(SCOPES)}")
    if scope == "user":
        return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude") / "settings.json"
    return project_dir / ".claude" / ("settings.json" if scope == "project" else "settings.local.json")


def slm_command() -> str:
    """This slm, by its full path: a hook runs without the user's shell setup, so `slm` alone may not be found."""
    beside = Path(sys.executable).with_name("slm")
    return shlex.quote(str(beside if beside.exists() else Path(sys.argv[0]).resolve()))


def install(path: Path, command: str) -> list[str]:
    """Add slm's hooks to the settings at `path` (replacing slm's earlier ones); returns the events hooked."""
    settings = read(path)
    hooks = _without_ours(settings.get("hooks", {}))
    for event, (ours, matcher, timeout) in CLAUDE_EVENTS.items():
        group: dict = {"hooks": [{"type": "command", "command": f"{command} hook {ours}", "timeout": timeout}]}
        if matcher is not None:
            group = {"matcher": matcher, **group}
        hooks.setdefault(event, []).append(group)
    write(path, settings | {"hooks": hooks})
    return list(CLAUDE_EVENTS)


def uninstall(path: Path) -> int:
    """Remove slm's hooks from the settings at `path`, leaving everything else; returns how many were removed."""
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


def _without_ours(hooks: dict) -> dict:
    kept: dict = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            kept[event] = groups  # not ours to judge: kept as it is
            continue
        left = []
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
                left.append(group)  # not ours to judge: kept as it is
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
    """(ok, what was found, how to fix it) for `slm doctor`: where slm's hooks are installed, and whether each
    runs this slm."""
    this, found, wrong = shlex.split(slm_command())[0], [], []
    for scope in SCOPES:
        path = settings_path(scope, project_dir)
        try:
            commands = installed(read(path))
        except InvalidInput as err:
            return False, err.message, err.hint or "fix the file"
        if commands:
            found.append(f"{scope} ({len(commands)})")
        wrong += [c for c in commands if shlex.split(c)[0] != this]
    if wrong:
        return False, f"hooks run another slm: {wrong[0]}", "run `slm hooks install` again with this slm"
    if not found:
        return True, "none installed (`slm hooks install` adds Claude Code's)", ""
    return True, f"Claude Code hooks in {', '.join(found)} settings, running {this}", ""
