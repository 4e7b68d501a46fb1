"""The `slm agent` group: authenticated agents, their tokens and permissions (add, list, revoke, rename, grant)."""

from __future__ import annotations

from typing import Annotated

import typer

from slm.cli import output as out
from slm.cli.shared import Db, Json, answer, handles_errors
from slm.errors import InvalidInput

agent_app = typer.Typer(help="Authenticated agents: tokens for MCP servers, permissions, revoke, rename.")
AgentName = Annotated[str, typer.Argument(metavar="NAME", help="The agent's name.")]
PERMISSIONS = ("edit-others",)  # update and forget memories other agents or the user wrote
Permission = Annotated[
    str, typer.Argument(metavar="PERMISSION", help="edit-others: update and forget memories others wrote.")
]


@agent_app.command("add")
@handles_errors
def agent_add(name: AgentName, db: Db = None, as_json: Json = False) -> None:
    """Create an agent and print its secret token, once: start its MCP server with SLM_AGENT_TOKEN set to it."""
    answer(
        db,
        as_json,
        lambda mem: mem.add_agent(name),
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
@handles_errors
def agent_list(db: Db = None, as_json: Json = False) -> None:
    """The agents, with when they were created or revoked and how many memories each wrote while authenticated."""
    answer(db, as_json, lambda mem: mem.list_agents(), out.agents_table)


@agent_app.command("revoke")
@handles_errors
def agent_revoke(name: AgentName, db: Db = None, as_json: Json = False) -> None:
    """Stop an agent's token working, at once and in every process; its memories stay attributed to it."""
    answer(
        db,
        as_json,
        lambda mem: mem.revoke_agent(name),
        lambda agent: out.plain(f"revoked {agent.name} ({agent.revoked_at})"),
    )


@agent_app.command("rename")
@handles_errors
def agent_rename(
    name: AgentName,
    new_name: Annotated[str, typer.Argument(metavar="NEW_NAME", help="Its new name.")],
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Rename an agent and the memories it wrote while authenticated (its token keeps working)."""
    answer(
        db,
        as_json,
        lambda mem: mem.rename_agent(name, new_name),
        lambda agent: out.plain(f"{name} is now {agent.name}"),
    )


@agent_app.command("grant")
@handles_errors
def agent_grant(name: AgentName, permission: Permission, db: Db = None, as_json: Json = False) -> None:
    """Let an authenticated agent do more than change its own memories (edit-others: everyone's)."""
    _check_permission(permission)
    answer(
        db,
        as_json,
        lambda mem: mem.grant_agent(name, edit_others=True),
        lambda agent: out.plain(f"{agent.name} may now update and forget memories others wrote"),
    )


@agent_app.command("deny")
@handles_errors
def agent_deny(name: AgentName, permission: Permission, db: Db = None, as_json: Json = False) -> None:
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
