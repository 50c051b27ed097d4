"""cao's MCP over streamable HTTP under real uvicorn: the official SDK client as the conformance oracle,
raw HTTP for what a conformant client never sends, and the stdio bridge driven by the SDK's stdio client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from cao.mcp.protocol import SUPPORTED_VERSIONS
from tests.conftest import retry_until
from tests.threaded_mcp_server import WEATHER, ThreadedMcpServer

ALICE = {"Authorization": "Bearer tok-alice"}
BOB = {"Authorization": "Bearer tok-bob"}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}


@pytest.fixture
def server() -> Iterator[ThreadedMcpServer]:
    srv = ThreadedMcpServer(keepalive_interval=0.05, max_sessions_per_principal=3)
    yield srv
    srv.stop()


def sdk(server: ThreadedMcpServer, scenario: Any, headers: dict[str, str] = ALICE) -> Any:
    """Run ``scenario(session)`` in an initialized SDK session over streamable HTTP."""

    async def main() -> Any:
        async with (create_mcp_http_client(headers=headers) as http,
                    streamable_http_client(server.url, http_client=http) as (read, write),
                    ClientSession(read, write) as session):
            await session.initialize()
            return await scenario(session)

    async def bounded() -> Any:
        with anyio.fail_after(30):
            return await main()

    return anyio.run(bounded)


def post(server: ThreadedMcpServer, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None,
         session_id: str | None = None) -> httpx.Response:
    all_headers = {**ALICE, **ACCEPT, **(headers or {})}
    if session_id:
        all_headers["Mcp-Session-Id"] = session_id
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(server.url, content=content, headers=all_headers, timeout=10)


def open_session(server: ThreadedMcpServer, headers: dict[str, str] | None = None) -> str:
    response = post(server, INIT, headers)
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    assert post(server, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers,
                session_id=session_id).status_code == 202
    return session_id


def sse_events(response: httpx.Response) -> Iterator[str]:
    """Yield each SSE event's data, and ``:comment`` for a comment line."""
    data: list[str] = []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield line
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield "".join(data)
            data = []


# -- the SDK client over streamable HTTP -----------------------------------------------------

def test_sdk_client_lists_and_calls_tools(server: ThreadedMcpServer) -> None:
    async def scenario(session: ClientSession) -> Any:
        tools = (await session.list_tools()).tools
        return (session.initialize_result, tools, await session.call_tool("echo", {"text": "hi"}),
                await session.call_tool("weather", {}), await session.call_tool("echo", {"text": 5}),
                await session.call_tool("echo", {"text": "refuse"}), await session.send_ping())

    init, tools, echo, weather, invalid, refused, _ping = sdk(server, scenario)
    assert init.protocol_version == SUPPORTED_VERSIONS[0] and init.server_info.name == "cao-test"
    assert init.instructions == "test tools"
    assert [tool.name for tool in tools] == ["echo", "slow", "block", "weather"]
    assert tools[3].output_schema == WEATHER and tools[0].output_schema is None
    assert not echo.is_error and echo.content[0].text == "echo: hi"
    # The SDK validates structuredContent against the listed outputSchema itself.
    assert weather.structured_content == {"celsius": 22.5, "sky": "sunny"}
    assert json.loads(weather.content[-1].text) == weather.structured_content
    assert invalid.is_error
    assert invalid.content[0].text == "Invalid arguments for echo: 'text' must be string (got integer)"
    assert refused.is_error and refused.content[0].text == "refused on purpose"
    assert server.rec.listed == ["alice"]


def test_sdk_client_unknown_tool_is_a_protocol_error(server: ThreadedMcpServer) -> None:
    async def scenario(session: ClientSession) -> Any:
        with pytest.raises(MCPError) as caught:
            await session.call_tool("ghost", {})
        return caught.value

    error = sdk(server, scenario)
    assert "Unknown tool: ghost" in str(error)


def test_sdk_client_receives_progress_before_the_result(server: ThreadedMcpServer) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async def scenario(session: ClientSession) -> Any:
        return await session.call_tool("slow", {"steps": 3}, progress_callback=on_progress)

    result = sdk(server, scenario)
    assert result.content[0].text == "slow done after 3 steps"
    assert seen == [(1, 3, "step 1 of 3"), (2, 3, "step 2 of 3"), (3, 3, "step 3 of 3")]


