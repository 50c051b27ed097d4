"""cao-ops-mcp-server spoken to by the official MCP SDK's stdio client (the conformance oracle), as an agent
outside cao would: it launches a mock agent, gives it a task, reads the reply, messages it as ``user``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from cao.client import ApiClient
from cao.errors import InvalidInput

TOOLS = ["list_profiles", "get_profile_details", "install_profile", "launch_session", "send_session_message",
         "read_session_output", "get_terminal_status", "get_terminal_output", "list_sessions", "get_session_info",
         "wait_for_session", "shutdown_session", "list_flows", "run_flow"]
OPS = Path(sys.executable).parent / "cao-ops-mcp-server"  # the console script an MCP host runs
PROFILE = """---
name: ops_helper
description: Installed through the ops server
provider: mock
---
You help.
"""


def _data(result: Any) -> Any:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def _error(result: Any) -> str:
    assert result.is_error
    return result.content[0].text


async def _session(workdir: Path, body: Any) -> Any:
    params = StdioServerParameters(command=str(OPS), args=[], env=dict(os.environ), cwd=str(workdir))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return await body(session)


def test_an_outside_agent_launches_tasks_reads_and_shuts_down(api: ApiClient, workdir: Path) -> None:
    (workdir / "ops_helper.md").write_text(PROFILE)

    async def body(s: ClientSession) -> dict[str, Any]:
        call = s.call_tool
        seen: dict[str, Any] = {"tools": [t.name for t in (await s.list_tools()).tools]}
        seen["installed"] = _data(await call("install_profile", {"source": "ops_helper.md"}))
        seen["profiles"] = [p["name"] for p in _data(await call("list_profiles", {}))["profiles"]]
        seen["details"] = _data(await call("get_profile_details", {"name": "ops_helper"}))
        launched = _data(await call("launch_session", {"agent_profile": "developer", "provider": "mock",
                                                       "session_name": "ops1", "initial_message": "add 2 and 3"}))
        seen["launched"] = launched
        await call("wait_for_session", {"session_name": "ops1", "timeout": 30})
        first = await call("read_session_output", {"session_name": "ops1", "mode": "last"})
        seen["first"] = first.content[0].text
        seen["queued"] = _data(await call("send_session_message", {"terminal_id": launched["terminal_id"],
                                                                    "message": "now multiply them"}))
        await call("wait_for_session", {"session_name": "cao-ops1", "timeout": 30})
        seen["second"] = (await call("get_terminal_output", {"terminal_id": launched["terminal_id"]})).content[0].text
        seen["tail"] = (await call("read_session_output", {"terminal_id": launched["terminal_id"], "mode": "last",
                                                           "max_chars": 9})).content[0].text
        seen["status"] = _data(await call("get_terminal_status", {"terminal_id": launched["terminal_id"]}))
        seen["sessions"] = [x["name"] for x in _data(await call("list_sessions", {}))["sessions"]]
        seen["info"] = _data(await call("get_session_info", {"session_name": "ops1"}))
        seen["flows"] = _data(await call("list_flows", {}))
        seen["errors"] = [_error(await call(name, args)) for name, args in [
            ("get_terminal_status", {"terminal_id": "NOTHEX!!"}),
            ("get_session_info", {"session_name": "../terminals"}),
            ("read_session_output", {}),
            ("get_profile_details", {"name": "nobody"}),
            ("launch_session", {"agent_profile": "nobody", "provider": "mock"}),
            ("run_flow", {"name": "nightly"}),
            ("send_session_message", {"terminal_id": "0badcafe", "message": "hello?"}),
            ("install_profile", {"source": "missing.md"}),
            ("list_sessions", {"as": "someone"}),
        ]]
        seen["shutdown"] = _data(await call("shutdown_session", {"session_name": "ops1"}))
        seen["after"] = _data(await call("list_sessions", {}))["sessions"]
        return seen

    seen = asyncio.run(asyncio.wait_for(_session(workdir, body), 120))
    assert seen["tools"] == TOOLS
    assert seen["installed"]["name"] == "ops_helper" and seen["installed"]["source_kind"] == "file"
    assert "ops_helper" in seen["profiles"] and "developer" in seen["profiles"]
    assert seen["details"]["description"] == "Installed through the ops server"
    assert seen["launched"]["session_name"] == "cao-ops1" and seen["launched"]["turn"] == 1
    assert seen["first"] == "Mock reply to: add 2 and 3"
    assert seen["queued"]["sender_id"] == "user"
    assert "now multiply them" in seen["second"] and seen["second"].startswith("Mock reply to: ")
    assert seen["tail"].endswith("ply them") and seen["tail"].startswith("[")
    assert seen["status"]["status"] in ("idle", "completed") and seen["status"]["working_directory"] == str(workdir)
    assert seen["sessions"] == ["cao-ops1"]
    assert [t["id"] for t in seen["info"]["terminals"]] == [seen["launched"]["terminal_id"]]
    assert seen["flows"] == {"flows": []}
    errors = seen["errors"]
    assert errors[0] == "invalid terminal id 'NOTHEX!!': expected 8 lowercase hex characters"
    assert errors[1].startswith("invalid session name '../terminals'")
    assert errors[2] == "give either terminal_id or session_name"
    assert "nobody" in errors[3] and "nobody" in errors[4]
    assert "nightly" in errors[5]
    assert "0badcafe" in errors[6]
    assert "no such file" in errors[7] and str(workdir) in errors[7]
    assert errors[8].startswith("Invalid arguments for list_sessions:")
    assert seen["shutdown"]["deleted"] == ["cao-ops1"]
    assert seen["after"] == []


def test_it_refuses_to_run_inside_a_cao_terminal(api: ApiClient) -> None:
    result = subprocess.run([str(OPS)], input="", capture_output=True, text=True,
                            env={**os.environ, "CAO_TERMINAL_ID": "1a2b3c4d"}, timeout=30)
    assert result.returncode == 2 and "for an agent outside cao" in result.stderr


def test_the_cli_verb_serves_the_same_tools(api: ApiClient, workdir: Path) -> None:
    request = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    cao = Path(sys.executable).parent / "cao"
    result = subprocess.run([str(cao), "ops-mcp-server"], input="".join(json.dumps(m) + "\n" for m in request),
                            capture_output=True, text=True, timeout=30, cwd=workdir)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0]["result"]["serverInfo"]["name"] == "cao-ops"
    assert [tool["name"] for tool in answers[1]["result"]["tools"]] == TOOLS


def test_flows_are_listed_and_run_through_the_ops_server(api: ApiClient, workdir: Path) -> None:
    api.request("POST", "/flows", body={"name": "morning", "schedule": "30 7 * * *", "agent_profile": "developer",
                                        "provider": "mock", "prompt_template": "Good morning"})

    async def body(s: ClientSession) -> tuple[Any, Any]:
        listed = _data(await s.call_tool("list_flows", {}))
        return listed, _data(await s.call_tool("run_flow", {"name": "morning", "wait": True}))

    listed, ran = asyncio.run(asyncio.wait_for(_session(workdir, body), 120))
    assert [f["name"] for f in listed["flows"]] == ["morning"]
    assert ran["executed"] is True and ran["run"]["reply"] == "Mock reply to: Good morning"


def test_without_a_server_the_tools_say_how_to_start_it(workdir: Path) -> None:
    async def body(s: ClientSession) -> tuple[list[str], str]:
        tools = [t.name for t in (await s.list_tools()).tools]  # listing needs no server
        return tools, _error(await s.call_tool("list_sessions", {}))

    tools, error = asyncio.run(asyncio.wait_for(_session(workdir, body), 60))
    assert tools == TOOLS
    assert error.startswith("cao-server is not running at http://127.0.0.1:") and "start it with: cao-server" in error


def test_the_install_route_validates_before_it_writes(api: ApiClient, workdir: Path, settings: Any) -> None:
    good = workdir / "ops_helper.md"
    good.write_text(PROFILE)
    assert api.request("POST", "/agents/profiles", body={"source": str(good)})["replaced"] is False
    stored = settings.home / "agent-store" / "ops_helper.md"
    assert stored.read_text() == PROFILE
    with pytest.raises(InvalidInput, match=r"'ops_helper\.md' is a relative path: give the profile file's absolute"):
        api.request("POST", "/agents/profiles", body={"source": "ops_helper.md"})
    good.write_text("---\nname: ops_helper\nprovider: [not, a, name]\n---\n")  # now broken
    with pytest.raises(InvalidInput, match="provider"):
        api.request("POST", "/agents/profiles", body={"source": str(good)})
    assert stored.read_text() == PROFILE  # nothing stored was lost
