"""How slm's hooks are written into each kind of client configuration, leaving the user's own as they were.

Three kinds (`hook_clients.Client.writer` names one):
- `nested`: JSON `{"hooks": {Event: [{"matcher"?, "hooks": [handler, …]}]}}` (Claude Code, Gemini CLI, Codex);
- `flat` / `owned`: JSON `{"version": 1, "hooks": {event: [handler, …]}}`, handlers straight in each event's list
  (Cursor's `hooks.json`; GitHub Copilot CLI's `hooks/*.json`, where slm keeps a file of its own and removes it
  when only slm's handlers were in it);
- `scripts`: one executable file per hook, named after it, in a folder (Cline): slm writes a small `#!/bin/sh`
  script that runs it, refuses to replace a file of that name that is not its own, and removes only its own.

slm's handlers are recognised by the command they run (`… slm hook EVENT [--client C]`), its scripts by their
marker line and that command. A JSON file that does not parse is refused, never overwritten; every file is
replaced whole (temp file, rename), its permissions kept."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from slm.errors import InvalidInput

if TYPE_CHECKING:
    from slm.cli.hook_clients import Client

_OURS = re.compile(r"(^|[/\\'\"\s])slm(\.exe)?['\"]? hook [a-z-]+( --client [a-z-]+)?$")  # what `install` writes
SCRIPT_MARK = "# slm: local memory"  # the second line of every script slm writes
MAX_SCRIPT = 4096  # bytes of a hook file read to tell whether it is slm's


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
    _replace(path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n", None)


def _replace(path: Path, text: str, mode: int | None) -> None:
    """Replace the file whole (a crash leaves the old one), keeping its permissions unless `mode` is given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(prefix=".slm-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def handler(spec: Client, ours: str, timeout: int, command: str) -> dict:
    """One handler as the client writes it: the client's fixed fields, its command field(s), its timeout."""
    made = {key: value.format(ours=ours) for key, value in spec.handler.items()}
    made |= {key: template.format(command=command) for key, template in spec.commands.items()}
    return made | {spec.timeout_key: timeout}


def is_ours(handler: object, keys: tuple[str, ...] = ("command",)) -> bool:
    if not isinstance(handler, dict):
        return False
    return any(isinstance(handler.get(key), str) and bool(_OURS.search(handler[key])) for key in keys)


class JsonHooks:
    """What the JSON files share: removing slm's handlers keeps everything else; `owned`: the file is slm's own,
    removed when nothing else is left in it. Each format says which handlers are slm's (`installed`) and what is
    left without them (`_without_ours`)."""

    owned = False

    def uninstall(self, path: Path, spec: Client) -> int:
        if not path.exists():
            return 0
        settings = read(path)
        before = self.installed(path, spec)
        hooks = self._without_ours(settings.get("hooks", {}), spec)
        if hooks:
            settings["hooks"] = hooks
        else:
            settings.pop("hooks", None)
        if self.owned and not hooks and set(settings) <= {"version"}:
            path.unlink()  # slm's own file, holding nothing of anyone else's
        elif before:
            write(path, settings)
        return len(before)


class Nested(JsonHooks):
    """`{"hooks": {Event: [{"matcher"?, "hooks": [handler]}]}}`."""

    def install(self, path: Path, spec: Client, command: str) -> None:
        settings = read(path)
        hooks = self._without_ours(settings.get("hooks", {}), spec)
        for event, ours in spec.events.items():
            group: dict = {"hooks": [handler(spec, ours.ours, ours.timeout, spec.run(command, ours.ours))]}
            if ours.matcher is not None:
                group = {"matcher": ours.matcher, **group}
            hooks.setdefault(event, []).append(group)
        write(path, settings | {"hooks": hooks})

    def installed(self, path: Path, spec: Client) -> list[str]:
        keys = tuple(spec.commands)
        return [h[keys[0]] for hs in self._handlers(read(path).get("hooks", {})) for h in hs if is_ours(h, keys)]

    @staticmethod
    def _handlers(hooks: dict) -> list[list]:
        groups = [g for gs in hooks.values() if isinstance(gs, list) for g in gs]
        return [g["hooks"] for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list)]

    @staticmethod
    def _without_ours(hooks: dict, spec: Client) -> dict:
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
                handlers = [h for h in group["hooks"] if not is_ours(h, tuple(spec.commands))]
                if handlers:
                    left.append(group | {"hooks": handlers})
            if left:
                kept[event] = left
        return kept


