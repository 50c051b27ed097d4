"""cao's stdio MCP transport (``cao.mcp.stdio``) spoken to by the official SDK's stdio client."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.conftest import retry_until

SERVER = textwrap.dedent('''
    import asyncio, os, sys
    from cao.mcp.protocol import Server, Tool, ToolResult
    from cao.mcp.stdio import serve_stdio

    async def count(args, ctx):
        for step in range(1, args["to"] + 1):
            await ctx.progress(step, args["to"])
        return ToolResult(f"counted to {args['to']}", {"last": args["to"]})

    async def block(args, ctx):
        open(os.environ["STARTED"], "w").close()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            open(os.environ["CANCELLED"], "w").close()
            raise
        return "not cancelled"

    TOOLS = [Tool("count", "count up", {"type": "object", "properties": {"to": {"type": "integer", "minimum": 1}},
                                        "required": ["to"]}, count,
                  {"type": "object", "properties": {"last": {"type": "integer"}}, "required": ["last"]}),
             Tool("block", "wait to be cancelled", {"type": "object"}, block)]
    serve_stdio(Server("stdio-test", "1", "", lambda _principal: TOOLS))
''')


def test_sdk_stdio_client_against_cao_stdio_transport(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    started, cancelled = tmp_path / "started", tmp_path / "cancelled"
    params = StdioServerParameters(command=sys.executable, args=[str(script)],
                                   env={**os.environ, "STARTED": str(started), "CANCELLED": str(cancelled)})
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def main() -> Any:
        with anyio.fail_after(30):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                await session.list_tools()
                counted = await session.call_tool("count", {"to": 3}, progress_callback=on_progress)
                invalid = await session.call_tool("count", {"to": 0})
                async with anyio.create_task_group() as group:
                    group.start_soon(session.call_tool, "block", {})
                    await anyio.to_thread.run_sync(lambda: retry_until(started.exists, message="block started"))
                    await session.send_ping()
                    group.cancel_scope.cancel()
                await anyio.to_thread.run_sync(lambda: retry_until(cancelled.exists, message="block cancelled"))
                return counted, invalid

    counted, invalid = anyio.run(main)
    assert counted.structured_content == {"last": 3} and progress == [1, 2, 3]
    assert invalid.is_error
    assert invalid.content[0].text == "Invalid arguments for count: 'to' must be at least 1 (got 0)"
