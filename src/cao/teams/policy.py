"""The team at run time: which team a session runs, its members' profiles, and who may delegate to whom.

A session launched from a team file keeps the loaded team in its store row (``sessions.team_json``,
migration m005), so the rules hold across server restarts. While the first terminal starts, before
that row exists, the team is held here as pending.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from cao.errors import PermissionDenied
from cao.models import TerminalRecord
from cao.profiles import AgentProfile
from cao.teams import members, secrets
from cao.teams.models import Member, Team

if TYPE_CHECKING:
    from cao.services.runtime import Runtime



def pending(rt: Runtime) -> dict[str, Team]:
    """Teams whose session is being created (session name → team), kept on the runtime."""
    return vars(rt).setdefault("team_pending", {})


@functools.lru_cache(maxsize=64)
def _parse(team_json: str) -> Team:
    return Team.from_json(team_json)


def team_of(rt: Runtime, session_name: str) -> Team | None:
    held = pending(rt).get(session_name)
    if held is not None:
        return held
    record = rt.registry.sessions.get(session_name)
    if record is None or not record.team_json:
        return None
    return _parse(record.team_json)


def member_of(rt: Runtime, session_name: str, name: str | None) -> tuple[Team, Member] | None:
    team = team_of(rt, session_name)
    if team is None or name not in team.members:
        return None
    return team, team.members[name]


def member_profile(rt: Runtime, session_name: str, name: str) -> AgentProfile | None:
    """A team member's profile, when ``session_name`` runs a team with a member ``name``."""
    found = member_of(rt, session_name, name)
    return members.profile(*found) if found else None


def redact(rt: Runtime, session_name: str, text: str, *agents: str | None) -> str:
    """``text`` with secrets masked when any of ``agents`` (sender, receiver) is a member with redact_secrets."""
    team = team_of(rt, session_name)
    if team is None or not any(team.members[a].redact_secrets for a in agents if a in team.members):
        return text
    return secrets.mask(text)


def depth(rt: Runtime, terminal_id: str) -> int:
    """How many delegations lead to this terminal (0: started by a person)."""
    seen: set[str] = set()
    record = rt.registry.terminals.get(terminal_id)
    count = 0
    while record is not None and record.caller_id and record.caller_id not in seen:
        seen.add(record.caller_id)
        count += 1
        record = rt.registry.terminals.get(record.caller_id)
    return count


def check_delegation(rt: Runtime, caller: TerminalRecord, target: str, verb: str) -> None:
    """Refuse a handoff/assign from a team member to anyone outside its sub_agents/handoffs, and
    any delegation deeper than the team's ``max_delegation_depth``."""
    team = team_of(rt, caller.session_name)
    if team is None:
        return
    member = team.members.get(caller.agent_profile or "")
    if member is not None and target not in member.delegates:
        allowed = ", ".join(member.delegates) or "nobody (it has no sub_agents or handoffs)"
        raise PermissionDenied(f"{caller.agent_profile} may not {verb} to {target!r}: the team file "
                               f"{team.source} lets it delegate to {allowed}")
    level = depth(rt, caller.id) + 1
    if level > team.max_depth:
        chain = _chain(rt, caller.id)
        raise PermissionDenied(f"delegation depth limit reached: {' → '.join([*chain, target])} would be "
                               f"{level} levels deep, and the team allows {team.max_depth} "
                               "(cao: max_delegation_depth in the team file); finish the task at this level")


def _chain(rt: Runtime, terminal_id: str) -> list[str]:
    names = []
    record = rt.registry.terminals.get(terminal_id)
    while record is not None and len(names) < 64:
        names.append(record.agent_profile or record.id)
        record = rt.registry.terminals.get(record.caller_id) if record.caller_id else None
    return names[::-1]
