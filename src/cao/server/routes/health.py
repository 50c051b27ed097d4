"""``GET /health``: cheap enough to be polled (no tmux subprocess, no thread, no dependency injection)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cao import __version__
from cao.errors import TmuxError
from cao.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(request: Request) -> Response:
    rt = request.app.state.runtime
    tmux_version = rt.tmux.known_version
    if tmux_version is None:  # not read yet (tmux was missing at start): try again, off the event loop
        try:
            tmux_version = await asyncio.to_thread(rt.tmux.check)
        except TmuxError:
            tmux_version = None
    body = Health(version=__version__, tmux_version=tmux_version, terminals=len(rt.engine.monitors))
    return Response(body.model_dump_json().encode(), media_type="application/json")