class Flat(JsonHooks):
    """`{"version": 1, "hooks": {event: [handler]}}`."""

    def __init__(self, *, owned: bool = False) -> None:
        self.owned = owned

    def install(self, path: Path, spec: Client, command: str) -> None:
        settings = read(path)
        hooks = self._without_ours(settings.get("hooks", {}), spec)
        for event, ours in spec.events.items():
            hooks.setdefault(event, []).append(handler(spec, ours.ours, ours.timeout, spec.run(command, ours.ours)))
        write(path, {"version": 1} | settings | {"hooks": hooks})  # an existing version is kept

    def installed(self, path: Path, spec: Client) -> list[str]:
        keys = tuple(spec.commands)
        hooks = read(path).get("hooks", {})
        return [h[keys[0]] for hs in hooks.values() if isinstance(hs, list) for h in hs if is_ours(h, keys)]

    @staticmethod
    def _without_ours(hooks: dict, spec: Client) -> dict:
        kept: dict = {}
        for event, handlers in hooks.items():
            if not isinstance(handlers, list):
                kept[event] = handlers  # not ours to judge: kept as it is
                continue
            if left := [h for h in handlers if not is_ours(h, tuple(spec.commands))]:
                kept[event] = left
        return kept


class Scripts:
    """One executable file per hook, named after the client's event, in the folder at `path`."""

    def install(self, path: Path, spec: Client, command: str) -> None:
        if os.name == "nt":
            raise InvalidInput(f"{spec.label}'s hooks are shell scripts", "slm writes them on macOS and Linux only")
        if path.exists() and not path.is_dir():
            raise InvalidInput(f"{path} is not a folder", f"{spec.label} keeps its hooks in that folder; move the file")
        for event in spec.events:
            if (path / event).exists() and self._ours(path / event) is None:
                raise InvalidInput(
                    f"{path / event} exists and is not slm's",
                    f"{spec.label} runs one file per hook name: move it away or call slm from it; slm wrote nothing",
                )
        for event, ours in spec.events.items():
            body = f"#!/bin/sh\n{SCRIPT_MARK} ({spec.label}, {event}); `slm hooks uninstall --client {spec.name}`"
            _replace(path / event, f"{body} removes it\nexec {spec.run(command, ours.ours)}\n", 0o755)

    def uninstall(self, path: Path, spec: Client) -> int:
        removed = 0
        for event in spec.events:
            if self._ours(path / event) is not None:
                (path / event).unlink()
                removed += 1
        return removed

    def installed(self, path: Path, spec: Client) -> list[str]:
        return [found for event in spec.events if (found := self._ours(path / event)) is not None]

    @staticmethod
    def _ours(file: Path) -> str | None:
        """The command slm's script at `file` runs; None when there is no such file or it is not slm's."""
        try:
            with file.open("rb") as given:
                text = given.read(MAX_SCRIPT).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        lines = text.splitlines()
        if len(lines) < 3 or lines[0] != "#!/bin/sh" or not lines[1].startswith(SCRIPT_MARK):
            return None
        run = lines[2].removeprefix("exec ")
        return run if lines[2].startswith("exec ") and _OURS.search(run) else None


WRITERS = {"nested": Nested(), "flat": Flat(), "owned": Flat(owned=True), "scripts": Scripts()}
