"""MCP's stdio transport on cao's core: one JSON-RPC message per line on stdin/stdout.

Requests are handled concurrently (a ping is answered during a long tool call); the session ends,
cancelling what is still running, when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import IO, Any

from cao.mcp.protocol import ProtocolError, Server, Session, parse


def _read_lines(stream: IO[bytes], loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]) -> None:
    for line in stream:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def serve_stdio_async(server: Server, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    session = Session(server)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    threading.Thread(target=_read_lines, args=(stdin, asyncio.get_running_loop(), queue), daemon=True).start()
    running: set[asyncio.Task[None]] = set()

    async def write(message: dict[str, Any]) -> None:
        stdout.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        stdout.flush()

    async def answer(message: Any) -> None:
        response = await session.handle(message, write)
        if response is not None:
            await write(response)

    while (line := await queue.get()) is not None:
        if not line.strip():
            continue
        try:
            message = parse(line)
        except ProtocolError as exc:
            await write(exc.response())
            continue
        task = asyncio.create_task(answer(message))
        running.add(task)
        task.add_done_callback(running.discard)
    await session.close()
    if running:
        await asyncio.wait(running, timeout=5)


def serve_stdio(server: Server) -> None:
    """Serve ``server`` on this process's stdin/stdout until stdin closes."""
    asyncio.run(serve_stdio_async(server, sys.stdin.buffer, sys.stdout.buffer))
