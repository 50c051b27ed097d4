"""Lean MCP clients, stdio and streamable HTTP (the mock agent's; it must start as fast as a real CLI).

Both have one interface: ``initialize(client_name) -> tools``, ``call_tool(name, args, timeout) ->
(text, is_error)``, ``request``, ``notify`` and ``close``. Stdlib only.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import threading
from concurrent.futures import Future
from typing import Any

from cao.mcp.endpoint import Endpoint, EndpointError
from cao.mcp.protocol import SUPPORTED_VERSIONS


class McpClientError(Exception):
    pass


def _initialize(self: Any, client_name: str = "cao-mock-agent") -> list[dict[str, Any]]:
    """Handshake and list the tools, as real CLIs do on start."""
    self.request("initialize", {"protocolVersion": SUPPORTED_VERSIONS[0], "capabilities": {},
                                "clientInfo": {"name": client_name, "version": "1"}})
    self.notify("notifications/initialized")
    return self.request("tools/list")["tools"]


def _call_tool(self: Any, name: str, arguments: dict[str, Any], timeout: float | None = None) -> tuple[str, bool]:
    result = self.request("tools/call", {"name": name, "arguments": arguments}, timeout=timeout)
    text = "\n".join(block.get("text", "") for block in result.get("content", []) if block.get("type") == "text")
    return text, bool(result.get("isError"))


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

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self._write({"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})})

    def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin
        with self._lock:
            try:
                self.process.stdin.write(json.dumps(message) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError) as exc:
                raise McpClientError("the MCP server is not running") from exc

    initialize = _initialize
    call_tool = _call_tool

    def close(self, grace: float = 2.0) -> None:
        """Close stdin, give the server ``grace`` seconds to exit, then kill it."""
        if self.process.poll() is None:
            if self.process.stdin:
                with contextlib.suppress(OSError):
                    self.process.stdin.close()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()


class HttpClient:
    """An MCP client over streamable HTTP: one POST per message, each request in the calling thread."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.endpoint = Endpoint(url, headers)
        self._ids = itertools.count(1)

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = 60) -> Any:
        """Send a request and wait for its answer; past ``timeout`` the call is cancelled (TimeoutError)."""
        msg_id = next(self._ids)
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params or {}}
        future: Future[dict[str, Any]] = Future()

        def exchange() -> None:
            try:
                for reply in self.endpoint.open(message, timeout=None).messages():
                    if reply.get("id") == msg_id and "method" not in reply:
                        if method == "initialize" and isinstance(reply.get("result"), dict):
                            self.endpoint.protocol_version = reply["result"].get("protocolVersion")
                        future.set_result(reply)
                        return
                future.set_exception(McpClientError(f"{method}: the server ended the answer without a result"))
            except EndpointError as exc:
                future.set_exception(McpClientError(f"{method}: {exc}"))
            except Exception as exc:
                future.set_exception(McpClientError(f"{method}: {type(exc).__name__}: {exc}"))

        threading.Thread(target=exchange, daemon=True, name=f"mcp-http-{method}").start()
        try:
            reply = future.result(timeout)
        except TimeoutError:
            self.notify("notifications/cancelled", {"requestId": msg_id, "reason": f"no answer within {timeout}s"})
            raise
        if "error" in reply:
            raise McpClientError(reply["error"].get("message", "MCP error"))
        return reply.get("result")

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message = {"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})}
        try:
            self.endpoint.post(message, timeout=10)
        except (EndpointError, OSError) as exc:
            raise McpClientError(f"{method}: {exc}") from exc

    initialize = _initialize
    call_tool = _call_tool

    def close(self, grace: float = 2.0) -> None:
        """End the session (DELETE), waiting at most ``grace`` seconds."""
        self.endpoint.delete(timeout=grace)
