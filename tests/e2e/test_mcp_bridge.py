"""``cao-mcp-server``, the stdio ⇄ HTTP bridge, driven by the official SDK's stdio client (the oracle)
against McpHttpApp under real uvicorn."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from cao.mcp.protocol import SUPPORTED_VERSIONS
from tests.conftest import retry_until
from tests.threaded_mcp_server import ThreadedMcpServer


@pytest.fixture
def server() -> Iterator[ThreadedMcpServer]:
    srv = ThreadedMcpServer()
    yield srv
    srv.stop()


def bridge_env(server: ThreadedMcpServer, token: str = "tok-alice") -> dict[str, str]:
    return {**os.environ, "CAO_API_URL": server.base, "CAO_MCP_TOKEN": token}


def through_bridge(env: dict[str, str], scenario: Any) -> Any:
    params = StdioServerParameters(command=sys.executable, args=["-m", "cao.mcp.server"], env=env)

    async def main() -> Any:
        with anyio.fail_after(30):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await scenario(session)

    return anyio.run(main)


def test_sdk_stdio_client_through_the_bridge(server: ThreadedMcpServer) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def scenario(session: ClientSession) -> Any:
        tools = [tool.name for tool in (await session.list_tools()).tools]
        return (session.initialize_result, tools, await session.call_tool("echo", {"text": "über"}),
                await session.call_tool("weather", {}),
                await session.call_tool("slow", {"steps": 2}, progress_callback=on_progress),
                await session.call_tool("echo", {}))

    init, tools, echo, weather, slow, invalid = through_bridge(bridge_env(server), scenario)
    assert init.protocol_version == SUPPORTED_VERSIONS[0] and init.server_info.name == "cao-test"
    assert tools == ["echo", "slow", "block", "weather"]
    assert echo.content[0].text == "echo: über"
    assert weather.structured_content == {"celsius": 22.5, "sky": "sunny"}
    assert slow.content[0].text == "slow done after 2 steps" and progress == [1, 2]
    assert invalid.is_error and "'text' is required" in invalid.content[0].text
    assert server.rec.listed == ["alice"]
    retry_until(lambda: server.app.session_count == 0, message="the bridge ended its session on exit")


def test_bridge_answers_ping_during_a_call_and_relays_cancellation(server: ThreadedMcpServer) -> None:
    async def scenario(session: ClientSession) -> bool:
        async with anyio.create_task_group() as group:
            async def call() -> None:
                await session.call_tool("block", {})

            group.start_soon(call)
            await anyio.to_thread.run_sync(server.rec.started.wait, 10)
            await session.send_ping()
            group.cancel_scope.cancel()
        return await anyio.to_thread.run_sync(server.rec.cancelled.wait, 10)

    assert through_bridge(bridge_env(server), scenario)


def test_bridge_opens_a_new_session_when_the_server_lost_it(server: ThreadedMcpServer) -> None:
    async def scenario(session: ClientSession) -> Any:
        first = await session.call_tool("echo", {"text": "before"})
        ended = await anyio.to_thread.run_sync(server.run, server.app.end_sessions("alice"))  # as after a restart
        second = await session.call_tool("echo", {"text": "after"})
        return first, ended, second, server.app.session_count

    first, ended, second, sessions = through_bridge(bridge_env(server), scenario)
    assert first.content[0].text == "echo: before" and ended == 1
    assert second.content[0].text == "echo: after" and sessions == 1


def test_bridge_with_a_wrong_token_answers_with_a_readable_error(server: ThreadedMcpServer) -> None:
    line = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}\n'
    done = subprocess.run([sys.executable, "-m", "cao.mcp.server"], input=line, capture_output=True, timeout=30,
                          env=bridge_env(server, token="tok-nobody"))
    assert done.returncode == 0
    assert b'"id":1' in done.stdout and b"CAO_MCP_TOKEN is not valid" in done.stdout


@pytest.mark.parametrize("env, words", [
    ({"CAO_MCP_TOKEN": ""}, "CAO_MCP_TOKEN is not set"),
    ({"CAO_MCP_TOKEN": "a b"}, "CAO_MCP_TOKEN holds characters"),
    ({"CAO_MCP_TOKEN": "t", "CAO_API_URL": "ftp://x"}, "CAO_API_URL='ftp://x' is not an http(s) URL"),
], ids=["missing-token", "bad-token", "bad-url"])
def test_bridge_refuses_to_start_with_a_clear_message(env: dict[str, str], words: str) -> None:
    done = subprocess.run([sys.executable, "-m", "cao.mcp.server"], input=b"", capture_output=True, timeout=30,
                          env={**os.environ, **env})
    assert done.returncode == 2
    assert words in done.stderr.decode()
