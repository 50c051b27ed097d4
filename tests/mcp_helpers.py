"""Acting as a terminal through cao's MCP endpoint, with the official SDK client (the conformance oracle)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from cao.client import ApiClient

T = TypeVar("T")


@contextlib.asynccontextmanager
async def as_terminal(api: ApiClient, terminal_id: str) -> AsyncIterator[ClientSession]:
    """An initialized MCP session as ``terminal_id``, from the owner's ``GET /terminals/{id}/mcp-config``."""
    connection = api.get(f"/terminals/{terminal_id}/mcp-config")
    async with create_mcp_http_client(headers=connection["headers"]) as http, \
            streamable_http_client(connection["url"], http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


def run_as(api: ApiClient, terminal_id: str, body: Callable[[ClientSession], Awaitable[T]],
           timeout: float = 120) -> T:
    async def main() -> T:
        async with as_terminal(api, terminal_id) as session:
            return await body(session)

    return asyncio.run(asyncio.wait_for(main(), timeout))


def call_tool(api: ApiClient, terminal_id: str, name: str, arguments: dict[str, Any],
              timeout: float = 120) -> tuple[str, bool]:
    """Call one of cao's tools as ``terminal_id``; return (text, is_error)."""
    async def body(session: ClientSession) -> tuple[str, bool]:
        result = await session.call_tool(name, arguments)
        return "\n".join(getattr(block, "text", "") for block in result.content), bool(result.is_error)

    return run_as(api, terminal_id, body, timeout)
