"""The project of an MCP client's writes comes from its workspace folder, as the client tells it through MCP roots:
in process and through real `slm mcp` processes (stdio, --http), with clients that have roots, have none, name a
folder that is not here, change them mid-session, answer an error or never answer; on a SQLite file and on a
PostgreSQL database alike (issue 24)."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from mcp_types import Implementation

from slm import Memory
from slm.mcp.roots import first_local_folder, local_folder
from slm.mcp.server import build_server
from tests.claude_transcripts import git_checkout
from tests.test_mcp_processes import SLM, _env, serving_http

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.both_backends,
    pytest.mark.filterwarnings("ignore:The roots capability is deprecated"),
]
CURSOR = Implementation(name="cursor", version="1")


@pytest.fixture
def shop(tmp_path) -> Path:
    """A checkout of github.com/acme/shop: its project is "shop"."""
    return git_checkout(tmp_path / "checkouts" / "shop")


@pytest.fixture
def blog(tmp_path) -> Path:
    return git_checkout(tmp_path / "checkouts" / "blog", "https://github.com/acme/blog.git")


@pytest.fixture
def memory(store_at):
    with Memory.open(store_at, protocol="mcp-stdio") as mem:
        yield mem


def legacy(server_or_url, roots=None, **kwargs) -> Client:
    """A client of the initialize handshake, which every assistant speaks today: the era that has roots."""
    return Client(server_or_url, roots=roots, mode="legacy", client_info=CURSOR, **kwargs)


async def remember(client: Client, content: str, **args) -> dict:
    return (await client.call_tool("remember", {"content": content, **args})).structured_content


async def writes_to(client: Client) -> dict:
    return (await client.call_tool("status", {})).structured_content["writes_to"]


# -- in process -----------------------------------------------------------------------------------------------------
async def test_a_client_root_names_the_project_of_writes_and_status_says_so(memory, shop):
    (shop / "src").mkdir()
    async with legacy(build_server(memory), roots=[(shop / "src").as_uri()]) as client:
        before = await writes_to(client)
        stored = await remember(client, "The cart is written in Vue 3.")
        named = await remember(client, "Ops rotates the keys monthly.", project="ops")
        after = await writes_to(client)
    assert (stored["project"], named["project"]) == ("shop", "ops")
    folder = str(shop / "src")
    assert before == {"project": None, "source": "roots", "folder": folder}  # bound by the first write, not status
    assert after == {"project": "shop", "source": "roots", "folder": folder}


async def test_roots_come_before_the_folder_a_stdio_client_started_the_server_in(memory, shop, tmp_path):
    started_in = tmp_path / "elsewhere"
    started_in.mkdir()
    server = build_server(memory, workspace=started_in)
    async with legacy(server, roots=[shop.as_uri()]) as client:
        assert (await remember(client, "The cart is written in Vue 3."))["project"] == "shop"
    async with legacy(server) as client:  # no roots: the folder it was started in, as before
        assert (await remember(client, "A note from elsewhere"))["project"] == "elsewhere"
        assert await writes_to(client) == {"project": "elsewhere", "source": "workspace", "folder": str(started_in)}


async def test_without_usable_roots_writes_go_to_the_default_project(memory, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    not_here = [
        (tmp_path / "gone").as_uri(),  # on the client's machine, not this one
        a_file.as_uri(),  # a file, not a folder
        "file://build-box.example/home/alice/shop",  # another host's
    ]
    for roots in (None, [], not_here):
        async with legacy(build_server(memory), roots=roots) as client:
            assert (await remember(client, f"A note with roots {roots}"))["project"] == "default"
            assert await writes_to(client) == {"project": "default", "source": "default", "folder": None}


async def test_the_first_local_root_counts(memory, shop, blog, tmp_path):
    roots = [(tmp_path / "gone").as_uri(), blog.as_uri(), shop.as_uri()]
    async with legacy(build_server(memory), roots=roots) as client:
        assert (await remember(client, "The blog is built with Hugo."))["project"] == "blog"


async def test_changed_roots_name_the_project_after_the_notification(memory, shop, blog):
    open_now = [shop.as_uri()]
    asked: list[float] = []

    def roots(_context) -> list[str]:
        asked.append(time.monotonic())
        return list(open_now)

    async with legacy(build_server(memory), roots=roots) as client:
        assert (await remember(client, "The cart is written in Vue 3."))["project"] == "shop"
        assert (await remember(client, "The cart checks stock on add."))["project"] == "shop"
        assert len(asked) == 1  # asked once per session, not at every write
        open_now[:] = [blog.as_uri()]
        await client.send_roots_list_changed()
        for _ in range(50):  # a notification has no answer: wait until the server has read it
            if (await writes_to(client))["project"] == "blog" or len(asked) > 1:
                break
            await anyio.sleep(0.05)
        assert (await remember(client, "The blog is built with Hugo."))["project"] == "blog"
        assert len(asked) == 2


async def test_a_client_that_answers_an_error_or_nothing_gets_its_write_in_time(memory, shop):
    def refuses(_context):
        raise RuntimeError("roots are private")

    async def never_answers(_context):
        await anyio.sleep(60)
        return [shop.as_uri()]

    for roots in (refuses, never_answers):
        async with legacy(build_server(memory), roots=roots) as client:
            began = time.monotonic()
            stored = await remember(client, f"A note despite {roots.__name__}")
            assert stored["project"] == "default" and time.monotonic() - began < 5
            began = time.monotonic()
            assert (await remember(client, f"Another note despite {roots.__name__}"))["project"] == "default"
            assert time.monotonic() - began < 0.9  # the failure is kept: not another wait at every write


async def test_a_2026_client_is_not_asked_and_keeps_todays_projects(memory, shop, tmp_path):
    """The 2026-07-28 protocol deprecates roots and has no session to keep an answer in (roots.py says why)."""
    started_in = tmp_path / "started-in"
    started_in.mkdir()
    async with Client(build_server(memory, workspace=started_in), roots=[shop.as_uri()], client_info=CURSOR) as c:
        assert c.protocol_version == "2026-07-28"
        assert (await remember(c, "A note from a 2026 client"))["project"] == "started-in"


def test_a_root_is_a_folder_of_this_machine(tmp_path):
    spaced = tmp_path / "my shop"
    spaced.mkdir()
    assert local_folder(spaced.as_uri()) == spaced  # percent-encoded
    assert local_folder(f"file://localhost{tmp_path}") == tmp_path
    assert local_folder(f"FILE://{tmp_path}") == tmp_path
    for uri in ("file:relative/shop", f"file://other{tmp_path}", f"https://example.com{tmp_path}", "file:///%00x"):
        assert local_folder(uri) is None, uri
    assert first_local_folder([]) is None


# -- over real HTTP -------------------------------------------------------------------------------------------------
@pytest.fixture
def store(db_arg) -> str:
    """The team's store as `slm mcp --db` names it: a file's path, or a PostgreSQL URL."""
    return db_arg


@pytest.fixture
def token(store) -> str:
    with Memory.open(store) as user:
        return user.add_agent("cursor")[1]


async def test_an_http_client_writes_to_the_project_of_its_root(store, token, shop, blog, tmp_path):
    open_now = [shop.as_uri()]
    with serving_http(store) as url:
        async with legacy(url, roots=lambda _context: list(open_now), auth=token) as client:
            assert (await remember(client, "The cart is written in Vue 3."))["project"] == "shop"
            assert (await writes_to(client))["source"] == "roots"
            open_now[:] = [blog.as_uri()]
            await client.send_roots_list_changed()
            for _ in range(50):
                if (await writes_to(client))["folder"] == str(blog):
                    break
                await anyio.sleep(0.05)
            assert (await remember(client, "The blog is built with Hugo."))["project"] == "blog"
        async with legacy(url, auth=token) as client:  # no roots: an HTTP server has no folder of its clients
            assert (await remember(client, "A note without roots"))["project"] == "default"
        remote = [(tmp_path / "on-alices-laptop" / "shop").as_uri()]  # a remote client's folder, not here
        async with legacy(url, roots=remote, auth=token) as client:
            assert (await remember(client, "A note from afar"))["project"] == "default"
            assert (await writes_to(client))["source"] == "default"
    with Memory.open(store) as user:
        assert {p["name"]: p["memories"] for p in user.projects()} == {"shop": 1, "blog": 1, "default": 2}


async def test_a_stdio_client_started_elsewhere_writes_to_the_project_of_its_root(store, shop, tmp_path):
    started_in = tmp_path / "home-ish"
    started_in.mkdir()
    server = StdioTransport(SLM, ["mcp", "--db", str(store)], env=_env(), cwd=str(started_in))
    async with legacy(server, roots=[shop.as_uri()]) as client:
        assert (await remember(client, "The cart is written in Vue 3."))["project"] == "shop"
        assert await writes_to(client) == {"project": "shop", "source": "roots", "folder": str(shop)}
