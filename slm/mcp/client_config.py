"""The config snippet each MCP client expects, pointing at the installed `slm` by absolute path.

Formats as each client documents them: Claude Code's `.mcp.json`, Claude Desktop's
`claude_desktop_config.json` and Cursor's `mcp.json` use `mcpServers`; VS Code's `.vscode/mcp.json` uses
`servers` with a `type`; Codex reads TOML `[mcp_servers.NAME]` from `~/.codex/config.toml`.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from slm.errors import InvalidInput

CLIENTS = {
    "claude-code": ".mcp.json in your project (or run: claude mcp add-json slm '<the JSON below>' )",
    "claude-desktop": "claude_desktop_config.json (Settings → Developer → Edit Config)",
    "cursor": "~/.cursor/mcp.json (all projects) or .cursor/mcp.json (one project)",
    "vscode": ".vscode/mcp.json in your workspace",
    "codex": "~/.codex/config.toml",
}


def slm_executable() -> str:
    """The absolute path of the `slm` command: next to this Python first (the venv it was installed into)."""
    beside = Path(sys.executable).with_name("slm")
    if beside.is_file():
        return str(beside)
    found = shutil.which("slm")
    return str(Path(found).resolve()) if found else str(beside)


def check_client(client: str) -> None:
    if client not in CLIENTS:
        raise InvalidInput(f"unknown client {client!r}", f"one of: {', '.join(CLIENTS)}")


def config_snippet(
    client: str, *, db: Path | None = None, executable: str | None = None, token: str | None = None
) -> tuple[str, str]:
    """(where it goes, the snippet) for `client`; SLM_AGENT names the client so its writes carry its name, and
    with `token` SLM_AGENT_TOKEN makes it an authenticated agent (the snippet then holds a secret)."""
    check_client(client)
    command = executable or slm_executable()
    args = ["mcp"] + (["--db", str(db.expanduser().resolve())] if db else [])
    env = {"SLM_AGENT": client} | ({"SLM_AGENT_TOKEN": token} if token else {})
    if client == "codex":
        lines = [
            "[mcp_servers.slm]",
            f"command = {json.dumps(command)}",
            f"args = {json.dumps(args)}",
            "env = { " + ", ".join(f"{key} = {json.dumps(value)}" for key, value in env.items()) + " }",
        ]
        return CLIENTS[client], "\n".join(lines)
    server = {"command": command, "args": args, "env": env}
    if client == "vscode":
        document = {"servers": {"slm": {"type": "stdio", **server}}}
    elif client == "claude-code":
        document = {"mcpServers": {"slm": {"type": "stdio", **server}}}
    else:
        document = {"mcpServers": {"slm": server}}
    return CLIENTS[client], json.dumps(document, indent=2)
