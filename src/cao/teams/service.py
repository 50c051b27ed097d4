"""Launch a team: load its file, start the chosen member (``root`` by default) as the session's conductor.

Importing this module wires the team into the server's seams: the ``add_date``/``add_environment_info``
prompt part and the ``handoff_<agent>`` tools for structured output.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from cao import validation
from cao.errors import InvalidInput
from cao.mcp import tools as mcp_tools
from cao.models import TerminalRecord
from cao.services import terminals
from cao.services.runtime import Runtime
from cao.teams import context, policy
from cao.teams import tools as team_tools
from cao.teams.loader import load_team
from cao.teams.models import Member, Team

context.register()
if team_tools.tool_set not in mcp_tools.TOOL_SETS:
    mcp_tools.TOOL_SETS.append(team_tools.tool_set)


@dataclass
class Launched:
    record: TerminalRecord
    team: Team
    member: Member


async def launch(rt: Runtime, *, file: str, agent: str | None = None, session_name: str | None = None,
                 working_directory: str | None = None, env: dict[str, str] | None = None, yolo: bool = False,
                 provider: str | None = None, model: str | None = None,
                 template_env: dict[str, str] | None = None) -> Launched:
    team = await asyncio.to_thread(load_team, file, rt.settings.home, template_env)
    member = team.pick(agent)
    session = validation.session_name(session_name or secrets.token_hex(4))
    held = policy.pending(rt)
    if session in held:
        raise InvalidInput(f"session {session} is already being created; pick another session name")
    held[session] = team
    try:
        record = await terminals.create_terminal(
            rt, session_name=session, new_session=True, agent_profile=member.name,
            provider=provider or member.provider, working_directory=working_directory, env=env,
            model=model or member.model, yolo=yolo)
    finally:
        held.pop(session, None)
    return Launched(record, team, member)