def test_sdk_client_cancel_stops_the_handler_and_ping_works_during_a_call(server: ThreadedMcpServer) -> None:
    async def scenario(session: ClientSession) -> bool:
        async with anyio.create_task_group() as group:
            async def call() -> None:
                await session.call_tool("block", {})

            group.start_soon(call)
            await anyio.to_thread.run_sync(server.rec.started.wait, 10)
            await session.send_ping()  # answered while the call runs
            group.cancel_scope.cancel()  # the SDK sends notifications/cancelled
        return await anyio.to_thread.run_sync(server.rec.cancelled.wait, 10)

    assert sdk(server, scenario)
    assert not server.rec.finished.is_set()
    retry_until(lambda: server.busy_sessions() == 0, message="no call left in flight")


# -- raw HTTP: what a conformant client never sends --------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "tok-alice"}],
                         ids=["no-token", "wrong-token", "not-bearer"])
def test_without_a_valid_token_401(server: ThreadedMcpServer, headers: dict[str, str]) -> None:
    response = httpx.post(server.url, json=INIT, headers={**ACCEPT, **headers}, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_content_type_and_accept_are_checked(server: ThreadedMcpServer) -> None:
    assert post(server, INIT, {"Content-Type": "text/plain"}).status_code == 415
    assert post(server, INIT, {"Accept": "application/json"}).status_code == 406
    assert post(server, INIT, {"Accept": "text/event-stream"}).status_code == 406
    assert post(server, INIT, {"Accept": "*/*", "Content-Type": "application/json; charset=utf-8"}).status_code == 200


@pytest.mark.parametrize("raw, code", [
    (json.dumps([INIT]).encode(), -32600),
    (json.dumps({k: v for k, v in INIT.items() if k != "jsonrpc"}).encode(), -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "initialize"', -32700),
], ids=["batch", "no-jsonrpc", "unparsable"])
def test_malformed_messages_are_400_with_a_jsonrpc_error(server: ThreadedMcpServer, raw: bytes, code: int) -> None:
    response = post(server, None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert "mcp-session-id" not in response.headers


def test_session_is_required_known_and_bound_to_its_principal(server: ThreadedMcpServer) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}}
    assert post(server, call).status_code == 400  # a tool call before initialize has no session
    alice = open_session(server)
    assert post(server, call, BOB, session_id=alice).status_code == 404  # bob cannot use alice's session
    assert post(server, {"jsonrpc": "2.0", "id": 9, "method": "ping"}, session_id=alice).status_code == 200
    bad_version = post(server, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, {"MCP-Protocol-Version": "1999-01-01"},
                       session_id=alice)
    assert bad_version.status_code == 400 and "1999-01-01" in bad_version.json()["error"]["message"]
    ping = post(server, {"jsonrpc": "2.0", "id": 3, "method": "ping"}, {"MCP-Protocol-Version": "2025-06-18"},
                session_id=alice)
    assert ping.status_code == 200 and ping.headers["content-type"] == "application/json"
    assert ping.json() == {"jsonrpc": "2.0", "id": 3, "result": {}}


def test_a_session_issued_before_a_restart_is_taken_up(server: ThreadedMcpServer) -> None:
    """A re-adopted agent's CLI keeps its Mcp-Session-Id when cao-server restarts; it must go on working."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}}
    response = post(server, call, {"MCP-Protocol-Version": "2025-06-18"}, session_id="issued-by-the-last-server")
    assert response.status_code == 200 and '"isError":false' in response.text.replace(" ", "")
    httpx.delete(server.url, headers={**ALICE, "Mcp-Session-Id": "issued-by-the-last-server"})
    assert post(server, call, session_id="issued-by-the-last-server").status_code == 404  # ended stays ended


def test_a_failed_initialize_opens_no_session(server: ThreadedMcpServer) -> None:
    response = post(server, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}})
    assert response.status_code == 200 and response.json()["error"]["code"] == -32602
    assert "mcp-session-id" not in response.headers
    assert server.app.session_count == 0


def test_get_is_405_and_delete_ends_the_session(server: ThreadedMcpServer) -> None:
    session_id = open_session(server)
    got = httpx.get(server.url, headers={**ALICE, "Accept": "text/event-stream", "Mcp-Session-Id": session_id})
    assert got.status_code == 405 and "POST" in got.headers["allow"]
    gone = httpx.delete(server.url, headers={**ALICE, "Mcp-Session-Id": session_id})
    assert gone.status_code == 200
    assert post(server, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, session_id=session_id).status_code == 404
    assert httpx.delete(server.url, headers={**ALICE, "Mcp-Session-Id": session_id}).status_code == 404
    assert httpx.delete(server.url, headers=ALICE).status_code == 400


def call_in_thread(server: ThreadedMcpServer, session_id: str, msg_id: Any, name: str,
                   meta: dict | None = None) -> tuple[threading.Thread, list[str], dict[str, str]]:
    """POST a tools/call and collect its SSE events in a thread."""
    events: list[str] = []
    headers: dict[str, str] = {}
    params: dict[str, Any] = {"name": name, "arguments": {}}
    if meta:
        params["_meta"] = meta
    body = {"jsonrpc": "2.0", "id": msg_id, "method": "tools/call", "params": params}

    def run() -> None:
        with httpx.stream("POST", server.url, json=body, timeout=30,
                          headers={**ALICE, **ACCEPT, "Mcp-Session-Id": session_id}) as response:
            headers.update(response.headers)
            events.extend(sse_events(response))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, events, headers


def test_tools_call_streams_progress_keepalives_then_the_result(server: ThreadedMcpServer) -> None:
    session_id = open_session(server)
    with httpx.stream("POST", server.url, timeout=10, headers={**ALICE, **ACCEPT, "Mcp-Session-Id": session_id},
                      json={"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                            "params": {"name": "slow", "arguments": {"steps": 2}, "_meta": {"progressToken": 8}}}
                      ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        messages = [json.loads(e) for e in sse_events(response) if not e.startswith(":")]
    assert [m.get("method") for m in messages] == ["notifications/progress"] * 2 + [None]
    assert messages[0]["params"] == {"progressToken": 8, "progress": 1, "total": 2, "message": "step 1 of 2"}
    assert messages[-1]["id"] == 5 and messages[-1]["result"]["content"][0]["text"] == "slow done after 2 steps"

    thread, events, _ = call_in_thread(server, session_id, 6, "block")
    retry_until(lambda: ": keep-alive" in events, message="a keep-alive comment while the call runs")
    server.rec.release.set()
    thread.join(10)
    assert json.loads(events[-1])["result"]["content"][0]["text"] == "released"


def test_cancelled_notification_ends_the_call_without_a_response(server: ThreadedMcpServer) -> None:
    session_id = open_session(server)
    thread, events, _ = call_in_thread(server, session_id, "call-1", "block")
    retry_until(server.rec.started.is_set, message="the call started")
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "call-1", "reason": "x"}}
    assert post(server, cancel, session_id=session_id).status_code == 202
    thread.join(10)
    assert not thread.is_alive() and server.rec.cancelled.is_set()
    assert [e for e in events if not e.startswith(":")] == []  # no response for a cancelled request


def test_delete_cancels_the_sessions_calls(server: ThreadedMcpServer) -> None:
    session_id = open_session(server)
    thread, _events, _ = call_in_thread(server, session_id, 1, "block")
    retry_until(server.rec.started.is_set, message="the call started")
    assert httpx.delete(server.url, headers={**ALICE, "Mcp-Session-Id": session_id}).status_code == 200
    thread.join(10)
    assert server.rec.cancelled.is_set()


def test_a_disconnect_is_not_a_cancellation_and_leaves_no_task(server: ThreadedMcpServer) -> None:
    session_id = open_session(server)
    with httpx.stream("POST", server.url, timeout=10, headers={**ALICE, **ACCEPT, "Mcp-Session-Id": session_id},
                      json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "block"}}):
        retry_until(server.rec.started.is_set, message="the call started")
    assert server.busy_sessions() == 1  # the client left; the call runs on
    server.rec.release.set()
    retry_until(server.rec.finished.is_set, message="the handler finished")
    retry_until(lambda: server.busy_sessions() == 0, message="nothing left in flight")
    assert not server.rec.cancelled.is_set()


def test_sessions_per_principal_are_bounded_oldest_dropped(server: ThreadedMcpServer) -> None:
    ids = [open_session(server) for _ in range(4)]  # the fixture allows 3 per principal
    bob = open_session(server, BOB)
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert post(server, ping, session_id=ids[0]).status_code == 404
    assert all(post(server, ping, session_id=sid).status_code == 200 for sid in ids[1:])
    assert post(server, ping, BOB, session_id=bob).status_code == 200
    assert server.app.session_count == 4
    assert server.run(server.app.end_sessions("alice")) == 3
    assert server.app.session_count == 1
