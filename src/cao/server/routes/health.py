"""``GET /health``: cheap enough to be polled hard.

A plain Starlette route (not a FastAPI one: no dependency solving, no validation per request),
no tmux subprocess and no thread; the body is rendered once per change of what it shows.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cao import __version__
from cao.errors import TmuxError
from cao.models import Health

router = APIRouter(tags=["health"])


async def health(request: Request) -> Response:
    rt = request.app.state.runtime
    tmux_version = rt.tmux.known_version
    if tmux_version is None:  # not read yet (tmux was missing at start): try again, off the event loop
        try:
            tmux_version = await asyncio.to_thread(rt.tmux.check)
        except TmuxError:
            tmux_version = None
    terminals = len(rt.engine.monitors)
    body = rt.registry.rendered(f"health {tmux_version} {terminals}", lambda: Health(
        version=__version__, tmux_version=tmux_version, terminals=terminals).model_dump_json().encode())
    return Response(body, media_type="application/json")


router.routes.append(Route("/health", health, methods=["GET"]))
