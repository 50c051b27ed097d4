"""The team fields in an installed Markdown profile's frontmatter, so a team can mix files and profiles.

A profile may carry ``sub_agents``/``handoffs`` (whom it may delegate to), ``structured_output``,
``add_date``, ``add_environment_info``, ``add_prompt_files`` (files next to it), ``toolsets``,
``commands``, ``welcome_message``, ``redact_secrets``, ``fallback`` and ``max_iterations``, as a team
file's agent does (not ``hooks`` or ``permissions``: see PROFILE_FIELDS); its body is the instruction.
Read once per file version (path and modification time).
"""

from __future__ import annotations

import functools
from pathlib import Path

from cao.errors import CaoError, InvalidProfile, InvalidTeam
from cao.profile_files import find, split
from cao.teams import fields as F
from cao.teams import sections, yamlsrc
from cao.teams.checks import Checker
from cao.teams.loader import command_names, fallback_section, prompt_files
from cao.teams.models import Member

# Not hooks: they are commands, and a profile may have been installed from a URL (they come from team files).
PROFILE_FIELDS = ("sub_agents", "handoffs", "structured_output", "add_date", "add_environment_info",
                  "add_prompt_files", "toolsets", "commands", "welcome_message", "redact_secrets", "fallback",
                  "max_iterations")


def profile_member(name: str, home: Path) -> Member | None:
    """The profile ``name`` as a team member, when its frontmatter has any team field; else None."""
    path = find(name, home)
    if path is None:
        return None
    try:
        return _read(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


def declares(name: str, home: Path, key: str) -> bool:
    """Whether the profile ``name``'s frontmatter sets ``key`` (even to something invalid)."""
    path = find(name, home)
    try:
        return path is not None and key in split(path.read_text(encoding="utf-8"), str(path))[0]
    except (CaoError, OSError, UnicodeDecodeError):
        return False


@functools.lru_cache(maxsize=256)
def _read(path: str, _mtime_ns: int) -> Member | None:
    text = Path(path).read_text(encoding="utf-8")
    data, _body = split(text, path)
    if not any(key in data for key in PROFILE_FIELDS):
        return None
    return parse(text, path)


def parse(text: str, source: str) -> Member:
    """Check a profile's team fields (errors name the line) and build its member; InvalidProfile if wrong."""
    return checked(text, source)[0]


def checked(text: str, source: str) -> tuple[Member, list[str]]:
    """``parse``, with the warnings (fields accepted but ignored)."""
    data, body = split(text, source)
    start = text.removeprefix("\ufeff").index("\n") + 1  # the frontmatter starts on line 2
    try:
        _, lines = yamlsrc.load(text.removeprefix("\ufeff")[start:].split("\n---", 1)[0], source)
    except InvalidTeam:
        lines = {}
    check = Checker(source, {path: line + 1 for path, line in lines.items()})
    table = {key: F.AGENT_FIELDS[key] for key in PROFILE_FIELDS}
    known = check.fields({k: v for k, v in data.items() if k in PROFILE_FIELDS}, (), table, "profile")
    if data.get("hooks"):
        check.warn(("hooks",), "ignored in a profile: hooks run commands, so cao takes them only from a team file "
                               "you launch (a profile may come from a URL)")
    if data.get("permissions"):
        check.warn(("permissions",), "ignored in a profile: an allow runs tools without asking, so cao takes "
                                     "permissions only from a team file you launch (a profile may come from a URL)")
    servers, tools, instructions = sections.toolsets(check, ("toolsets",), known.get("toolsets"))
    if "toolsets" in known and (data.get("allowedTools") is not None or data.get("mcpServers")):
        check.error(("toolsets",), "a profile gives its tools either as toolsets or as allowedTools/mcpServers; "
                                   "keep one of the two")
    files = prompt_files(check, ("add_prompt_files",), known.get("add_prompt_files", []), Path(source).parent,
                         inside=True)
    member = Member(
        name=str(data.get("name") or Path(source).stem), description=str(data.get("description") or ""),
        instruction=body, provider=str(data.get("provider") or ""), model=data.get("model"),
        sub_agents=known.get("sub_agents", []), handoffs=known.get("handoffs", []),
        add_date=known.get("add_date", False), add_environment_info=known.get("add_environment_info", False),
        prompt_files=files + [(f"toolset {i}", text) for i, text in instructions],
        welcome_message=known.get("welcome_message"),
        commands=command_names(check, ("commands",), known.get("commands", {})),
        mcp_servers=servers, allowed_tools=tools,
        structured_output=sections.structured(check, ("structured_output",), known.get("structured_output")),
        redact_secrets=known.get("redact_secrets", False), max_iterations=max(known.get("max_iterations", 0), 0),
        fallback=fallback_section(check, ("fallback",), data.get("fallback"), {}))
    if check.errors:
        raise InvalidProfile("\n".join(check.errors))
    return member, check.warnings

