from __future__ import annotations

import asyncio

from fastapi import APIRouter

from cao import __version__
from cao.errors import TmuxError
from cao.models import Health
from cao.server.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(rt: RuntimeDep) -> Health:
    try:
        tmux_version = await asyncio.to_thread(rt.tmux.check)
    except TmuxError:
        tmux_version = None
    return Health(version=__version__, tmux_version=tmux_version, terminals=len(rt.engine.monitors))
