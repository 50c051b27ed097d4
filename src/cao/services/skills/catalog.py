"""What an agent is told about skills: a catalog (name and description of each skill its profile
allows) in its system prompt; the full text comes on demand from the MCP tool ``load_skill``
(cao/mcp/skill_tools.py). Registered in ``prompt_parts.CONTRIBUTORS`` on import."""

from __future__ import annotations

from pathlib import Path

from cao.profiles import AgentProfile, resolve_allowed_tools
from cao.providers.base import CAO_SERVER
from cao.services import prompt_parts
from cao.services.skills.store import Skill, allowed, list_skills

HEADING = "## Available skills"
MAX_ENTRIES = 100
MAX_CHARS = 24_000


def available(home: Path, profile: AgentProfile | None) -> list[Skill]:
    """The valid skills in the store that ``profile``'s ``skills:`` patterns allow."""
    patterns = profile.skills if profile is not None else None
    return [s for s in list_skills(home) if s.valid and allowed(patterns, s.name)]


def has_cao_tools(profile: AgentProfile) -> bool:
    tools = resolve_allowed_tools(profile)
    return "*" in tools or "@cao-mcp-server" in tools or f"@{CAO_SERVER}" in tools


def render(skills: list[Skill]) -> str | None:
    if not skills:
        return None
    lines = [HEADING, "",
             "Skills are instructions cao keeps for tasks you may meet. When a task matches a skill below, "
             f"load its full text with the `load_skill` tool of the `{CAO_SERVER}` MCP server (not your CLI's "
             "own skill command) before you start, and follow it. Load only the skills the task needs.", ""]
    size = sum(len(line) for line in lines)
    for shown, skill in enumerate(skills):
        line = f"- **{skill.name}**: {skill.description}"
        if shown == MAX_ENTRIES or size + len(line) > MAX_CHARS:
            lines.append(f"- … and {len(skills) - shown} more; load_skill takes any of their names too")
            break
        lines.append(line)
        size += len(line)
    return "\n".join(lines)


def contribute(starting: prompt_parts.Starting) -> str | None:
    if not has_cao_tools(starting.profile):
        return None  # it could not call load_skill
    return render(available(starting.rt.settings.home, starting.profile))


prompt_parts.CONTRIBUTORS.append(contribute)
