"""Provider for OpenCode (``opencode``, npm ``opencode-ai``, tested with 1.18.33). See docs/providers/opencode.md.

Nothing of the user's is written: ``~/.config/opencode`` (providers, keys, agents) is read by OpenCode
as usual. Per terminal, cao adds one 0600 file, ``OPENCODE_CONFIG`` (OpenCode's "additional explicit
config", merged over the user's global one): cao's MCP endpoint over streamable HTTP (the only place
the terminal's token is), the profile's MCP servers and the profile prompt as an ``instructions``
file. The agent cao runs, ``cao-<terminal id>``, is defined in ``OPENCODE_CONFIG_CONTENT`` (no secret
in it), which OpenCode merges after the project's own ``opencode.json``, so a project cannot loosen its
permissions: an agent's ``permission`` overrides the top-level one, and OpenCode drops a denied tool
from the tools it offers the model. A team member's permissions go into the same ``permission``, its tool
hooks into a plugin of the terminal (cao/providers/opencode_hooks.py).

OpenCode runs in its minimal interface (``--mini``): it prints the transcript into the terminal
(tmux scrollback holds whole replies) with a footer pinned below; the default interface draws in
the alternate screen, which has no history.

Screen cues (plain rows): footer status row `` BUILD … ctrl+p cmd`` with ``⬝⬝■■ esc interrupt`` while
working; the input row two rows above it (placeholder ``Ask anything...`` before the first task);
task echo ``› task``; answer rows unindented; end of turn ``▣ Cao-1a2b3c4d · Model default · 1.4s``; an API
error is printed before that row and once more after it; ``Aborted`` before it after Esc;
permission box ``△ Permission required`` … ``Allow once   Allow always   Reject``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from cao.providers.base import (
    CAO_SERVER,
    LaunchContext,
    LaunchSpec,
    Provider,
    cao_mcp_http,
    permission_tools,
    profile_mcp_servers,
    ungranted_tools,
)
from cao.providers.opencode_hooks import tool_hooks_plugin
from cao.status import Status

AGENT = "cao"  # the OpenCode agent cao defines and starts is ``cao-<terminal id>`` (agent_name)
STATUS_RE = re.compile(r"ctrl\+p cmd$")  # the footer's status row (idle and busy)
BUSY_RE = re.compile(r"\besc (?:again to )?interrupt\b")
QUESTION_RE = re.compile(r"△ Permission required|Allow once +Allow always +Reject|esc reject")
ECHO_RE = re.compile(r"^› ")
DONE_RE = re.compile(r"^▣ \S.* · \S.* · (?:\d+m ?)?[\d.]+m?s$")  # ▣ Cao-1a2b3c4d · Model default · 1.4s
# The first row of a tool's block: a shell command, and OpenCode's glyphs for its other tools.
TOOL_RE = re.compile(r"^(?:\$ |[→←✱⚙%◇◈#~✓✗] )")  # ⚙ cao_send_message [receiver_id=…]
# An MCP tool's block ends with "cao_send_message completed · 336ms".
TOOL_END_RE = re.compile(r"^\S+ (?:completed|failed|error) · (?:\d+m ?)?[\d.]+m?s$")
ABORTED = "Aborted"
CAO_TOOL_TIMEOUT_MS = 3_900_000  # OpenCode's MCP request timeout (default 5 s); longer than a handoff (3600 s)
# cao's tool vocabulary → OpenCode's permission keys, denied for the agent when not allowed.
NATIVE_TOOLS = {
    "execute_bash": ("bash", "task"),  # task: subagents, which run their own shell
    "fs_read": ("read",),
    "fs_write": ("edit",),  # edit covers write, patch and multiedit
    "fs_list": ("glob", "grep", "list"),
    "web_fetch": ("webfetch", "websearch"),
}
ASKS = ("bash", "edit", "webfetch", "websearch")  # without yolo: OpenCode's default runs these unasked
ENV_REF_RE = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def opencode_pattern(rule: dict[str, Any]) -> str:
    """A team permissions rule's OpenCode pattern: the command exactly, ``git status *`` (OpenCode matches it
    to ``git status`` too) for the command and anything after it, ``*`` for the whole tool."""
    if rule["command"] is None:
        return "*"
    return rule["command"] + (" *" if rule["prefix"] else "")


def _with_rule(current: str | dict[str, str] | None, pattern: str, action: str) -> str | dict[str, str]:
    """A permission key's value with one more rule last: a string (the whole tool) or a map pattern → action."""
    if current == "deny" or (pattern == "*" and action == "deny"):
        return "deny"  # the whole tool: nothing after it could matter, and OpenCode then drops the tool
    patterns = dict(current) if isinstance(current, dict) else ({"*": current} if current else {})
    patterns.pop(pattern, None)  # "*" stays first: an allow of the whole tool replaces the ask in place
    if pattern == "*":
        patterns = {"*": action, **patterns}
    else:
        patterns[pattern] = action
    return patterns["*"] if list(patterns) == ["*"] else patterns


