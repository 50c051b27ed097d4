"""A team member as cao runs it: its agent profile, its system prompt, its named commands."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from cao import secret_guard
from cao.errors import InvalidInput
from cao.profiles import AgentProfile, McpServerConfig
from cao.teams import envtext
from cao.teams.models import Member, Team


def profile(team: Team, member: Member) -> AgentProfile:
    """The member as an agent profile: its instruction, prompt files, team and output contract."""
    return AgentProfile(
        name=member.name, description=member.description, provider=member.provider, model=member.model,
        base_url=member.base_url,
        allowedTools=member.allowed_tools,
        mcpServers={name: McpServerConfig(**server) for name, server in member.mcp_servers.items()} or None,
        hooks=tool_hooks(member), permissions=member.permissions, skills=member.skills,
        system_prompt=system_prompt(team, member))


def tool_hooks(member: Member) -> dict[str, list[dict[str, Any]]] | None:
    """The member's tool hooks for its CLI; with ``redact_secrets``, cao's secret guard runs first (the CLIs
    with a hook system, TOOL_HOOK_PROVIDERS, install them; the others have no such place)."""
    hooks = dict(member.tool_hooks)
    if member.redact_secrets:
        hooks["pre_tool_use"] = [secret_guard.tool_hook(), *hooks.get("pre_tool_use", [])]
    return hooks or None


def with_profile_fields(base: AgentProfile, member: Member) -> AgentProfile:
    """An installed profile with team fields in its frontmatter: the tools and MCP servers its ``toolsets``
    give, and the secret guard for ``redact_secrets`` (never the profile's own hooks: see profile_spec)."""
    update: dict[str, Any] = {"hooks": tool_hooks(member)}
    if member.allowed_tools is not None:
        servers = {name: McpServerConfig(**server) for name, server in member.mcp_servers.items()}
        update.update(allowedTools=member.allowed_tools, mcpServers=servers or None)
    return base.model_copy(update=update)


def system_prompt(team: Team | None, member: Member) -> str:
    parts = [member.instruction.strip()]
    parts += [text.strip() for _, text in member.prompt_files if text.strip()]
    return "\n\n".join([*parts, *team_parts(team, member)])


def team_parts(team: Team | None, member: Member) -> list[str]:
    """What the member is told about its team and its output format (after its own instruction)."""
    parts = []
    if member.delegates:
        lines = [f"- {name}: {_description(team, name)}" for name in member.delegates]
        parts.append("## Your team\nYou may delegate to these agents, by name, with cao's handoff tool (wait for "
                     "the reply) or assign tool (the result comes back as a message); agent_profile is the name:\n"
                     + "\n".join(lines))
    if member.structured_output is not None:
        parts.append(output_contract(member))
    return parts


def _description(team: Team | None, name: str) -> str:
    if team is None or name not in team.members:
        return "(an installed agent profile)"
    return team.members[name].description or "(no description)"


def output_contract(member: Member) -> str:
    so = member.structured_output
    assert so is not None
    about = f" ({so.description})" if so.description else ""
    return (f"## Output format: {so.name}{about}\nWhen a task is handed off to you, your final reply must be "
            "exactly one JSON object, and nothing else (no prose, no code fence), that matches this JSON "
            f"Schema:\n{json.dumps(so.schema, ensure_ascii=False)}")


def expand_command(member: Member, text: str, env: Mapping[str, str] | None = None) -> str:
    """``/name`` → the member's named prompt with its ``${env.X}`` placeholders filled in (teams/envtext.py);
    any other text is returned as it is."""
    return expand(member.name, member.commands, text, env)


def expand(agent: str, commands: Mapping[str, str], text: str, env: Mapping[str, str] | None = None) -> str:
    if not text.startswith("/") or " " in text.strip():
        return text
    name = text.strip()[1:]
    if name not in commands:
        known = ", ".join(f"/{c}" for c in commands) or "none"
        raise InvalidInput(f"{agent} has no command /{name}; its commands: {known} "
                           "(list them with: cao team commands FILE)")
    return envtext.expand(commands[name], os.environ if env is None else env)
