"""The `slm agent` group: authenticated agents, their tokens and permissions (add, list, revoke, rename, grant)."""

from __future__ import annotations

from pathlib import Path

import click

from slm.cli import output as out
from slm.cli.shared import Group, answer, db_option, handles_errors, json_option
from slm.errors import InvalidInput


@click.group("agent", cls=Group)
def agent_app() -> None:
    """Authenticated agents: tokens for MCP servers, permissions, revoke, rename."""


agent_name = click.argument("name", metavar="NAME", help="The agent's name.")
PERMISSIONS = ("edit-others",)  # update and forget memories other agents or the user wrote
permission_argument = click.argument(
    "permission", metavar="PERMISSION", help="edit-others: update and forget memories others wrote."
)


@agent_app.command("add")
@agent_name
@click.option(
    "--member",
    metavar="PERSON",
    help="On a team's store: the person it acts for. Their agents share their private memories; no one else sees them.",
)
@db_option
@json_option
@handles_errors
def agent_add(name: str, member: str | None, db: Path | None, as_json: bool) -> None:
    """Create an agent and print its secret token, once: start its MCP server with SLM_AGENT_TOKEN set to it."""
    answer(
        db,
        as_json,
        lambda mem: mem.add_agent(name, member=member),
        _show_new_agent,
        to_json=lambda made: {"agent": made[0], "token": made[1]},
        create=True,
    )


def _show_new_agent(made: tuple) -> None:
    agent, token = made
    out.plain(token)
    out.note(f"agent {agent.name!r} created: this token is shown once; slm keeps only its hash")
    out.note("use it as SLM_AGENT_TOKEN in this agent's MCP server config (`slm mcp config --client …`)")


@agent_app.command("list")
@db_option
@json_option
@handles_errors
def agent_list(db: Path | None, as_json: bool) -> None:
    """The agents, with when they were created or revoked and how many memories each wrote while authenticated."""
    answer(db, as_json, lambda mem: mem.list_agents(), out.agents_table)


@agent_app.command("revoke")
@agent_name
@db_option
@json_option
@handles_errors
def agent_revoke(name: str, db: Path | None, as_json: bool) -> None:
    """Stop an agent's token working, at once and in every process; its memories stay attributed to it."""
    answer(
        db,
        as_json,
        lambda mem: mem.revoke_agent(name),
        lambda agent: out.plain(f"revoked {agent.name} ({agent.revoked_at})"),
    )


@agent_app.command("rename")
@agent_name
@click.argument("new_name", metavar="NEW_NAME", help="Its new name.")
@db_option
@json_option
@handles_errors
def agent_rename(name: str, new_name: str, db: Path | None, as_json: bool) -> None:
    """Rename an agent and the memories it wrote while authenticated (its token keeps working)."""
    answer(
        db,
        as_json,
        lambda mem: mem.rename_agent(name, new_name),
        lambda agent: out.plain(f"{name} is now {agent.name}"),
    )


@agent_app.command("grant")
@agent_name
@permission_argument
@db_option
@json_option
@handles_errors
def agent_grant(name: str, permission: str, db: Path | None, as_json: bool) -> None:
    """Let an authenticated agent do more than change its own memories (edit-others: everyone's)."""
    _check_permission(permission)
    answer(
        db,
        as_json,
        lambda mem: mem.grant_agent(name, edit_others=True),
        lambda agent: out.plain(f"{agent.name} may now update and forget memories others wrote"),
    )


@agent_app.command("deny")
@agent_name
@permission_argument
@db_option
@json_option
@handles_errors
def agent_deny(name: str, permission: str, db: Path | None, as_json: bool) -> None:
    """Take a permission back: the agent may again change only its own memories."""
    _check_permission(permission)
    answer(
        db,
        as_json,
        lambda mem: mem.grant_agent(name, edit_others=False),
        lambda agent: out.plain(f"{agent.name} may change only its own memories"),
    )


def _check_permission(permission: str) -> None:
    if permission not in PERMISSIONS:
        raise InvalidInput(f"unknown permission {permission!r}", f"one of: {', '.join(PERMISSIONS)}")
