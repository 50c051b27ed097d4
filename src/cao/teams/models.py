"""A loaded team: plain data, stored as JSON with the session it runs in."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_MAX_DEPTH = 5


@dataclass
class StructuredOutput:
    name: str
    schema: dict[str, Any]
    description: str = ""
    strict: bool = False


@dataclass
class Member:
    name: str
    description: str
    instruction: str
    provider: str
    model: str | None = None
    base_url: str | None = None  # the named model's endpoint, for the CLIs that can be pointed at one
    sub_agents: list[str] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)
    add_date: bool = False
    add_environment_info: bool = False
    prompt_files: list[tuple[str, str]] = field(default_factory=list)  # (path, text), read at load
    welcome_message: str | None = None
    commands: dict[str, str] = field(default_factory=dict)
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    allowed_tools: list[str] | None = None  # None: cao's defaults
    structured_output: StructuredOutput | None = None
    max_iterations: int = 0
    redact_secrets: bool = False
    skills: list[str] | None = None  # the profile's skills: patterns; None: every skill, []: none
    # {"models": [[provider, model], ...], "retries": n, "cooldown": seconds}, or None
    fallback: dict[str, Any] | None = None
    # hook event → [{"argv": [...], "timeout": seconds, "env": {...}}] (events cao runs itself)
    hooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # pre_tool_use/post_tool_use for the CLI's own hooks: [{"command", "args", "matcher", "timeout", "env"}]
    tool_hooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # {"allow": [rule], "deny": [rule]} for the CLI's own allow/deny list (teams/permissions.py), or None
    permissions: dict[str, list[dict[str, Any]]] | None = None

    @property
    def delegates(self) -> list[str]:
        """Whom this member may hand work to (``sub_agents`` then ``handoffs``, once each)."""
        return list(dict.fromkeys([*self.sub_agents, *self.handoffs]))


@dataclass
class Team:
    source: str  # the file it was loaded from
    members: dict[str, Member]
    max_depth: int = DEFAULT_MAX_DEPTH
    warnings: list[str] = field(default_factory=list)

    def pick(self, agent: str | None) -> Member:
        """The member ``agent`` (default: ``root``, else the first one)."""
        from cao.errors import InvalidInput

        name = agent or ("root" if "root" in self.members else next(iter(self.members)))
        if name not in self.members:
            raise InvalidInput(f"{self.source} has no agent {name!r}; its agents: {', '.join(self.members)}")
        return self.members[name]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Team:
        data = json.loads(text)
        members = {}
        for name, raw in data["members"].items():
            so = raw.pop("structured_output", None)
            raw["prompt_files"] = [tuple(pair) for pair in raw.get("prompt_files", [])]
            members[name] = Member(**raw, structured_output=StructuredOutput(**so) if so else None)
        return cls(source=data["source"], members=members, max_depth=data["max_depth"],
                   warnings=data.get("warnings", []))
