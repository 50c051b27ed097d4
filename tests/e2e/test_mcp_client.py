"""cao's lean HTTP MCP client (the mock agent's) against McpHttpApp under real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cao.mcp.client import HttpClient, McpClientError
from cao.mock_agent.mcp_call import McpPool
from cao.mock_agent.script import Step
from tests.conftest import retry_until
from tests.threaded_mcp_server import ThreadedMcpServer

ALICE = {"Authorization": "Bearer tok-alice"}


@pytest.fixture
def server() -> Iterator[ThreadedMcpServer]:
    srv = ThreadedMcpServer()
    yield srv
    srv.stop()


def test_http_client_calls_tools_and_ends_its_session(server: ThreadedMcpServer) -> None:
    client = HttpClient(server.url, ALICE)
    assert [tool["name"] for tool in client.initialize("test")] == ["echo", "slow", "block", "weather"]
    assert client.call_tool("echo", {"text": "hi"}) == ("echo: hi", False)
    assert client.call_tool("echo", {"text": "refuse"}) == ("refused on purpose", True)
    assert client.call_tool("slow", {"steps": 2}, timeout=30) == ("slow done after 2 steps", False)
    assert client.request("ping") == {}
    with pytest.raises(McpClientError, match="Unknown tool: ghost"):
        client.call_tool("ghost", {})
    assert server.app.session_count == 1
    client.close()
    assert server.app.session_count == 0


def test_http_client_timeout_cancels_the_call(server: ThreadedMcpServer) -> None:
    client = HttpClient(server.url, ALICE)
    client.initialize()
    with pytest.raises(TimeoutError):
        client.call_tool("block", {}, timeout=0.2)
    assert server.rec.cancelled.wait(10)
    client.close()


def test_http_client_with_a_wrong_token_fails_readably(server: ThreadedMcpServer) -> None:
    with pytest.raises(McpClientError, match="HTTP 401"):
        HttpClient(server.url, {"Authorization": "Bearer nope"}).initialize()


def test_mock_agent_pool_uses_http_for_an_http_entry(server: ThreadedMcpServer) -> None:
    failures: list[tuple[str, str]] = []
    pool = McpPool({"cao": {"type": "http", "url": server.url, "headers": ALICE}})
    pool.start(lambda name, reason: failures.append((name, reason)))
    assert pool.call(Step("tool", "echo", {"text": "from the mock agent"}), {"text": "from the mock agent"}) == (
        "echo: from the mock agent", False)
    assert server.rec.listed == ["alice"] and failures == []
    pool.close()
    retry_until(lambda: server.app.session_count == 0, message="the pool ended its session")
