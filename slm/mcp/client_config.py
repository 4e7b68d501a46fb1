"""The config snippet each MCP client expects, pointing at the installed `slm` by absolute path.

Each client's format as its own documentation gives it (sources in `CLIENTS`): most read JSON `mcpServers`
(Claude Code, Claude Desktop, Cursor, Windsurf, Cline, Gemini CLI, JetBrains AI Assistant, Copilot CLI with
`type: local` and `tools`); VS Code reads `servers` with a `type`; Zed `context_servers`; opencode `mcp` with the
command and its arguments in one list and `environment`; Codex TOML `[mcp_servers.NAME]`; Goose YAML `extensions`
(`cmd`, `envs`); Continue a YAML block file with an `mcpServers` list.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from slm import config
from slm.errors import InvalidInput
from slm.mcp.client_formats import toml_table, yaml_block

DESCRIPTION = "slm: local memory shared by coding assistants"


class Server(NamedTuple):
    command: str
    args: list[str]
    env: dict[str, str]


def _mcp_servers(top: str = "mcpServers", **extra: object) -> Callable[[Server], str]:
    """JSON `{top: {"slm": {type?, command, args, env, **extra}}}`: the shape most clients share."""

    def render(server: Server) -> str:
        head = {"type": extra["type"]} if "type" in extra else {}
        tail = {k: v for k, v in extra.items() if k != "type"}
        entry = head | {"command": server.command, "args": server.args, "env": server.env} | tail
        return json.dumps({top: {"slm": entry}}, indent=2)

    return render


def _opencode(server: Server) -> str:
    entry = {"type": "local", "command": [server.command, *server.args], "enabled": True, "environment": server.env}
    return json.dumps({"$schema": "https://opencode.ai/config.json", "mcp": {"slm": entry}}, indent=2)


def _codex(server: Server) -> str:
    return toml_table(["mcp_servers", "slm"], {"command": server.command, "args": server.args, "env": server.env})


def _goose(server: Server) -> str:
    entry = {
        "type": "stdio", "name": "slm", "description": DESCRIPTION, "enabled": True,
        "cmd": server.command, "args": server.args, "envs": server.env, "timeout": 300,
    }  # fmt: skip
    return "\n".join(yaml_block({"extensions": {"slm": entry}}))


def _continue(server: Server) -> str:
    entry = {"name": "slm", "type": "stdio", "command": server.command, "args": server.args, "env": server.env}
    return "\n".join(yaml_block({"name": "slm", "version": "0.0.1", "schema": "v1", "mcpServers": [entry]}))


class Client(NamedTuple):
    where: str  # the file (or settings page) the snippet goes in, printed with it
    render: Callable[[Server], str]


CLIENTS: dict[str, Client] = {  # each new client's format is from the documentation named above it
    "claude-code": Client(
        ".mcp.json in your project (or run: claude mcp add-json slm '<the JSON below>' )",
        _mcp_servers(type="stdio"),
    ),
    "claude-desktop": Client("claude_desktop_config.json (Settings → Developer → Edit Config)", _mcp_servers()),
    "cursor": Client("~/.cursor/mcp.json (all projects) or .cursor/mcp.json (one project)", _mcp_servers()),
    "vscode": Client(".vscode/mcp.json in your workspace", _mcp_servers("servers", type="stdio")),
    "codex": Client("~/.codex/config.toml", _codex),
    # https://docs.windsurf.com/windsurf/cascade/mcp
    "windsurf": Client(
        "~/.codeium/windsurf/mcp_config.json (Windows: %USERPROFILE%\\.codeium\\windsurf\\mcp_config.json)",
        _mcp_servers(),
    ),
    # https://zed.dev/docs/ai/mcp
    "zed": Client(
        "~/.config/zed/settings.json (zed: open settings) or .zed/settings.json in your project, "
        "merged into the settings already there",
        _mcp_servers("context_servers"),
    ),
    # https://docs.continue.dev/customize/deep-dives/mcp
    "continue": Client(
        ".continue/mcpServers/slm.yaml in your workspace",
        _continue,
    ),
    # https://docs.cline.bot/mcp/configuring-mcp-servers
    "cline": Client(
        "cline_mcp_settings.json (Cline: MCP Servers → Configure → Configure MCP Servers)",
        _mcp_servers(disabled=False, autoApprove=[]),
    ),
    # https://github.com/google-gemini/gemini-cli/blob/main/docs/tools/mcp-server.md
    "gemini-cli": Client(
        "~/.gemini/settings.json (all projects) or .gemini/settings.json (one project)",
        _mcp_servers(),
    ),
    # https://www.jetbrains.com/help/ai-assistant/mcp.html
    "jetbrains": Client(
        "AI Assistant: Settings | Tools | AI Assistant | Model Context Protocol (MCP) → Add, as JSON",
        _mcp_servers(),
    ),
    # https://block.github.io/goose/docs/guides/config-files
    "goose": Client(
        "~/.config/goose/config.yaml (Windows: %APPDATA%\\Block\\goose\\config\\), merged into its extensions",
        _goose,
    ),
    # https://opencode.ai/docs/mcp-servers
    "opencode": Client(
        "opencode.json in your project or ~/.config/opencode/opencode.json, merged into the config already there",
        _opencode,
    ),
    # https://docs.github.com/en/copilot/how-tos/copilot-cli/customize-copilot/add-mcp-servers
    "copilot-cli": Client(
        "~/.copilot/mcp-config.json (or .mcp.json / .github/mcp.json in your repository)",
        _mcp_servers(type="local", tools=["*"]),
    ),
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
    client: str, *, db: Path | str | None = None, executable: str | None = None, token: str | None = None
) -> tuple[str, str]:
    """(where it goes, the snippet) for `client`; SLM_AGENT names the client so its writes carry its name, and
    with `token` SLM_AGENT_TOKEN makes it an authenticated agent (the snippet then holds a secret). A file is
    written as its absolute path (the client starts the server in a folder of its own); a URL as it is."""
    check_client(client)
    args = ["mcp"]
    if db:
        args += ["--db", db if config.is_server_url(db) else str(Path(db).expanduser().resolve())]
    env = {"SLM_AGENT": client} | ({"SLM_AGENT_TOKEN": token} if token else {})
    server = Server(executable or slm_executable(), args, env)
    return CLIENTS[client].where, CLIENTS[client].render(server)
