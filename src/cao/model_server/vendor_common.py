"""What every vendor router shares: reading the body, pacing a scripted delay, answering from the script."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import Request

from cao.model_server.rules import Exchange, Reply


async def read_object(request: Request) -> dict[str, Any] | None:
    """The request's JSON body if it is an object, else None (each API answers in its own error shape)."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def pace(request: Request, delay: float) -> bool:
    """Sleep a scripted ``delay``; False if the client went away meanwhile (an interrupted turn).

    Checking for the disconnect lets the server stop promptly instead of finishing a long delay.
    """
    deadline = time.monotonic() + delay
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 0.1))
        if await request.is_disconnected():
            return False
    return True


def handle(app_state: Any, exchange: Exchange, path: str) -> Reply:
    reply = app_state.script.get().respond(exchange)
    app_state.log.add(exchange, reply, path)
    return reply
