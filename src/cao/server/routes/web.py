"""The web UI: its static files (``/`` and ``/ui/...``, from the top-level ``web/`` folder) and the
terminal WebSocket ``/terminals/{id}/ws`` (a live tmux client per viewer, see services/terminal_view.py).

The page is a client of the same REST API and ``GET /events`` as everything else; the only thing it
has that others do not use is the WebSocket. Everything here sits behind the owner's credentials
(the browser's HttpOnly cookie from ``/login``) and the Host/Origin checks of server/security.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cao import validation
from cao.errors import CaoError, TmuxError
from cao.services import terminals
from cao.services.terminal_view import TerminalView

log = logging.getLogger(__name__)
router = APIRouter(tags=["web"])

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}
LOOPBACK_CLIENTS = {"127.0.0.1", "::1", "localhost"}
# Close codes of the reference spec (§3.7).
PEER_REFUSED, NOT_FOUND = 4003, 4004


def web_dir() -> Path:
    """``cao/web`` in an installed wheel; the repository's top-level ``web/`` in a checkout."""
    packaged = Path(__file__).resolve().parents[2] / "web"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[4] / "web"


class _WithHeaders:
    """Adds the page's security headers (CSP first) to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def static_app() -> ASGIApp:
    return _WithHeaders(StaticFiles(directory=web_dir(), check_dir=False))


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(web_dir() / "index.html", headers=PAGE_HEADERS)


def peer_allowed(host: str) -> bool:
    """The terminal WebSocket is for this machine: loopback peers, plus ``CAO_WS_ALLOWED_CLIENTS``
    (a comma list; ``*`` allows any)."""
    extra = {h.strip() for h in os.environ.get("CAO_WS_ALLOWED_CLIENTS", "").split(",") if h.strip()}
    return "*" in extra or host in LOOPBACK_CLIENTS | extra


@router.websocket("/terminals/{terminal_id}/ws")
async def terminal_ws(websocket: WebSocket, terminal_id: str,
                      read_only: Annotated[bool, Query()] = False,
                      rows: Annotated[int, Query(ge=2, le=500)] = 24,
                      cols: Annotated[int, Query(ge=2, le=1000)] = 80) -> None:
    """The terminal's screen as binary frames; JSON ``{"type": "input", "data": ...}`` and
    ``{"type": "resize", "rows": R, "cols": C}`` from the page. Closing it leaves the agent running."""
    if not peer_allowed(websocket.client.host if websocket.client else ""):
        await websocket.close(PEER_REFUSED, "the terminal WebSocket is open to this machine only")
        return
    rt = websocket.app.state.runtime
    await websocket.accept()
    try:
        validation.terminal_id(terminal_id)
        monitor = terminals.live_monitor(rt, terminal_id)
        record = terminals.get_record(rt, terminal_id)
        view = TerminalView(rt.tmux, record.session_name, record.window_name, read_only=read_only)
        await view.start(rows, cols)
    except (CaoError, TmuxError) as exc:
        await websocket.close(NOT_FOUND, str(exc)[:120])
        return
    removed = rt.bus.subscribe({"terminal.removed"})
    tasks = [asyncio.create_task(_pump(websocket, view)), asyncio.create_task(_keys(websocket, view)),
             asyncio.create_task(_until_removed(removed, monitor.terminal_id))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        reason = next(iter(done)).result() if done else None
    finally:
        for task in tasks:
            task.cancel()
        rt.bus.unsubscribe(removed)
        await view.close()
    if reason:
        gone = reason == "removed" or not _running(rt, terminal_id)  # its window went first, then the view
        with contextlib.suppress(Exception):
            await websocket.close(NOT_FOUND if gone else 1000, "the terminal was removed" if gone else reason)


def _running(rt: Any, terminal_id: str) -> bool:
    try:
        terminals.live_monitor(rt, terminal_id)
    except CaoError:
        return False
    return True


async def _pump(websocket: WebSocket, view: TerminalView) -> str | None:
    while (data := await view.output()) is not None:
        try:
            await websocket.send_bytes(data)
        except Exception:  # the page went away
            return None
    return "the view ended"


async def _keys(websocket: WebSocket, view: TerminalView) -> None:
    while True:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, KeyError, RuntimeError):  # gone, or a binary frame
            return
        message = _parse(text)
        if message is None:
            continue
        if message.get("type") == "input" and isinstance(message.get("data"), str):
            await view.write(message["data"])
        elif message.get("type") == "resize":
            with contextlib.suppress(TypeError, ValueError):
                view.resize(int(message["rows"]), int(message["cols"]))


def _parse(text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


async def _until_removed(sub: Any, terminal_id: str) -> str:
    while (event := await sub.next()) is not None:
        if event.data.get("terminal_id") == terminal_id:
            return "removed"
    await asyncio.Event().wait()  # the bus closed: the server stops, and the other tasks end with it
    return ""
