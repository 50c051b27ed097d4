"""The inbox (compatible with the public CAO's routes). The sender is whoever is authenticated.

The agents' own tools (handoff, assign, send_message) are served over MCP at ``/mcp``, where the
caller is known from its terminal's token (``cao.mcp.tools``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from cao.errors import InvalidInput, PermissionDenied
from cao.models import InboxMessage, InboxMessageRecord
from cao.server.deps import PrincipalDep, RuntimeDep, TerminalId
from cao.services import terminals

router = APIRouter(prefix="/terminals", tags=["inbox"])


class MessageAccepted(BaseModel):
    success: bool = True
    message_id: int
    sender_id: str
    receiver_id: str
    created_at: str


class InboxBody(BaseModel):
    message: str
    sender_id: str | None = None  # compatibility: accepted only when it names the caller


@router.post("/{terminal_id}/inbox/messages")
async def post_inbox_message(
    rt: RuntimeDep, principal: PrincipalDep, terminal_id: TerminalId,
    sender_id: Annotated[str | None, Query(max_length=64, description="compatibility form")] = None,
    message: Annotated[str | None, Query(description="compatibility form; prefer the JSON body")] = None,
    body: Annotated[InboxBody | None, Body()] = None,
) -> MessageAccepted:
    """Queue a message for this terminal, sent by the caller (``user`` with the owner's token).

    It is stored before this returns. A ``sender_id`` other than the caller's own is refused (403).
    """
    claimed, text = (body.sender_id, body.message) if body else (sender_id, message)
    if text is None:
        raise InvalidInput('give the message as a JSON body {"message": ...} (or as the query parameter message)')
    if claimed is not None and claimed != principal.sender_id:
        raise PermissionDenied(f"sender_id {claimed[:64]!r} is not you: cao records the sender from your credentials "
                               f"(you are {principal.sender_id!r}); leave sender_id out")
    return _accepted(rt.inbox.enqueue(sender_id=principal.sender_id, receiver_id=terminal_id, message=text))


@router.get("/{terminal_id}/inbox/messages")
async def list_inbox_messages(
    rt: RuntimeDep, terminal_id: TerminalId, limit: Annotated[int, Query(ge=1, le=100)] = 10,
    status: str | None = None, direction: Literal["received", "sent"] = "received",
) -> list[InboxMessage]:
    """Messages to (or, with direction=sent, from) this terminal, oldest first."""
    terminals.get_record(rt, terminal_id)
    return rt.inbox.list(terminal_id, status=status, limit=limit, sent=direction == "sent")


def _accepted(record: InboxMessageRecord) -> MessageAccepted:
    return MessageAccepted(message_id=record.id or 0, sender_id=record.sender_id, receiver_id=record.receiver_id,
                           created_at=record.created_at.isoformat())
