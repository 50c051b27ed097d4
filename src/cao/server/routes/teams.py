"""Teams: start a session from a team file (``cao launch team.yaml``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cao.errors import NotFound
from cao.models import Terminal
from cao.server.deps import RuntimeDep, SessionName
from cao.services import terminals
from cao.teams import policy, service

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
    template_env: dict[str, str] | None = Field(
        default=None, description="values for the file's ${env.X} placeholders (cao launch sends the launching "
                                  "shell's); default: cao-server's environment")


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
        model=body.model, template_env=body.template_env)
    member = launched.member
    return TeamLaunched(terminal=terminals.to_public(rt, launched.record), agent=member.name,
                        agents=list(launched.team.members), welcome_message=member.welcome_message,
                        commands=member.commands, warnings=launched.team.warnings)


class TeamMember(BaseModel):
    provider: str
    model: str | None
    description: str
    delegates: list[str]
    commands: dict[str, str]
    structured_output: str | None


class SessionTeam(BaseModel):
    source: str
    max_delegation_depth: int
    members: dict[str, TeamMember]


@router.get("/sessions/{name}")
async def session_team(rt: RuntimeDep, name: SessionName) -> SessionTeam:
    """The team a session runs (404 when it was not launched from a team file)."""
    team = policy.team_of(rt, name)
    if team is None:
        raise NotFound(f"session {name} does not run a team (it was not started with: cao launch team.yaml)")
    return SessionTeam(source=team.source, max_delegation_depth=team.max_depth, members={
        m.name: TeamMember(provider=m.provider, model=m.model, description=m.description, delegates=m.delegates,
                           commands=m.commands,
                           structured_output=m.structured_output.name if m.structured_output else None)
        for m in team.members.values()})
