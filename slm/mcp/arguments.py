"""What the MCP tools accept, and how a wrong argument is answered.

The argument types carry the descriptions and bounds every client reads in the tool listing, so they are written
to be short; a wrong argument is answered in words a model can act on, not in pydantic's report.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware import Middleware, MiddlewareContext
from pydantic import Field, Strict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from slm import validation
from slm.mcp import budget
from slm.mcp.replies import brief

# Ids are strict: `true` or "7" is a mistake, not memory 1 or 7 (forget deletes for good).
MemoryId = Annotated[int, Strict(), Field(ge=1, le=validation.MAX_ID)]
ID_SCHEMA = TypeAdapter(MemoryId).json_schema()
Ids = Annotated[list[MemoryId], Field(min_length=1, max_length=100, description="Memory ids.")]
MaxTokens = Annotated[
    int, Field(ge=budget.MIN_MAX_TOKENS, le=budget.MAX_MAX_TOKENS, description="Reply budget in tokens.")
]


def _without_null(schema: dict) -> None:
    """An optional argument's schema as its type alone: null is accepted like an omitted argument, but saying so in
    every schema costs each client's context ~30 characters an argument."""
    kinds = [kind for kind in schema.pop("anyOf") if kind.get("type") != "null"]
    schema.update(kinds[0])


def optional(description: str) -> Any:
    return Field(description=description, json_schema_extra=_without_null)


Project = Annotated[str | None, optional("Project name.")]


class PlainArgumentErrors(Middleware):
    """Wrong arguments answered in a few words that name each argument and what it accepts.

    Pydantic's own report (error types, input types, a docs URL) costs the model tokens and tells it little.
    """

    async def on_call_tool(self, context: MiddlewareContext, call_next):
        try:
            return await call_next(context)
        except ValidationError as err:
            if not isinstance(err.__cause__, PydanticValidationError):
                raise
            tool = await context.fastmcp_context.fastmcp.get_tool(context.message.name)
            raise ValidationError(argument_errors(err.__cause__, tool.parameters), log_level=logging.INFO) from err


def argument_errors(err: PydanticValidationError, schema: dict) -> str:
    """One clause for all unknown arguments, then one per wrong argument, e.g. `id: must be a whole number from 1 to
    9223372036854775807 (got "abc")`; the first three only, so that the message stays short."""
    clauses: dict[str, str] = {}
    unknown: list[str] = []
    for error in err.errors(include_url=False, include_context=False):
        loc = error["loc"] or ("arguments",)
        name = str(loc[0])
        where = name + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in loc[1:])
        if error["type"] == "unexpected_keyword_argument":
            unknown.append(input_shown(name))
        elif error["type"] == "missing_argument":
            clauses.setdefault(name, f"{where}: required, {accepted(_schema_at(schema, loc))}")
        else:
            got = input_shown(error["input"])
            clauses.setdefault(name, f"{where}: must be {accepted(_schema_at(schema, loc))} (got {got})")
    if unknown:
        known = ", ".join(schema.get("properties", {}))
        clauses = {"": f"unknown argument {', '.join(unknown[:3])} (known: {known})", **clauses}
    shown = list(clauses.values())
    return brief("; ".join(shown[:3]) + (f"; and {len(shown) - 3} more" if len(shown) > 3 else ""))


def _schema_at(schema: dict, loc: tuple) -> dict:
    """The JSON schema of the value at `loc` (argument name, then list indexes and keys)."""
    schema = schema.get("properties", {}).get(loc[0], {})
    for step in loc[1:]:
        schema = schema.get("items", {}) if isinstance(step, int) else schema.get("additionalProperties", {})
    return schema if isinstance(schema, dict) else {}


def accepted(schema: dict) -> str:
    """What a JSON schema accepts, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        bounds = [f"{word} {schema[key]}" for word, key in (("from", "minimum"), ("to", "maximum")) if key in schema]
        return " ".join(["a whole number", *bounds])
    if kind == "array":
        size = f"{schema.get('minItems', 0)} to {schema['maxItems']} " if "maxItems" in schema else ""
        return f"a list of {size}items, each {accepted(schema.get('items', {}))}"
    words = {"string": "a string", "boolean": "true or false", "object": "a JSON object"}
    return words.get(kind, "any JSON value")


def input_shown(value: Any) -> str:
    """A wrong value as an error message quotes it: short, and escaped so that it reads as data."""
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else f"a list of {len(value)}"
    text = json.dumps(value)  # quoted, with control and invisible characters escaped
    return text if len(text) <= 40 else text[:39] + "…"
