"""``GET /plugins``: the plugins the server loaded, those it could not load and why, and their counters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

router = APIRouter(tags=["plugins"])


class Plugin(BaseModel):
    name: str
    target: str
    distribution: str | None
    version: str | None
    status: str
    error: str | None
    kinds: list[str]
    events: int
    errors: int
    timeouts: int
    skipped: int
    last_error: str | None


@router.get("/plugins")
async def plugins(request: Request) -> list[Plugin]:
    """Every plugin entry point found (group ``cao.plugins``): status ``starting``, ``running``, ``failed``
    (``error`` says why), ``disabled`` (CAO_PLUGINS) or ``stopped``; hook calls, errors, timeouts, skips."""
    host = getattr(request.app.state, "plugins", None)
    return [Plugin(**info) for info in (host.listing() if host is not None else [])]
