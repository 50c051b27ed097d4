"""Teams: start a session from a team file (``cao launch team.yaml``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cao.models import Terminal
from cao.server.deps import RuntimeDep
from cao.services import terminals
from cao.teams import service

router = APIRouter(prefix="/teams", tags=["teams"])


class TeamLaunch(BaseModel):
    file: str = Field(description="absolute path of the team file (YAML)", max_length=4096)
    agent: str | None = Field(default=None, description="member to start (default: root)", max_length=64)
    session_name: str | None = Field(default=None, max_length=128)
    working_directory: str | None = Field(default=None, max_length=4096)
    env_vars: dict[str, str] = Field(default_factory=dict)
    provider: str | None = Field(default=None, max_length=64, description="override the member's provider")
    model: str | None = Field(default=None, max_length=256, description="override the member's model")
    yolo: bool = False


class TeamLaunched(BaseModel):
    terminal: Terminal
    agent: str
    agents: list[str]
    welcome_message: str | None
    commands: dict[str, str]
    warnings: list[str]


@router.post("/launch", status_code=201)
async def launch_team(rt: RuntimeDep, body: TeamLaunch) -> TeamLaunched:
    """Load the team file and start one member (default ``root``) in a new session, as its conductor."""
    launched = await service.launch(
        rt, file=body.file, agent=body.agent, session_name=body.session_name,
        working_directory=body.working_directory, env=body.env_vars, yolo=body.yolo, provider=body.provider,
        model=body.model)
    member = launched.member
    return TeamLaunched(terminal=terminals.to_public(rt, launched.record), agent=member.name,
                        agents=list(launched.team.members), welcome_message=member.welcome_message,
                        commands=member.commands, warnings=launched.team.warnings)
