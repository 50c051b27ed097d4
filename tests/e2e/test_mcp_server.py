"""cao-mcp-server spoken to by the official MCP SDK client over real stdio (the conformance oracle)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from cao.client import ApiClient
from tests.conftest import retry_until
from tests.helpers import last_reply, launch


async def _session_run(env: dict[str, str], calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "cao.mcp.server"],
                                   env={**os.environ, **env})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        results = [await session.call_tool(name, args) for name, args in calls]
    return tools, results


def run(env: dict[str, str], calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    return asyncio.run(asyncio.wait_for(_session_run(env, calls), 60))


def test_sdk_client_lists_tools_and_marks_terminal_ready(api: ApiClient, workdir: Path) -> None:
    boss = launch(api, workdir)
    worker = api.request("POST", "/sessions/t1/terminals", timeout=60,
                         params={"agent_profile": "developer", "provider": "mock", "caller_id": boss["id"]})
    tools, results = run({"CAO_TERMINAL_ID": worker["id"]}, [
        ("send_message", {"message": "result: 42"}),
        ("send_message", {"message": "to myself", "receiver_id": worker["id"]}),
        ("send_message", {"message": "to nobody", "receiver_id": "0badcafe"}),
        ("delete_terminal", {"terminal_id": boss["id"]}),
    ])
    assert tools == ["handoff", "assign", "send_message", "delete_terminal"]
    sent, to_self, to_unknown, delete_boss = results
    assert not sent.is_error and "queued for terminal " + boss["id"] in sent.content[0].text
    assert to_self.is_error and "cannot send a message to itself" in to_self.content[0].text
    assert to_unknown.is_error and "not found" in to_unknown.content[0].text
    assert delete_boss.is_error and "not created by terminal" in delete_boss.content[0].text
    messages = retry_until(lambda: api.get(f"/terminals/{boss['id']}/inbox/messages", status="delivered"),
                           message="callback delivered to the idle boss")
    assert [m["message"] for m in messages] == ["result: 42"]
    retry_until(lambda: "result: 42" in last_reply(api, boss["id"]), message="the boss answered the callback")


def test_tools_fail_readably_outside_a_cao_terminal(api: ApiClient) -> None:
    _tools, (result,) = run({"CAO_TERMINAL_ID": ""}, [("send_message", {"message": "hi"})])
    assert result.is_error
    assert "not running inside a cao terminal" in result.content[0].text
