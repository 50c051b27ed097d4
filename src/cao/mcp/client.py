"""A lean MCP stdio client (used by the mock agent, which must start as fast as a real CLI)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
from concurrent.futures import Future
from typing import Any

from cao.mcp.protocol import SUPPORTED_VERSIONS


class McpClientError(Exception):
    pass


class StdioClient:
    def __init__(self, command: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [command, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, text=True, encoding="utf-8", bufsize=1)
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            future = self._pending.pop(message.get("id"), None) if isinstance(message, dict) else None
            if future is not None:
                future.set_result(message)
        for future in list(self._pending.values()):
            future.set_exception(McpClientError("the MCP server exited"))

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = 60) -> Any:
        msg_id = next(self._ids)
        future: Future[dict[str, Any]] = Future()
        self._pending[msg_id] = future
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params or {}})
        message = future.result(timeout)
        if "error" in message:
            raise McpClientError(message["error"].get("message", "MCP error"))
        return message.get("result")

    def notify(self, method: str) -> None:
        self._write({"jsonrpc": "2.0", "method": method})

    def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin
        with self._lock:
            try:
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError) as exc:
                raise McpClientError("the MCP server is not running") from exc

    def initialize(self, client_name: str = "cao-mock-agent") -> list[dict[str, Any]]:
        """Handshake and list the tools, as real CLIs do on start."""
        self.request("initialize", {"protocolVersion": SUPPORTED_VERSIONS[0], "capabilities": {},
                                    "clientInfo": {"name": client_name, "version": "1"}})
        self.notify("notifications/initialized")
        return self.request("tools/list")["tools"]

    def call_tool(self, name: str, arguments: dict[str, Any], timeout: float | None = None) -> tuple[str, bool]:
        result = self.request("tools/call", {"name": name, "arguments": arguments}, timeout=timeout)
        text = "\n".join(block.get("text", "") for block in result.get("content", []) if block.get("type") == "text")
        return text, bool(result.get("isError"))

    def close(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
