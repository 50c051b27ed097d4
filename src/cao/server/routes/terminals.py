from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from cao.errors import Conflict, InvalidInput
from cao.models import InputAccepted, McpConnection, Output, Restored, Success, Terminal
from cao.providers.base import mcp_endpoint
from cao.server.deps import RuntimeDep, TerminalId
from cao.services import delivery, snapshots, steering, terminals
from cao.status import Status

router = APIRouter(prefix="/terminals", tags=["terminals"])


class InputBody(BaseModel):
    message: str


class AnswerBody(BaseModel):
    keys: list[str]


@router.get("")
async def list_terminals(rt: RuntimeDep) -> list[Terminal]:
    """Every terminal of every session, from the server's memory (the web UI's first paint: one request)."""
    return [terminals.to_public(rt, record) for record in terminals.list_records(rt)]


@router.get("/{terminal_id}")
async def get_terminal(rt: RuntimeDep, terminal_id: TerminalId) -> Terminal:
    return terminals.to_public(rt, terminals.get_record(rt, terminal_id))


@router.delete("/{terminal_id}")
async def delete_terminal(rt: RuntimeDep, terminal_id: TerminalId) -> Success:
    """Save the terminal's scrollback and metadata under logs/terminal/, then remove its window."""
    await terminals.delete_terminal(rt, terminal_id)
    return Success()


@router.get("/{terminal_id}/mcp-config")
async def mcp_config(rt: RuntimeDep, terminal_id: TerminalId) -> McpConnection:
    """How to connect an MCP client as this terminal (the owner only): cao's endpoint and its token header."""
    record = terminals.get_record(rt, terminal_id)
    if not record.mcp_token:
        raise Conflict(f"terminal {terminal_id} has no MCP token (it was created by an older cao)")
    return McpConnection(**mcp_endpoint(rt.settings.api_url, record.mcp_token))


@router.post("/{terminal_id}/input")
async def send_input(
    rt: RuntimeDep, terminal_id: TerminalId,
    message: Annotated[str | None, Query(description="compatibility form; prefer the JSON body")] = None,
    body: Annotated[InputBody | None, Body()] = None,
) -> InputAccepted:
    """Type a message into the agent and submit it. Returns once the text is in the pane."""
    text = body.message if body else message
    if text is None:
        raise InvalidInput("give the message as JSON body {\"message\": ...} or as ?message=")
    turn = await terminals.send_input(rt, terminal_id, text)
    probe = next((line.strip() for line in text.splitlines() if line.strip()), "")[:40]
    if probe:
        rt.background(delivery.ensure_submitted(rt, terminals.live_monitor(rt, terminal_id), turn, probe=probe))
    return InputAccepted(turn=turn)


@router.post("/{terminal_id}/restore", status_code=201)
async def restore_terminal(rt: RuntimeDep, terminal_id: TerminalId) -> Restored:
    """Open a deleted terminal's saved scrollback in a new window of its session (a plain shell)."""
    session, window = await snapshots.restore(rt, terminal_id)
    return Restored(session_name=session, window_name=window)


@router.post("/{terminal_id}/key")
async def send_key(rt: RuntimeDep, terminal_id: TerminalId, key: Annotated[str, Query(max_length=16)]) -> Success:
    await terminals.send_key(rt, terminal_id, key, until_drawn=True)
    return Success()


@router.post("/{terminal_id}/interrupt")
async def interrupt(rt: RuntimeDep, terminal_id: TerminalId) -> Success:
    """Stop the running turn with the CLI's own keys; 409 when no turn is running."""
    await steering.interrupt(rt, terminal_id)
    return Success()


@router.post("/{terminal_id}/answer")
async def answer(rt: RuntimeDep, terminal_id: TerminalId, body: AnswerBody) -> Success:
    """Press ``keys`` into the dialog the agent shows (``waiting_user_answer``); 409 when it asks nothing."""
    await steering.answer(rt, terminal_id, body.keys)
    return Success()


@router.post("/{terminal_id}/exit")
async def exit_terminal(rt: RuntimeDep, terminal_id: TerminalId) -> Success:
    await terminals.exit_terminal(rt, terminal_id)
    return Success()


@router.get("/{terminal_id}/output")
async def get_output(rt: RuntimeDep, terminal_id: TerminalId,
                     mode: Literal["full", "last"] = "full") -> Output:
    return Output(output=await terminals.get_output(rt, terminal_id, mode), mode=mode)


@router.get("/{terminal_id}/wait")
async def wait_terminal(
    rt: RuntimeDep, terminal_id: TerminalId,
    turn: Annotated[int | None, Query(ge=1, description="wait until this turn has finished")] = None,
    status: Annotated[str, Query(description="comma list of statuses to wait for")] = "idle,completed",
    timeout: Annotated[float, Query(gt=0, le=3600)] = 30.0,
) -> Terminal:
    """Wait (long-poll) until a turn has finished or the terminal reaches one of ``status``.

    Error and waiting_user_answer always end the wait. 504 when ``timeout`` passes first.
    """
    try:
        wanted = {Status(s.strip()) for s in status.split(",") if s.strip()}
    except ValueError as exc:
        raise InvalidInput(f"invalid status list {status!r}; statuses: "
                           f"{', '.join(s.value for s in Status)}") from exc
    return await terminals.wait_terminal(rt, terminal_id, turn=turn, statuses=wanted, timeout=timeout)
