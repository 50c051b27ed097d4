"""The agent's ``load_skill(name)`` tool: the full text of a skill its profile allows (docs/skills.md).
Registered in ``cao.mcp.tools.TOOL_SETS`` on import."""

from __future__ import annotations

from typing import Any

from cao.errors import NotFound, PermissionDenied
from cao.mcp.protocol import CallContext, Tool
from cao.mcp.tools import TOOL_SETS, guard
from cao.profiles import load_profile
from cao.services.runtime import Runtime
from cao.services.skills.store import allowed, check_name, get_skill
from cao.services.terminals import get_record

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["name"],
          "properties": {"name": {"type": "string", "maxLength": 64,
                                  "description": "a skill's name, from 'Available skills' in your instructions"}}}


def skill_text(rt: Runtime, terminal_id: str, name: str) -> str:
    check_name(name)
    record = get_record(rt, terminal_id)
    profile = load_profile(record.agent_profile, rt.settings.home)
    if not allowed(profile.skills, name):
        raise PermissionDenied(f"skill {name!r} is not available to profile {profile.name!r} (its skills: "
                               f"{', '.join(profile.skills or []) or 'none'}); use a skill from your catalog")
    try:
        skill = get_skill(rt.settings.home, name)
    except NotFound as exc:
        raise NotFound(f"{exc}; use a skill from your catalog") from None
    text = skill.content.rstrip("\n")
    if skill.files:
        text += (f"\n\n(This skill's folder is {skill.path}; it also holds: {', '.join(skill.files)}. "
                 "Read them from there when the skill refers to them.)")
    return text


def skill_tools(rt: Runtime, terminal_id: str) -> list[Tool]:
    async def load_skill(args: dict[str, Any], _ctx: CallContext) -> str:
        return skill_text(rt, terminal_id, args["name"])

    return [Tool("load_skill", "Load the full instructions of a skill listed under 'Available skills' in your "
                 "system prompt. Call it before a task the skill's description matches.", SCHEMA,
                 guard(load_skill))]


TOOL_SETS.append(skill_tools)
