"""Agent profiles: Markdown files with YAML frontmatter; the body is the system prompt.

Lookup order for a name: ``<CAO_HOME>/agent-store/<name>.md``, then the built-in profiles
shipped with cao. Tool restrictions are resolved here, in cao's own vocabulary; providers
translate the resolved list into their native flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from cao import validation
from cao.errors import InvalidProfile, ProfileNotFound
from cao.profile_files import builtin_profiles_dir, find, local_store_dir, split

NAME = validation.NAME
SERVER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
MAX_SKILL_PATTERN = 128
TOOLS = ("*", "@builtin", "execute_bash", "fs_read", "fs_write", "fs_list", "fs_*", "web_fetch")
ROLE_DEFAULTS: dict[str, tuple[str, ...]] = {
    "supervisor": ("@cao-mcp-server", "fs_read", "fs_list"),
    "reviewer": ("@builtin", "fs_read", "fs_list", "@cao-mcp-server"),
    "developer": ("@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"),
}

# What each known field must be, in words, for one-line error messages.
_EXPECTED = {
    "name": "a string", "description": "a string", "provider": "a string", "model": "a string",
    "role": "a string", "allowedTools": "a list of strings", "skills": "a list of strings",
    "prompt": "a string", "system_prompt": "a string",
    "mcpServers": "a mapping of server name to {command, args, env}",
}
_EXPECTED_SERVER = {
    "type": "a string", "command": "a string", "args": "a list of strings",
    "env": "a mapping of strings to strings", "timeout": "an integer",
}


class McpServerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str | None = None
    command: str
    args: list[str] = []
    env: dict[str, str] = {}
    timeout: int | None = None


class AgentProfile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    description: str = ""
    provider: str | None = None
    model: str | None = None
    role: str | None = None
    allowedTools: list[str] | None = None  # the file format's spelling
    mcpServers: dict[str, McpServerConfig] | None = None
    skills: list[str] | None = None  # fnmatch patterns of the skills the agent gets; None: all, []: none
    # A team member's tool hooks in cagent's shape (pre_tool_use/post_tool_use → [{command, args, matcher,
    # timeout, env}]), set by cao/teams, never read from a profile file; providers with a hook system install
    # them (Claude Code). See docs/teams.md#hooks.
    hooks: dict[str, list[dict[str, Any]]] | None = None
    # A team member's permissions ({"allow": [rule], "deny": [rule]}, cao/teams/permissions.py), set by
    # cao/teams like hooks, never read from a profile file; Claude Code and Gemini CLI install them.
    permissions: dict[str, list[dict[str, Any]]] | None = None
    # A team member's model endpoint (a named model's base_url), set by cao/teams like hooks, never read from a
    # profile file: one from a URL could send the CLI's key elsewhere. Provider.endpoint_url applies it.
    base_url: str | None = None
    prompt: str | None = None
    system_prompt: str = ""


def _field_error(err: dict[str, Any]) -> str:
    loc = [str(part) for part in err["loc"]]
    top = loc[0]
    if top == "mcpServers" and len(loc) >= 3 and loc[2] in _EXPECTED_SERVER:
        path = ".".join(loc[:3])
        if err["type"] == "missing":
            return f"field '{path}' is required"
        return f"field '{path}' must be {_EXPECTED_SERVER[loc[2]]}"
    if top == "mcpServers" and len(loc) == 2:
        return f"field 'mcpServers.{loc[1]}' must be a mapping with at least 'command'"
    if err["type"] == "missing":
        return f"field '{top}' is required"
    return f"field '{top}' must be {_EXPECTED.get(top, 'valid: ' + err['msg'])}"


def _check_semantics(profile: AgentProfile, source: str) -> None:
    if not NAME.fullmatch(profile.name):
        raise InvalidProfile(f"{source}: field 'name' {profile.name!r} is not a valid profile name "
                             "(use 1-64 letters, digits, '_' or '-', not starting with '-')")
    if profile.role is not None and profile.role not in ROLE_DEFAULTS:
        raise InvalidProfile(f"{source}: field 'role' {profile.role!r} is not a known role "
                             f"(valid: {', '.join(ROLE_DEFAULTS)})")
    for tool in profile.allowedTools or []:
        if tool not in TOOLS and not (tool.startswith("@") and SERVER_NAME.fullmatch(tool[1:])):
            raise InvalidProfile(f"{source}: field 'allowedTools' has unknown tool {tool!r} "
                                 f"(valid: {', '.join(TOOLS)}, @<mcp-server-name>)")
    for pattern in profile.skills or []:
        if not pattern.strip() or len(pattern) > MAX_SKILL_PATTERN:
            raise InvalidProfile(f"{source}: field 'skills' has pattern {validation.shown(pattern)}: give a skill "
                                 f"name or an fnmatch pattern such as 'cao-*' (1-{MAX_SKILL_PATTERN} characters)")
    for server in profile.mcpServers or {}:
        if not SERVER_NAME.fullmatch(server):
            raise InvalidProfile(f"{source}: field 'mcpServers' has invalid server name {server!r} "
                                 "(use 1-64 letters, digits, '_', '-' or '.')")


def parse_profile(text: str, *, source: str, default_name: str | None = None) -> AgentProfile:
    """Parse a profile file's text. Errors are one line and name ``source`` and the field."""
    data, body = split(text, source)
    data = {str(key): value for key, value in data.items() if value is not None}
    data.pop("system_prompt", None)  # the body is the system prompt
    # Hooks are commands and permissions' allow runs tools unasked: they come only from a team file the owner
    # launches, never from a profile file (which may have been installed from a URL). Team members' profiles
    # are built with them (cao/teams).
    data.pop("hooks", None)
    data.pop("permissions", None)
    data.pop("base_url", None)
    if "name" not in data:
        if default_name is None:
            raise InvalidProfile(f"{source}: field 'name' is required")
        data["name"] = default_name
    try:
        profile = AgentProfile.model_validate({**data, "system_prompt": body})
    except ValidationError as exc:
        raise InvalidProfile(f"{source}: {_field_error(exc.errors()[0])}") from None
    _check_semantics(profile, source)
    return profile


