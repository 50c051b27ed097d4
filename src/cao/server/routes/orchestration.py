"""The server half of the MCP tools, and the inbox (compatible with the public CAO's routes)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from cao import validation
from cao.errors import InvalidInput
from cao.models import InboxMessage, Success
from cao.server.deps import RuntimeDep, TerminalId
from cao.services import orchestration, terminals

router = APIRouter(prefix="/terminals", tags=["orchestration"])


class WorkerRequest(BaseModel):
    agent_profile: str = Field(max_length=64)
    message: str
    working_directory: str | None = None


class HandoffRequest(WorkerRequest):
    timeout: float = Field(default=600, gt=0, le=86400)


class HandoffResult(BaseModel):
    terminal_id: str
    output: str


class AssignResult(BaseModel):
    terminal_id: str
    session_name: str
    window_name: str


class SendRequest(BaseModel):
    message: str
    receiver_id: str | None = None


class MessageAccepted(BaseModel):
    success: bool = True
    message_id: int
    sender_id: str
    receiver_id: str
    created_at: str


@router.post("/{terminal_id}/handoff")
async def handoff(rt: RuntimeDep, terminal_id: TerminalId, request: HandoffRequest) -> HandoffResult:
    """Start a worker in the caller's session, run the task, return the whole reply, remove the worker."""
    validation.message(request.message)
    worker_id, output = await orchestration.handoff(
        rt, caller_id=terminal_id, agent_profile=request.agent_profile, message=request.message,
        timeout=request.timeout, working_directory=request.working_directory)
    return HandoffResult(terminal_id=worker_id, output=output)


@router.post("/{terminal_id}/assign", status_code=201)
async def assign(rt: RuntimeDep, terminal_id: TerminalId, request: WorkerRequest) -> AssignResult:
    """Start a worker and queue its task; returns at once."""
    validation.message(request.message)
    worker = await orchestration.assign(rt, caller_id=terminal_id, agent_profile=request.agent_profile,
                                        message=request.message, working_directory=request.working_directory)
    return AssignResult(terminal_id=worker.id, session_name=worker.session_name, window_name=worker.window_name)


@router.post("/{terminal_id}/send")
async def send(rt: RuntimeDep, terminal_id: TerminalId, request: SendRequest) -> MessageAccepted:
    """Send a message from this terminal; without a receiver it goes to whoever created this terminal."""
    if request.receiver_id is not None:
        validation.terminal_id(request.receiver_id)
    record = orchestration.send_message(rt, sender_id=terminal_id, message=request.message,
                                        receiver_id=request.receiver_id)
    return _accepted(record)


@router.post("/{terminal_id}/mcp-ready")
async def mcp_ready(rt: RuntimeDep, terminal_id: TerminalId) -> Success:
    """Called by cao-mcp-server when the agent's MCP client has listed cao's tools."""
    terminals.get_record(rt, terminal_id)
    monitor = rt.engine.monitors.get(terminal_id)
    if monitor is not None:
        rt.engine.mark_mcp_ready(monitor)
    return Success()


class InboxBody(BaseModel):
    sender_id: str
    message: str


@router.post("/{terminal_id}/inbox/messages")
async def post_inbox_message(
    rt: RuntimeDep, terminal_id: TerminalId,
    sender_id: Annotated[str | None, Query(max_length=64, description="compatibility form")] = None,
    message: Annotated[str | None, Query(description="compatibility form; prefer the JSON body")] = None,
    body: Annotated[InboxBody | None, Body()] = None,
) -> MessageAccepted:
    """Queue a message for this terminal. It is stored before this returns."""
    sender, text = (body.sender_id, body.message) if body else (sender_id, message)
    if not sender or text is None:
        raise InvalidInput("give sender_id and message as a JSON body (or as query parameters)")
    return _accepted(rt.inbox.enqueue(sender_id=sender, receiver_id=terminal_id, message=text))


@router.get("/{terminal_id}/inbox/messages")
async def list_inbox_messages(
    rt: RuntimeDep, terminal_id: TerminalId, limit: Annotated[int, Query(ge=1, le=100)] = 10,
    status: str | None = None, direction: Literal["received", "sent"] = "received",
) -> list[InboxMessage]:
    """Messages to (or, with direction=sent, from) this terminal, oldest first."""
    terminals.get_record(rt, terminal_id)
    return rt.inbox.list(terminal_id, status=status, limit=limit, sent=direction == "sent")


def _accepted(record) -> MessageAccepted:  # type: ignore[no-untyped-def]
    return MessageAccepted(message_id=record.id, sender_id=record.sender_id, receiver_id=record.receiver_id,
                           created_at=record.created_at.isoformat())
