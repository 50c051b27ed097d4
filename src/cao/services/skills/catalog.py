"""How an agent gets the skills its profile allows.

* A CLI with its own skills mechanism (``Provider.native_skills``: Claude Code, Gemini CLI, OpenCode) gets the
  folders copied into a per-terminal skills folder it reads (``native_folders`` → ``LaunchContext.skills``).
* Every other CLI gets a catalog (name and description of each skill) in its system prompt, and the
  full text on demand from the MCP tool ``load_skill`` (cao/mcp/skill_tools.py). ``contribute`` is
  registered in ``prompt_parts.CONTRIBUTORS`` on import.
"""

from __future__ import annotations

from pathlib import Path

from cao.profiles import AgentProfile, resolve_allowed_tools
from cao.providers import get_provider
from cao.providers.base import CAO_SERVER, Provider
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


def native_folders(home: Path, profile: AgentProfile, provider: Provider) -> tuple[Path, ...]:
    """The allowed skills' folders, for a provider whose CLI loads skills itself; () for the others."""
    return tuple(s.path for s in available(home, profile)) if provider.native_skills else ()


def contribute(starting: prompt_parts.Starting) -> str | None:
    if get_provider(starting.provider).native_skills:
        return None  # its CLI lists and loads them itself (native_folders)
    if not has_cao_tools(starting.profile):
        return None  # it could not call load_skill
    return render(available(starting.rt.settings.home, starting.profile))


prompt_parts.CONTRIBUTORS.append(contribute)
