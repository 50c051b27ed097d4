"""``GET /events``: the server's event bus as Server-Sent Events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from cao import validation
from cao.errors import InvalidInput
from cao.events import KINDS, Event, EventBus
from cao.server.deps import RuntimeDep

router = APIRouter(tags=["events"])
KEEPALIVE_S = 15.0


def _frame(event: Event) -> bytes:
    return f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(event.public())}\n\n".encode()


def session_of(rt: RuntimeDep, event: Event) -> str | None:
    """The session an event belongs to: named in it, or the terminal's (known while the registry has it)."""
    if "session" in event.data:
        return event.data["session"]
    terminal_id = event.data.get("terminal_id") or event.data.get("receiver_id")
    record = rt.registry.terminals.get(terminal_id) if terminal_id else None
    return record.session_name if record is not None else None


async def _stream(request: Request, rt: RuntimeDep, bus: EventBus, kinds: set[str] | None, session: str | None,
                  after: int | None) -> AsyncIterator[bytes]:
    if after is not None and not bus.resumable(after):
        note = {"after": after, "oldest": bus.recent()[0].id if bus.recent() else None}
        yield f"event: gap\ndata: {json.dumps(note)}\n\n".encode()
    sub = bus.subscribe(kinds, after=after)
    yield b"retry: 1000\n\n"
    try:
        while True:
            try:
                event = await asyncio.wait_for(sub.next(), KEEPALIVE_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield b": keepalive\n\n"
                continue
            if event is None:  # fell behind (say where to resume), or the server stops
                if sub.dropped:
                    yield f"event: dropped\ndata: {json.dumps({'resume_after': sub.last_id})}\n\n".encode()
                return
            if session is None or session_of(rt, event) == session:
                yield _frame(event)
    finally:
        bus.unsubscribe(sub)


@router.get("/events")
async def events(
    request: Request, rt: RuntimeDep,
    kind: Annotated[list[str] | None, Query(description="only these kinds (repeatable); all when absent")] = None,
    session: Annotated[str | None, Query(max_length=68, description="only events of this session")] = None,
    after: Annotated[int | None, Query(ge=0, description="resume after this event id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Every event as it happens (text/event-stream). ``Last-Event-ID`` (or ``after``) replays what came
    after that id from a bounded backlog; an ``event: gap`` says when the backlog no longer reaches back."""
    if kind and (unknown := set(kind) - KINDS):
        raise InvalidInput(f"unknown event kind(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KINDS))}")
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise InvalidInput("Last-Event-ID must be an event id (a whole number)")
        after = int(last_event_id)
    if session is not None:
        session = validation.session_name(session)
    return StreamingResponse(_stream(request, rt, rt.bus, set(kind) if kind else None, session, after),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
