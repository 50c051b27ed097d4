"""The team at run time: which team a session runs, its members' profiles, and who may delegate to whom.

A session launched from a team file keeps the loaded team in its store row (``sessions.team_json``,
migration m005), so the rules hold across server restarts. While the first terminal starts, before
that row exists, the team is held here as pending.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from cao import secrets
from cao.errors import CaoError, PermissionDenied
from cao.models import TerminalRecord
from cao.profiles import AgentProfile, load_profile
from cao.teams import members, profile_spec
from cao.teams.models import DEFAULT_MAX_DEPTH, Member, Team

if TYPE_CHECKING:
    from cao.services.runtime import Runtime


log = logging.getLogger(__name__)


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


def member_of(rt: Runtime, session_name: str, name: str | None) -> tuple[Team | None, Member] | None:
    """(team, member) for a member of the session's team; (None, member) for an installed profile whose
    frontmatter has team fields (profile_spec.py); else None."""
    team = team_of(rt, session_name)
    if team is not None and name in team.members:
        return team, team.members[name]
    if not name:
        return None
    try:
        member = profile_spec.profile_member(name, rt.settings.home)
    except CaoError as exc:  # the profile itself still loads; its team fields are named as broken
        log.warning("profile %s: team fields ignored: %s", name, exc)
        return None
    return (None, member) if member is not None else None


def member_profile(rt: Runtime, session_name: str, name: str) -> AgentProfile | None:
    """A team member's profile, when ``session_name`` runs a team with a member ``name``; an installed
    profile whose frontmatter has ``toolsets`` or ``redact_secrets`` (members.with_profile_fields); else None."""
    team = team_of(rt, session_name)
    if team is not None and name in team.members:
        return members.profile(team, team.members[name])
    try:
        member = profile_spec.profile_member(name, rt.settings.home)
    except CaoError:
        if profile_spec.declares(name, rt.settings.home, "toolsets"):
            raise  # never start with more tools than the broken toolsets meant to give
        return None
    if member is None or (member.allowed_tools is None and members.tool_hooks(member) is None):
        return None
    return members.with_profile_fields(load_profile(name, rt.settings.home), member)


def redact(rt: Runtime, session_name: str, text: str, *agents: str | None) -> str:
    """``text`` with secrets masked when any of ``agents`` (sender, receiver) is a member with redact_secrets."""
    for agent in agents:
        found = member_of(rt, session_name, agent)
        if found is not None and found[1].redact_secrets:
            return secrets.mask(text)
    return text


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
    any delegation deeper than the team's ``max_delegation_depth`` (without a team: DEFAULT_MAX_DEPTH)."""
    team = team_of(rt, caller.session_name)
    if caller.agent_profile and (team is None or caller.agent_profile not in team.members):
        profile_spec.profile_member(caller.agent_profile, rt.settings.home)  # broken team fields: refuse (raises)
    found = member_of(rt, caller.session_name, caller.agent_profile)
    if found is not None and (found[0] is not None or found[1].delegates) and target not in found[1].delegates:
        allowed = ", ".join(found[1].delegates) or "nobody (it has no sub_agents or handoffs)"
        where = f"the team file {team.source}" if found[0] is not None and team else "its profile"
        raise PermissionDenied(f"{caller.agent_profile} may not {verb} to {target!r}: {where} lets it "
                               f"delegate to {allowed}")
    limit = team.max_depth if team is not None else DEFAULT_MAX_DEPTH
    level = depth(rt, caller.id) + 1
    if level > limit:
        chain = _chain(rt, caller.id)
        allows = (f"the team allows {limit} (cao: max_delegation_depth in the team file)" if team is not None
                  else f"a session without a team file allows {limit} (a team file sets its own limit)")
        raise PermissionDenied(f"delegation depth limit reached: {' → '.join([*chain, target])} would be "
                               f"{level} levels deep, and {allows}; finish the task at this level")


def _chain(rt: Runtime, terminal_id: str) -> list[str]:
    names = []
    record = rt.registry.terminals.get(terminal_id)
    while record is not None and len(names) < 64:
        names.append(record.agent_profile or record.id)
        record = rt.registry.terminals.get(record.caller_id) if record.caller_id else None
    return names[::-1]
