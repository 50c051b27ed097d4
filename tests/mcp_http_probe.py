"""A streamable-HTTP MCP server for tests: the MCP SDK's server app behind an ASGI wrapper that records
every request (method, path, ``Authorization`` header, JSON-RPC methods), run by uvicorn in a thread.

It offers one tool, ``echo_tool(text)``, and stands in for an HTTP MCP endpoint when a test checks how
a real CLI connects to one (``tests/e2e_real/test_mcp_over_http.py``), independently of cao-server.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer

from tests.conftest import free_port, retry_until

ECHO_PREFIX = "probe echo: "


@dataclass(frozen=True)
class ProbeRequest:
    http_method: str
    path: str
    authorization: str | None
    rpc_methods: tuple[str, ...]
    body: Any


class McpHttpProbe:
    def __init__(self) -> None:
        self.requests: list[ProbeRequest] = []
        self.echoed: list[str] = []
        server = MCPServer("probe")

        @server.tool()
        def echo_tool(text: str) -> str:
            """Answer with the text."""
            self.echoed.append(text)
            return ECHO_PREFIX + text

        self._inner = server.streamable_http_app(streamable_http_path="/mcp")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/mcp"
        self._server = uvicorn.Server(uvicorn.Config(self._app, host="127.0.0.1", port=port, log_level="warning",
                                                     interface="asgi3"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        retry_until(lambda: self._server.started, 20, message="the MCP probe server starts")

    async def _app(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        items = data if isinstance(data, list) else [data]
        self.requests.append(ProbeRequest(
            scope["method"], scope["path"], headers.get("authorization"),
            tuple(str(item["method"]) for item in items if isinstance(item, dict) and "method" in item), data))
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._inner(scope, replay, send)

    def rpc_methods(self) -> list[str]:
        return [method for request in self.requests for method in request.rpc_methods]

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
