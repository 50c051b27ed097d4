"""The mock agent's MCP connections: started at launch, kept open, used by ``tool`` steps.

Like a real CLI, the agent starts every server of ``--mcp-config`` right after it has drawn
its first prompt, in background threads (``initialize`` + ``tools/list``), and keeps the
connections open until it exits. It uses cao's lean clients, ``cao.mcp.client.HttpClient`` for a
``"type": "http"`` entry and ``StdioClient`` for one with a ``command``, never the ``mcp`` SDK,
whose import alone takes longer than the agent's whole start.
``cao.mcp.client`` is imported inside the connecting threads, so it never delays the prompt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cao.mock_agent.script import ScriptError, Step, substitute

if TYPE_CHECKING:
    from cao.mcp.client import HttpClient, StdioClient

CONNECT_WAIT = 30.0  # how long a tool step waits for a server that is still connecting
CLOSE_GRACE = 1.0  # seconds the servers get to exit on their own when the agent exits


def fill(value: Any, values: dict[str, str]) -> Any:
    """Substitute ``{{task}}`` etc. in every string inside the tool arguments."""
    if isinstance(value, str):
        return substitute(value, values)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


def describe(err: BaseException) -> str:
    if isinstance(err, FileNotFoundError):
        return f"command not found: {err.filename}"
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    if isinstance(err, TimeoutError):
        return "timed out"
    text = str(err)
    return text if text else type(err).__name__


class Connection:
    """One server of the config: its client once connected, or why it failed."""

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.spec = spec
        self.client: StdioClient | HttpClient | None = None
        self.tools: list[str] = []
        self.error: str | None = None
        self.done = threading.Event()
        self.closed = False

    def connect(self, on_failure: Callable[[str, str], None]) -> None:
        try:
            from cao.mcp.client import HttpClient, StdioClient

            spec = self.spec
            client: StdioClient | HttpClient
            if spec.get("type") == "http" or "url" in spec:
                client = HttpClient(spec["url"], dict(spec.get("headers", {})))
            else:
                client = StdioClient(spec["command"], list(spec.get("args", [])), dict(spec.get("env", {})))
            self.client = client
            tools = client.initialize()
            self.tools = [tool.get("name", "") for tool in tools if isinstance(tool, dict)]
        except Exception as err:
            self.error = describe(err)
            on_failure(self.name, self.error)
        finally:
            self.done.set()

    def wait(self, deadline: float) -> None:
        """Wait until connected (or failed); raise ScriptError if that takes past ``deadline``."""
        if not self.done.wait(max(0.0, deadline - time.monotonic())):
            raise ScriptError(f"MCP server {self.name} is not connected after {CONNECT_WAIT:g}s")
        if self.error is not None:
            raise ScriptError(f"MCP server {self.name} failed: {self.error}")


class McpPool:
    def __init__(self, servers: dict[str, dict[str, Any]]) -> None:
        self.connections = {name: Connection(name, spec) for name, spec in servers.items()}
        self.started = False

    def start(self, on_failure: Callable[[str, str], None]) -> None:
        """Connect to every server in its own thread; ``on_failure(name, reason)`` reports a failure."""
        self.started = True
        for conn in self.connections.values():
            threading.Thread(target=conn.connect, args=(on_failure,), name=f"mcp-{conn.name}", daemon=True).start()

    def pick(self, step: Step, deadline: float) -> Connection:
        """The server for a tool step: the named one, the only one, or the one that lists the tool."""
        if step.server is not None:
            conn = self.connections.get(step.server)
            if conn is None:
                raise ScriptError(f"tool {step.value!r}: no MCP server {step.server!r} in --mcp-config "
                                  f"(have: {', '.join(sorted(self.connections))})")
            conn.wait(deadline)
            return conn
        if len(self.connections) == 1:
            conn = next(iter(self.connections.values()))
            conn.wait(deadline)
            return conn
        failed = []
        for conn in self.connections.values():
            try:
                conn.wait(deadline)
            except ScriptError as err:
                failed.append(str(err))
                continue
            if step.value in conn.tools:
                return conn
        why = f"; {'; '.join(failed)}" if failed else ""
        raise ScriptError(f"no MCP server offers the tool {step.value!r}{why}")

    def call(self, step: Step, args: dict[str, Any]) -> tuple[str, bool]:
        """Call the step's tool on its persistent connection: (text, is_error). No client timeout."""
        if not self.started:
            raise ScriptError("the MCP servers were not started")
        conn = self.pick(step, time.monotonic() + CONNECT_WAIT)
        assert conn.client is not None
        try:
            return conn.client.call_tool(step.value, args, timeout=None)
        except Exception as err:
            raise ScriptError(f"MCP server {conn.name}: {describe(err)}") from err

    def close(self) -> None:
        """Close every connection at once (stdio: stdin, a short grace, then kill; HTTP: DELETE)."""
        clients = [c.client for c in self.connections.values() if c.client is not None and not c.closed]
        for conn in self.connections.values():
            conn.closed = True
        threads = [threading.Thread(target=client.close, args=(CLOSE_GRACE,), daemon=True) for client in clients]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + CLOSE_GRACE + 0.5
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
