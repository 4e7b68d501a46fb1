"""`slm mcp` over stdio, where every line a client sends gets an answer (docs/ARCHITECTURE.md, "The MCP server"):
the SDK's reader drops a line it cannot read without a word, and the client waits for ever."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import TextIOWrapper
from typing import BinaryIO, Protocol

import anyio
from fastmcp import FastMCP
from fastmcp.server.context import reset_transport, set_transport
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError, jsonrpc_message_adapter
from pydantic import ValidationError

MAX_DEPTH = 64  # nested objects and lists in one message; MCP's own messages need fewer than 10
TOO_DEEP = f"message nested deeper than {MAX_DEPTH} levels of objects and lists: slm reads at most {MAX_DEPTH}"
NOT_JSON_RPC = 'not a JSON-RPC 2.0 request: it needs "jsonrpc": "2.0", a "method" and an "id"'

log = logging.getLogger("slm.mcp")


async def serve_stdio(server: FastMCP) -> None:
    """Serve `server` over stdin and stdout as fastmcp's `run_stdio_async` does, with every line checked first."""
    token = set_transport("stdio")
    try:
        async with server._lifespan_manager():
            with claimed_stdin() as wire:
                lines = CheckedLines(anyio.wrap_file(TextIOWrapper(wire, encoding="utf-8", errors="replace")))
                async with stdio_server(stdin=lines) as (read_stream, write_stream):
                    lines.answers = write_stream  # before the reader's first line: it has not run yet
                    low_level = server._mcp_server
                    await low_level.run(read_stream, write_stream, low_level.create_initialization_options())
    finally:
        reset_transport(token)


@contextmanager
def claimed_stdin() -> Iterator[BinaryIO]:
    """The client's lines through a private duplicate of fd 0, which reads /dev/null meanwhile, as the SDK does with
    the stdin it opens itself: nothing else in the process, nor a child, can take them."""
    wire = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        yield os.fdopen(wire, "rb", closefd=False)  # never closed: a worker thread may still be blocked reading it
    finally:
        os.dup2(wire, 0)


class Answers(Protocol):
    async def send(self, item: SessionMessage, /) -> None: ...


@dataclass(frozen=True)
class Refusal:
    error: JSONRPCError
    answered: bool  # False for a notification or a response: JSON-RPC answers neither


class CheckedLines:
    """The client's lines for the SDK's reader, less those it could not read, which are answered here instead."""

    def __init__(self, lines: AsyncIterable[str]) -> None:
        self.lines = lines
        self.answers: Answers | None = None  # the SDK's stream to stdout, set once it exists

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self.lines:
            if not line.strip():
                continue  # not a message: nothing to answer
            refusal = refused(line)
            if refusal is None:
                yield line
                continue
            log.warning("could not read a message: %s", refusal.error.error.message)
            if refusal.answered and self.answers is not None:
                await self.answers.send(SessionMessage(refusal.error))


def refused(line: str) -> Refusal | None:
    """Why the SDK cannot read `line`, as the error that answers it; None if it can."""
    try:
        message = json.loads(line)
    except RecursionError:
        return Refusal(_error(None, INVALID_REQUEST, TOO_DEEP), answered=True)
    except ValueError as err:
        return Refusal(_error(None, PARSE_ERROR, f"not valid JSON: {getattr(err, 'msg', err)}"), answered=True)
    if _deeper_than(message, MAX_DEPTH):
        return Refusal(_error(_id_of(message), INVALID_REQUEST, TOO_DEEP), _expects_answer(message))
    try:
        jsonrpc_message_adapter.validate_json(line, by_name=False)  # exactly what the SDK's reader does
    except ValidationError:
        return Refusal(_error(_id_of(message), INVALID_REQUEST, NOT_JSON_RPC), _expects_answer(message))
    return None


def _error(request_id: int | str | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def _id_of(message: object) -> int | str | None:
    """The request's id if it has a valid one (a string or a whole number), else None (JSON's null)."""
    found = message.get("id") if isinstance(message, dict) else None
    return found if isinstance(found, str) or (isinstance(found, int) and not isinstance(found, bool)) else None


def _expects_answer(message: object) -> bool:
    """Anything but a notification (a method, no id) or a response (a result or an error, no method)."""
    if not isinstance(message, dict):
        return True
    if "method" in message:
        return "id" in message
    return "result" not in message and "error" not in message


def _deeper_than(value: object, limit: int) -> bool:
    """Whether objects and lists nest more than `limit` levels in `value` (without recursion, at any depth)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level > limit:
                return True
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False
