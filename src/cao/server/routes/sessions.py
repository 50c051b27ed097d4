from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cao.models import DeleteResult, SessionDetail, SessionSummary, Terminal
from cao.server.deps import RuntimeDep, SessionName
from cao.services import sessions, terminals

router = APIRouter(prefix="/sessions", tags=["sessions"])


class LaunchBody(BaseModel):
    env_vars: dict[str, str] = Field(default_factory=dict, description="extra environment for the agents")


ProfileQ = Annotated[str, Query(description="agent profile name", max_length=64)]
OptionalQ = Annotated[str | None, Query(max_length=4096)]


@router.post("", status_code=201)
async def create_session(
    rt: RuntimeDep, agent_profile: ProfileQ, provider: OptionalQ = None, session_name: OptionalQ = None,
    working_directory: OptionalQ = None, model: OptionalQ = None, yolo: bool = False,
    body: Annotated[LaunchBody | None, Body()] = None,
) -> Terminal:
    """Create session ``cao-<name>`` with one agent and wait until the agent is ready."""
    record = await terminals.create_terminal(
        rt, session_name=session_name or secrets.token_hex(4), new_session=True, agent_profile=agent_profile,
        provider=provider, working_directory=working_directory, env=body.env_vars if body else None,
        model=model, yolo=yolo)
    return terminals.to_public(rt, record)


@router.get("", response_model=list[SessionSummary])
async def list_sessions(request: Request) -> Response:
    """Every ``cao-`` session, from the server's memory (no tmux run, no query per session)."""
    return Response(await sessions.list_sessions_json(request.app.state.runtime), media_type="application/json")


@router.get("/{name}")
async def get_session(rt: RuntimeDep, name: SessionName) -> SessionDetail:
    return await sessions.get_session(rt, name)


@router.get("/{name}/wait")
async def wait_session(rt: RuntimeDep, name: SessionName,
                       timeout: Annotated[float, Query(gt=0, le=86400)] = 600.0) -> SessionDetail:
    """Wait (long-poll) until no agent in the session works and no message to any is pending; 504 on timeout."""
    return await sessions.wait_quiet(rt, name, timeout)


@router.delete("/{name}")
async def delete_session(rt: RuntimeDep, name: SessionName) -> DeleteResult:
    return await sessions.delete_session(rt, name)


@router.post("/{name}/terminals", status_code=201)
async def create_terminal(
    rt: RuntimeDep, name: SessionName, agent_profile: ProfileQ, provider: OptionalQ = None,
    working_directory: OptionalQ = None, model: OptionalQ = None, caller_id: OptionalQ = None,
    yolo: bool = False, body: Annotated[LaunchBody | None, Body()] = None,
) -> Terminal:
    """Add an agent to an existing session and wait until it is ready."""
    record = await terminals.create_terminal(
        rt, session_name=name, new_session=False, agent_profile=agent_profile, provider=provider,
        working_directory=working_directory, env=body.env_vars if body else None, model=model,
        yolo=yolo, caller_id=caller_id)
    return terminals.to_public(rt, record)


@router.get("/{name}/terminals")
async def list_terminals(rt: RuntimeDep, name: SessionName) -> list[Terminal]:
    detail = await sessions.get_session(rt, name)
    return detail.terminals
