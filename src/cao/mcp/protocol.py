"""A lean implementation of MCP over stdio (JSON-RPC 2.0, one message per line).

Why not the ``mcp`` SDK at run time: importing it takes about 0.8 s on this machine kind, which
alone breaks cao's 0.5 s budget from spawning ``cao-mcp-server`` to the agent seeing its tools,
and every agent spawns one. cao needs only ``initialize``, ``ping``, ``tools/list`` and
``tools/call``; the SDK's own client is the conformance oracle in the tests
(``tests/e2e/test_mcp_server.py``).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602


class ToolError(Exception):
    """Raised by a tool: becomes a result with ``isError: true`` that the agent can read."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    handler: Callable[[dict[str, Any]], str]

    def listing(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "inputSchema": self.input_schema}


class StdioServer:
    def __init__(self, name: str, version: str, tools: list[Tool], instructions: str = "",
                 on_tools_listed: Callable[[], None] | None = None) -> None:
        self.name, self.version, self.instructions = name, version, instructions
        self.tools = {tool.name: tool for tool in tools}
        self.on_tools_listed = on_tools_listed
        self._write_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8)  # long calls (handoff) must not block pings

    def serve(self, stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout) -> None:
        self._out = stdout
        for line in stdin:
            if line.strip():
                self._handle_line(line)
        self._pool.shutdown(wait=True)

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        with self._write_lock:
            self._out.write(data + "\n")
            self._out.flush()

    def _error(self, msg_id: Any, code: int, text: str) -> None:
        self._send({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": text}})

    def _handle_line(self, line: str) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            self._error(None, PARSE_ERROR, "invalid JSON")
            return
        for item in message if isinstance(message, list) else [message]:
            self._dispatch(item)

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict) or "method" not in message:
            return  # responses to requests we never send, or junk
        method, msg_id, params = message["method"], message.get("id"), message.get("params") or {}
        if msg_id is None:
            return  # notifications: initialized, cancelled, … need no answer
        if method == "initialize":
            requested = params.get("protocolVersion")
            version = requested if requested in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
            self._result(msg_id, {"protocolVersion": version, "capabilities": {"tools": {"listChanged": False}},
                                  "serverInfo": {"name": self.name, "version": self.version},
                                  "instructions": self.instructions})
        elif method == "ping":
            self._result(msg_id, {})
        elif method == "tools/list":
            self._result(msg_id, {"tools": [tool.listing() for tool in self.tools.values()]})
            if self.on_tools_listed:
                self._pool.submit(self.on_tools_listed)
        elif method == "tools/call":
            self._pool.submit(self._call, msg_id, params)
        else:
            self._error(msg_id, METHOD_NOT_FOUND, f"method not found: {method}")

    def _result(self, msg_id: Any, result: dict[str, Any]) -> None:
        self._send({"jsonrpc": "2.0", "id": msg_id, "result": result})

    def _call(self, msg_id: Any, params: dict[str, Any]) -> None:
        tool = self.tools.get(params.get("name", ""))
        if tool is None:
            self._error(msg_id, INVALID_PARAMS, f"unknown tool: {params.get('name')}")
            return
        try:
            text, is_error = tool.handler(params.get("arguments") or {}), False
        except ToolError as exc:
            text, is_error = str(exc), True
        except Exception as exc:  # a bug must still answer the agent, not hang it
            text, is_error = f"internal error in {tool.name}: {exc}", True
        self._result(msg_id, {"content": [{"type": "text", "text": text}], "isError": is_error})
