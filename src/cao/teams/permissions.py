"""cagent's ``permissions`` (``allow``/``deny`` lists of tool patterns) as cao's rules.

A pattern is a tool name or a glob over tool names (cagent's built-in names such as ``shell`` and
``read_file``, or cao's: ``execute_bash``, ``fs_read``…), optionally with ``:cmd=COMMAND`` for the shell:
``COMMAND`` exactly, or, ending in ``*``, that command and anything after it (``git status*``). The result
is ``{"allow": [rule, …], "deny": [rule, …]}`` with a rule ``{"tool": <cao tool>, "command": str | None,
"prefix": bool}``; providers with their own allow/deny system install it (``PROVIDERS``): a deny holds in
yolo mode too, and an allow never brings back a tool the toolsets withheld. See docs/teams.md#permissions.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from cao.profiles import TOOLS
from cao.teams import yamlsrc
from cao.teams.checks import Checker

# cagent's built-in tool names → cao's tool vocabulary (profiles.TOOLS)
CAGENT_TOOLS = {
    "shell": "execute_bash", "read_file": "fs_read", "read_multiple_files": "fs_read", "write_file": "fs_write",
    "edit_file": "fs_write", "list_directory": "fs_list", "directory_tree": "fs_list", "search_files": "fs_list",
    "fetch": "web_fetch",
}
CAO_TOOLS = tuple(tool for tool in TOOLS if tool.isidentifier())  # the concrete ones: not *, fs_* or @builtin
NAMES = {**CAGENT_TOOLS, **{tool: tool for tool in CAO_TOOLS}}
# those whose CLI has an allow/deny list cao writes
PROVIDERS = ("claude_code", "codex", "gemini_cli", "qwen_code", "opencode", "copilot_cli")
# Those whose shell rules cannot match a command exactly (a rule is the command with any arguments after it):
# an exact allow would allow more than written, so it is not applied there.
PREFIX_ONLY = ("qwen_code", "copilot_cli")
LISTS = ("allow", "deny")
PATTERN = re.compile(r"^(?P<tools>[A-Za-z0-9_*?-]+)(?::cmd=(?P<command>.+))?$")
# A command with these is refused: they change meaning inside the CLIs' own rule syntax (JSON, parentheses).
UNSAFE_COMMAND = re.compile(r'["\\()\n]')


def section(check: Checker, path: yamlsrc.Path, raw: Any, provider: str | None) -> dict[str, list[dict]] | None:
    """The member's rules, or None when it has none (or they cannot apply to its provider)."""
    if not isinstance(raw, dict):
        return None  # a wrong type is reported with the agent's fields
    rules: dict[str, list[dict]] = {}
    for key, patterns in raw.items():
        if key not in LISTS:
            check.unknown(path, key, LISTS, "permissions")
            continue
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            check.error((*path, key), 'must be a list of tool patterns (e.g. - shell:cmd=git status*)')
            continue
        for index, pattern in enumerate(patterns):
            found = _rules(check, (*path, key, index), pattern)
            if key == "allow" and provider in PREFIX_ONLY and any(r["command"] and not r["prefix"] for r in found):
                check.warn((*path, key, index), f"not applied: {provider} cannot allow a command exactly (its rule "
                                                f"would allow any arguments after it too); write {pattern.strip()}* "
                                                "to allow it with any arguments")
                found = []
            rules.setdefault(key, []).extend(found)
    if rules and provider is not None and provider not in PROVIDERS:
        check.warn(path, f"accepted but not applied: {provider} has no allow/deny list cao can write (cao does for "
                         f"{', '.join(PROVIDERS)}); restrict its tools with toolsets")
        return None
    return rules or None


def _rules(check: Checker, path: yamlsrc.Path, pattern: str) -> list[dict]:
    match = PATTERN.match(pattern.strip())
    if match is None:
        check.error(path, f"{pattern!r} is not a tool pattern: write a tool name or glob (shell, read_*, *), "
                          "optionally with :cmd=COMMAND for the shell")
        return []
    tools = sorted({NAMES[name] for name in fnmatch.filter(NAMES, match["tools"])})
    if not tools:
        check.error(path, f"{match['tools']!r} names no tool cao knows (valid: {', '.join(NAMES)}, or a glob)")
        return []
    command = match["command"]
    if command is None:
        return [{"tool": tool, "command": None, "prefix": False} for tool in tools]
    if tools != ["execute_bash"]:
        check.error(path, f"{pattern!r}: only the shell tool takes :cmd= (e.g. shell:cmd=git status*)")
        return []
    prefix = command.endswith("*")
    command = command.rstrip("*").strip()
    if not command or UNSAFE_COMMAND.search(command) or any(c in command for c in "*?["):
        check.error(path, f"{pattern!r}: :cmd= takes a command, or a command and a final * for anything after it "
                          '(no other wildcards, quotes, backslashes or parentheses)')
        return []
    return [{"tool": "execute_bash", "command": command, "prefix": prefix}]