def agent_name(ctx: LaunchContext) -> str:
    """The terminal's own agent name: OpenCode merges a project's ``opencode.json`` first and keeps its key
    order, so a repository naming cao's agent could put its ``"*": "allow"`` after cao's denies."""
    return f"{AGENT}-{ctx.terminal_id}"


def opencode_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".config") / "opencode"


class OpenCodeProvider(Provider):
    name: ClassVar[str] = "opencode"
    binary: ClassVar[str] = "opencode"
    package_hint: ClassVar[str] = "npm install -g opencode-ai"
    exit_command: ClassVar[str] = "/exit"
    interrupt_keys: ClassVar[tuple[str, ...]] = ("Escape", "Escape")  # the first only asks "esc again to interrupt"
    interruptible_cue: ClassVar[re.Pattern[str] | None] = BUSY_RE  # the task's echo comes before the spinner
    bracketed_paste: ClassVar[bool] = True
    busy_cue: ClassVar[re.Pattern[str] | None] = BUSY_RE
    # Skills: the terminal's own folder, listed in the per-terminal config's ``skills.paths`` (docs/skills.md).
    native_skills: ClassVar[bool] = True
    env_passthrough: ClassVar[tuple[str, ...]] = ("OPENCODE_", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                                  "XDG_CACHE_HOME", "XDG_STATE_HOME")
    tested_versions: ClassVar[tuple[str, ...]] = ("1.18.33",)

    def permission(self, ctx: LaunchContext) -> dict[str, Any]:
        """The agent's rules, in order (OpenCode applies the last matching one): yolo or the asks, the team's
        allows, its denies, then the tools the profile withholds (an allow never brings one back)."""
        rules: dict[str, Any] = {"*": "allow"} if ctx.yolo else {}
        rules[f"{CAO_SERVER}_*"] = "allow"  # cao's own tools never ask, whatever the user's rules say
        if not ctx.yolo:
            rules.update(dict.fromkeys(ASKS, "ask"))
        team = (ctx.profile.permissions if ctx.profile is not None else None) or {}
        for key in ("allow", "deny"):
            for rule in team.get(key, ()):
                for tool in permission_tools(rule, key, NATIVE_TOOLS):
                    rules[tool] = _with_rule(rules.get(tool), opencode_pattern(rule), key)
        for key in ungranted_tools(ctx.allowed_tools or None, NATIVE_TOOLS):
            rules.pop(key, None)  # re-inserted last, so that it comes after "*"
            rules[key] = "deny"
        return rules

    def mcp_servers(self, ctx: LaunchContext) -> dict[str, dict[str, Any]]:
        allowed = set(ctx.allowed_tools or ("*",))
        servers: dict[str, dict[str, Any]] = {}
        if allowed & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            http = cao_mcp_http(ctx)  # oauth off: OpenCode would otherwise probe the endpoint for OAuth
            servers[CAO_SERVER] = {"type": "remote", "url": http["url"], "headers": http["headers"],
                                   "oauth": False, "enabled": True, "timeout": CAO_TOOL_TIMEOUT_MS}
        for name, server in profile_mcp_servers(ctx).items():
            entry: dict[str, Any] = {"type": "local", "command": [server.command, *server.args], "enabled": True}
            if server.env:
                entry["environment"] = server.env
            if server.timeout:
                entry["timeout"] = server.timeout
            servers[name] = entry
        return servers

    @staticmethod
    def provider_keys() -> dict[str, str]:
        """The variables the user's global config refers to (``{env:NAME}``, e.g. an API key), from cao's env."""
        names: set[str] = set()
        for file in ("config.json", "opencode.json", "opencode.jsonc"):
            try:
                names |= set(ENV_REF_RE.findall((opencode_config_dir() / file).read_text(encoding="utf-8")))
            except OSError:
                continue
        return {k: os.environ[k] for k in names if os.environ.get(k)}

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        config_path = ctx.runtime_dir / "opencode.json"
        servers = self.mcp_servers(ctx)
        config: dict[str, Any] = {"$schema": "https://opencode.ai/config.json", "autoupdate": False, "mcp": servers}
        files: dict[Path, str] = {}
        prompt = ctx.system_prompt
        if prompt:
            prompt_path = ctx.runtime_dir / "system_prompt.md"
            files[prompt_path] = prompt + "\n"
            config["instructions"] = [str(prompt_path)]
        copies = {}
        if ctx.skills:  # OpenCode's skills.paths: scanned for **/SKILL.md, beside the user's own skill folders
            root = ctx.runtime_dir / "skills"
            copies = {root / folder.name: folder for folder in ctx.skills}
            config["skills"] = {"paths": [str(root)]}
        plugin = tool_hooks_plugin(ctx.profile.hooks) if ctx.profile is not None and ctx.profile.hooks else None
        if plugin:  # the team's tool hooks, run by a plugin of this terminal (cao/providers/opencode_hooks.py)
            plugin_path = ctx.runtime_dir / "cao-tool-hooks.js"
            files[plugin_path] = plugin
            config["plugin"] = [plugin_path.as_uri()]
        files[config_path] = json.dumps(config, indent=2) + "\n"
        agent = {"mode": "primary", "description": "An agent started by cao",
                 "permission": self.permission(ctx)}
        env = {**self.provider_keys(), "OPENCODE_CONFIG": str(config_path),
               "OPENCODE_CONFIG_CONTENT": json.dumps({"agent": {agent_name(ctx): agent}}),
               "OPENCODE_DISABLE_AUTOUPDATE": "1"}
        argv = [self.resolve_binary(), "--mini", "--agent", agent_name(ctx)]
        if ctx.model:
            argv += ["-m", ctx.model]
        return LaunchSpec(argv=argv, env=env, files=files, copies=copies, uses_cao_mcp=CAO_SERVER in servers)

    # --- the screen ---------------------------------------------------------------------------

    @staticmethod
    def _status_row(lines: Sequence[str]) -> int | None:
        return next((i for i in range(len(lines) - 1, -1, -1) if STATUS_RE.search(lines[i])), None)

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        if any(QUESTION_RE.search(line) for line in lines):
            return Status.WAITING_USER_ANSWER  # the box replaces the footer while it is open
        status = self._status_row(lines)
        if status is None:
            return Status.UNKNOWN  # starting: nothing typed now would reach the input
        if BUSY_RE.search(lines[status]):
            return Status.PROCESSING
        history = lines[:max(0, status - 2)]  # above the input row
        done = max((i for i, line in enumerate(history) if DONE_RE.match(line)), default=None)
        echo = max((i for i, line in enumerate(history) if ECHO_RE.match(line)), default=None)
        if echo is not None and (done is None or echo > done):
            # A task taken and not finished: the footer shows no spinner while OpenCode prepares a turn.
            return Status.PROCESSING
        if done is None:
            return Status.IDLE  # no turn yet
        before = [line for line in history[echo + 1 if echo is not None else 0:done] if line]
        after = [line for line in history[done + 1:] if line]
        if before[-1:] == [ABORTED]:
            return Status.IDLE  # interrupted (Esc): no answer
        if after and before[-len(after):] == after:
            return Status.ERROR  # the error's text, printed again under the turn's end row
        return Status.COMPLETED

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        lines = [line.rstrip() for line in lines]
        done = next((i for i in range(len(lines) - 1, -1, -1) if DONE_RE.match(lines[i])), None)
        if done is None:
            return None
        start = next((i for i in range(done - 1, -1, -1) if ECHO_RE.match(lines[i])), -1) + 1
        body = lines[start:done]
        # A tool's block starts after a blank row or another tool's end row (a refused call's), not inside a paragraph.
        tool = max((i for i, line in enumerate(body)
                    if TOOL_RE.match(line) and (i == 0 or not body[i - 1] or TOOL_END_RE.match(body[i - 1]))),
                   default=None)
        if tool is not None:  # the answer follows the last tool's block: header, output, end row
            end = next((i + 1 for i in range(tool + 1, len(body)) if TOOL_END_RE.match(body[i])), tool + 1)
            if end == tool + 1 and body[tool].startswith("$ "):  # a shell command's output has no end row
                while end < len(body) and not body[end]:
                    end += 1
                while end < len(body) and body[end]:
                    end += 1
            body = body[end:]
        while body and not body[0]:
            body.pop(0)
        while body and not body[-1]:
            body.pop()
        if not body or body == [ABORTED]:
            return None
        return "\n".join(body)