def read_profile_file(path: Path, *, name: str | None = None) -> AgentProfile:
    """Parse a profile file; with ``name``, its frontmatter name must agree with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidProfile(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InvalidProfile(f"{path}: cannot read file: {exc.strerror or exc}") from None
    profile = parse_profile(text, source=str(path), default_name=path.stem)
    if name is not None and profile.name != name:
        raise InvalidProfile(f"{path}: field 'name' is {profile.name!r} but the file is named "
                             f"{path.name}; make them agree")
    return profile


def _candidates(home: Path) -> dict[str, tuple[str, Path]]:
    """name → (source, path); local files shadow built-ins."""
    found: dict[str, tuple[str, Path]] = {}
    for source, directory in (("built-in", builtin_profiles_dir()), ("local", local_store_dir(home))):
        if directory.is_dir():
            for path in directory.glob("*.md"):
                if path.is_file():
                    found[path.stem] = (source, path)
    return found


def load_profile(name: str, home: Path) -> AgentProfile:
    validation.name(name, "agent profile name")
    path = find(name, home)
    if path is not None:
        return read_profile_file(path, name=name)
    names = sorted(n for n in _candidates(home) if NAME.fullmatch(n))
    raise ProfileNotFound(f"unknown agent profile {name!r}; installed profiles: "
                          f"{', '.join(names) or 'none'} (install one with: cao install NAME|FILE|URL)")


@dataclass
class ProfileInfo:
    name: str
    description: str
    source: str  # "local" | "built-in"
    path: Path
    role: str | None = None
    provider: str | None = None
    loadable: bool = True
    error: str | None = None


def list_profiles(home: Path) -> list[ProfileInfo]:
    """Every profile a name can reach, sorted; broken files are listed with their error."""
    out = []
    for name, (source, path) in sorted(_candidates(home).items()):
        if not NAME.fullmatch(name):
            out.append(ProfileInfo(name, "", source, path, loadable=False,
                                   error=f"{path.name}: file name is not a valid profile name"))
            continue
        try:
            p = read_profile_file(path, name=name)
        except InvalidProfile as exc:
            out.append(ProfileInfo(name, "", source, path, loadable=False, error=str(exc)))
            continue
        out.append(ProfileInfo(name, p.description, source, path, p.role, p.provider))
    return out


def resolve_allowed_tools(profile: AgentProfile | None) -> list[str]:
    """Explicit ``allowedTools`` > role defaults > developer defaults; then ``@<server>`` per MCP server."""
    if profile is None:
        return list(ROLE_DEFAULTS["developer"])
    if profile.allowedTools is not None:
        tools = list(dict.fromkeys(profile.allowedTools))
    elif profile.role is not None:
        if profile.role not in ROLE_DEFAULTS:
            raise InvalidProfile(f"profile {profile.name!r}: unknown role {profile.role!r} "
                                 f"(valid: {', '.join(ROLE_DEFAULTS)})")
        tools = list(ROLE_DEFAULTS[profile.role])
    else:
        tools = list(ROLE_DEFAULTS["developer"])
    if "*" in tools:
        return ["*"]
    for server in profile.mcpServers or {}:
        if f"@{server}" not in tools:
            tools.append(f"@{server}")
    return tools
