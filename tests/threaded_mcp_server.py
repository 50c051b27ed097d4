"""``McpHttpApp`` with small test tools under real uvicorn in a thread, mounted as cao-server will mount it
(a Starlette ``Route("/mcp", endpoint=app)``). Two principals: ``alice`` (token ``tok-alice``) and ``bob``."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from cao.mcp.http import McpHttpApp, Scope
from cao.mcp.protocol import CallContext, Tool, ToolError, ToolResult
from tests.conftest import free_port, retry_until

TOKENS = {"tok-alice": "alice", "tok-bob": "bob"}
WEATHER = {"type": "object", "properties": {"celsius": {"type": "number"}, "sky": {"type": "string"}},
           "required": ["celsius", "sky"]}


class Recorder:
    """What happened inside the tools (they run on the server's thread)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.cancelled = threading.Event()
        self.finished = threading.Event()
        self.listed: list[Any] = []


def authenticate(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization" and value.startswith(b"Bearer "):
            return TOKENS.get(value[7:].decode())
    return None


def make_tools(rec: Recorder) -> list[Tool]:
    async def echo(args: dict[str, Any], ctx: CallContext) -> str:
        if args["text"] == "refuse":
            raise ToolError("refused on purpose")
        return f"echo: {args['text']}"

    async def slow(args: dict[str, Any], ctx: CallContext) -> str:
        steps = int(args.get("steps", 3))
        for step in range(1, steps + 1):
            await ctx.progress(step, steps, f"step {step} of {steps}")
            await asyncio.sleep(0.01)
        return f"slow done after {steps} steps"

    async def block(args: dict[str, Any], ctx: CallContext) -> str:
        """Runs until the test releases it; records a cancellation."""
        rec.started.set()
        try:
            while not rec.release.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            rec.cancelled.set()
            raise
        rec.finished.set()
        return "released"

    async def weather(args: dict[str, Any], ctx: CallContext) -> ToolResult:
        return ToolResult("Sunny, 22.5 °C", {"celsius": 22.5, "sky": "sunny"})

    text = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
            "additionalProperties": False}
    return [
        Tool("echo", "Echo the text", text, echo),
        Tool("slow", "Report progress, then answer", {"type": "object", "properties": {
            "steps": {"type": "integer", "minimum": 1, "maximum": 10}}}, slow),
        Tool("block", "Wait until released or cancelled", {"type": "object"}, block),
        Tool("weather", "Structured weather", {"type": "object"}, weather, WEATHER),
    ]


class ThreadedMcpServer:
    def __init__(self, *, keepalive_interval: float = 15.0, max_sessions_per_principal: int = 8) -> None:
        self.rec = Recorder()
        tools = make_tools(self.rec)
        self.app = McpHttpApp(name="cao-test", version="9.9", instructions="test tools", authenticate=authenticate,
                              tools_for=lambda principal: tools, on_tools_listed=self.rec.listed.append,
                              keepalive_interval=keepalive_interval,
                              max_sessions_per_principal=max_sessions_per_principal)
        self.loop: asyncio.AbstractEventLoop | None = None

        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            self.loop = asyncio.get_running_loop()
            yield

        site = Starlette(routes=[Route("/mcp", endpoint=self.app)], lifespan=lifespan)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.url = self.base + "/mcp"
        self._server = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        retry_until(lambda: self._server.started, 10, message="uvicorn starts")

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the server's loop (e.g. to end sessions as cao-server would)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def busy_sessions(self) -> int:
        return sum(1 for session in list(self.app._sessions.values()) if session.busy)

    def stop(self) -> None:
        self.run(self.app.close())
        self._server.should_exit = True
        self._thread.join(10)
