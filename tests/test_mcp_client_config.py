"""`slm mcp config --client C` for every client: the real command's snippet parses in that client's own format
(JSON, TOML, YAML), names this slm and `slm mcp`, carries the token when asked, and starts a working server."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from slm import Memory
from slm.errors import InvalidInput
from slm.mcp.client_config import CLIENTS, config_snippet
from slm.mcp.client_formats import quote
from tests.test_cli import SLM, cli

THIS_SLM = SLM[0]  # the console script next to this Python, which the snippets must name
FORMAT = {"codex": "toml", "goose": "yaml", "continue": "yaml"}  # every other client reads JSON


def parse(client: str, text: str) -> dict:
    """The snippet read the way the client reads it."""
    fmt = FORMAT.get(client, "json")
    return tomllib.loads(text) if fmt == "toml" else yaml.safe_load(text) if fmt == "yaml" else json.loads(text)


def launch(client: str, document: dict) -> tuple[str, list[str], dict]:
    """(command, args, env) of the slm server in the client's document, with the client's own key names."""
    if client == "codex":
        entry = document["mcp_servers"]["slm"]
    elif client == "goose":
        entry = document["extensions"]["slm"]
        assert (entry["type"], entry["name"], entry["enabled"]) == ("stdio", "slm", True)
        return entry["cmd"], entry["args"], entry["envs"]
    elif client == "continue":
        assert (document["name"], document["schema"]) == ("slm", "v1") and document["version"]
        (entry,) = document["mcpServers"]
        assert (entry["name"], entry["type"]) == ("slm", "stdio")
    elif client == "opencode":
        entry = document["mcp"]["slm"]
        assert (entry["type"], entry["enabled"]) == ("local", True)
        return entry["command"][0], entry["command"][1:], entry["environment"]
    elif client == "zed":
        entry = document["context_servers"]["slm"]
    elif client == "vscode":
        entry = document["servers"]["slm"]
        assert entry["type"] == "stdio"
    else:
        entry = document["mcpServers"]["slm"]
        expected = {"claude-code": "stdio", "copilot-cli": "local"}.get(client)
        assert entry.get("type") == expected
        assert client != "copilot-cli" or entry["tools"] == ["*"]
    return entry["command"], entry["args"], entry["env"]


def config(client: str, *args: object) -> tuple[dict, str]:
    """Run the real `slm mcp config`; (the parsed snippet, what it printed on stderr)."""
    done = cli("mcp", "config", "--client", client, *args)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    return parse(client, done.stdout.decode()), done.stderr.decode()


@pytest.mark.parametrize("client", list(CLIENTS))
def test_each_client_gets_its_own_format_naming_this_slm(client, tmp_path, slm_home):
    document, notes = config(client, "--db", tmp_path / "x.db")
    command, args, env = launch(client, document)
    assert Path(command).is_absolute() and command == THIS_SLM
    assert args == ["mcp", "--db", str((tmp_path / "x.db").resolve())]
    assert env == {"SLM_AGENT": client}
    assert f"add to {CLIENTS[client].where.split()[0]}" in " ".join(notes.split())  # where it goes, said first


@pytest.mark.parametrize("client", list(CLIENTS))
def test_each_client_with_a_token_is_that_authenticated_agent(client, tmp_path, slm_home):
    store = tmp_path / "x.db"
    document, _ = config(client, "--token", "--db", store)
    _, args, env = launch(client, document)
    assert args[:1] == ["mcp"] and env["SLM_AGENT"] == client
    with Memory.open(store) as mem:
        assert mem.authenticate(env["SLM_AGENT_TOKEN"]).name == client


def test_an_unknown_client_lists_the_known_ones(slm_home):
    done = cli("mcp", "config", "--client", "emacs")
    message = " ".join(done.stderr.decode().split())
    assert done.returncode == 2 and done.stdout == b"" and "Traceback" not in message
    assert "unknown client 'emacs'" in message and all(name in message for name in CLIENTS)


AWKWARD = 'C:\\Program Files\\"slm" #1: [a] {b}, &c *d !e |f >g %h @i `j\n\t\x7f\x85\u2028é😀\\'


@pytest.mark.parametrize("client", list(CLIENTS))
def test_any_path_survives_every_format(client):
    """Quotes, backslashes, YAML and TOML punctuation, control characters, line separators and emoji: the client
    reads back exactly the path slm wrote."""
    _, text = config_snippet(client, executable=AWKWARD, db=Path("/tmp") / AWKWARD)
    command, args, _ = launch(client, parse(client, text))
    assert command == AWKWARD and args[2] == str(Path("/tmp") / AWKWARD)
    assert text.isascii()  # whatever the terminal's encoding


@given(st.text())
def test_quoted_strings_read_back_the_same_in_toml_and_yaml(value):
    assert tomllib.loads(f"x = {quote(value)}")["x"] == value
    assert yaml.safe_load(f"x: {quote(value)}")["x"] == value


def test_a_path_that_is_not_unicode_is_refused():
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        config_snippet("goose", executable="/tmp/\udcff/slm")


def _environment(snippet_env: dict) -> dict:
    """What a client gives the server: its own environment (without a stray SLM_AGENT) plus the snippet's env."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SLM_AGENT")} | snippet_env


@pytest.mark.anyio
@pytest.mark.parametrize("client", ["cursor", "opencode", "codex", "goose", "continue"])  # JSON ×2, TOML, YAML ×2
async def test_the_server_starts_exactly_as_the_snippet_says(client, tmp_path, slm_home):
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    store = tmp_path / "x.db"
    document, _ = config(client, "--token", "--db", store)
    command, args, env = launch(client, document)
    assert command == THIS_SLM
    transport = StdioTransport(command=command, args=args, env=_environment(env), keep_alive=False)
    async with Client(transport) as session:
        assert len(await session.list_tools()) == 10
        agent = (await session.call_tool("status", {})).structured_content["agent"]
    assert (agent["name"], agent["verified"]) == (client, True)
