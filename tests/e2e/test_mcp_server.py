"""cao's agent tools on a real cao-server, spoken to by the official MCP SDK client (the conformance oracle):
over streamable HTTP with the terminal's token, and through the stdio bridge cao-mcp-server carrying it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from cao.client import ApiClient
from tests.conftest import retry_until
from tests.helpers import last_reply, launch
from tests.mcp_helpers import run_as


def _calls(boss: dict, worker: dict) -> list[tuple[str, dict]]:
    return [("send_message", {"message": "result: 42"}),
            ("send_message", {"message": "to myself", "receiver_id": worker["id"]}),
            ("send_message", {"message": "to nobody", "receiver_id": "0badcafe"}),
            ("delete_terminal", {"terminal_id": boss["id"]})]


async def _through(session: ClientSession, calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    tools = [tool.name for tool in (await session.list_tools()).tools]
    return tools, [await session.call_tool(name, args) for name, args in calls]


def _check(api: ApiClient, boss: dict, tools: list[str], results: list) -> None:
    assert tools[:4] == ["handoff", "assign", "send_message", "delete_terminal"]  # then other capabilities' tools
    assert {"memory_store", "memory_recall", "memory_forget"} <= set(tools)
    assert "load_skill" in tools
    sent, to_self, to_unknown, delete_boss = results
    assert not sent.is_error and "queued for terminal " + boss["id"] in sent.content[0].text
    assert to_self.is_error and "cannot send a message to itself" in to_self.content[0].text
    assert to_unknown.is_error and "not found" in to_unknown.content[0].text
    assert delete_boss.is_error and "not created by terminal" in delete_boss.content[0].text
    messages = retry_until(lambda: api.get(f"/terminals/{boss['id']}/inbox/messages", status="delivered"),
                           message="callback delivered to the idle boss")
    assert [m["message"] for m in messages] == ["result: 42"]
    retry_until(lambda: "result: 42" in last_reply(api, boss["id"]), message="the boss answered the callback")


def _team(api: ApiClient, workdir: Path) -> tuple[dict, dict]:
    boss = launch(api, workdir)
    worker = api.request("POST", "/sessions/t1/terminals", timeout=60,
                         params={"agent_profile": "developer", "provider": "mock", "caller_id": boss["id"]})
    return boss, worker


def test_sdk_client_over_http_as_a_terminal(api: ApiClient, workdir: Path) -> None:
    boss, worker = _team(api, workdir)
    tools, results = run_as(api, worker["id"], lambda session: _through(session, _calls(boss, worker)))
    _check(api, boss, tools, results)


def test_sdk_client_through_the_stdio_bridge(api: ApiClient, workdir: Path) -> None:
    boss, worker = _team(api, workdir)
    connection = api.get(f"/terminals/{worker['id']}/mcp-config")
    env = {**os.environ, "CAO_API_URL": connection["url"].removesuffix("/mcp"),
           "CAO_MCP_TOKEN": connection["headers"]["Authorization"].split()[1]}
    env.pop("CAO_TERMINAL_ID", None)
    params = StdioServerParameters(command=sys.executable, args=["-m", "cao.mcp.server"], env=env)

    async def main() -> tuple[list[str], list]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await _through(session, _calls(boss, worker))

    tools, results = asyncio.run(asyncio.wait_for(main(), 60))
    _check(api, boss, tools, results)


def test_the_bridge_without_a_token_says_what_is_missing(api: ApiClient) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CAO_MCP_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "cao.mcp.server"], input="", capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 2 and "CAO_MCP_TOKEN" in result.stderr
