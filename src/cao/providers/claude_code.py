"""Provider for Claude Code (``claude``), verified against 2.1.197 and 2.1.332 (docs/providers/claude_code.md).

Screen cues, on plain rows (the screens under tests/screens/claude_code/ were recorded from the binary):

* input box: a rule of ``─``, a row starting ``❯`` (the input), another rule, then the footer;
  it stays on screen while Claude works, so the footer decides: ``esc to interrupt`` → processing;
* the user's message is echoed as ``❯ <text>`` at column 0; the turn's rows follow it;
* reply: ``● <text>`` at column 0, continuation rows indented by two spaces; a tool use is a ``●`` row
  followed by ``  ⎿`` rows; end of turn: ``✻ Brewed for 0s`` (random verb, past tense);
* error: ``● API Error: …`` in the turn (retries show ``API error · Retrying…`` with ``esc to interrupt``);
* dialogs (permission box, API key, trust, bypass warning) replace the input box: numbered options
  ``❯ 1. Yes`` and ``Esc to cancel`` / ``Enter to confirm``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from cao.providers.base import (
    CAO_SERVER,
    LaunchContext,
    LaunchSpec,
    Provider,
    StartupDialog,
    cao_mcp_http,
    granted,
    permission_tools,
    profile_mcp_servers,
    tool_hook_groups,
    ungranted_tools,
)
from cao.status import Status

# cao's tool vocabulary → Claude Code's native tools (upstream CAO's mapping, plus the 2.1 names of
# the background-task tools). Whatever is not allowed is passed to --disallowedTools.
NATIVE_TOOLS: dict[str, tuple[str, ...]] = {
    "execute_bash": ("Bash", "BashOutput", "KillShell", "TaskOutput", "TaskStop", "Task", "Agent", "Monitor"),
    "fs_read": ("Read",),
    "fs_write": ("Edit", "Write", "NotebookEdit"),
    "fs_list": ("Glob", "Grep"),
    "web_fetch": ("WebFetch", "WebSearch"),
}
SKILLS_PLUGIN = "cao"  # the plugin holding a terminal's skills: Claude names them cao:<skill>
# Above cao's longest handoff (3600 s), so Claude never gives up first (milliseconds).
TOOL_TIMEOUT_MS = "3900000"


class ClaudeCodeProvider(Provider):
    name: ClassVar[str] = "claude_code"
    binary: ClassVar[str] = "claude"
    package_hint: ClassVar[str] = "npm install -g @anthropic-ai/claude-code"
    tested_versions: ClassVar[tuple[str, ...]] = ("2.1.197", "2.1.332")
    exit_command: ClassVar[str] = "/exit"
    # Enter in the same tmux call as the paste was lost in about half the runs (the text stays in the
    # box); Enter sent 0.1 s or 0.3 s later submitted every time, also right after start (measured).
    enter_delay: ClassVar[float] = 0.3
    env_passthrough: ClassVar[tuple[str, ...]] = ("CLAUDE_CODE_",)
    # cao gives each terminal a plugin of its own (--plugin-dir, for this session only) holding copies of
    # the skills its profile allows; Claude lists them as ``cao:<name>`` (the user's ~/.claude is untouched).
    # (An --add-dir folder's .claude/skills would keep the names, but 2.1.332 asks to trust that folder at
    # every start, and ignores the first key pressed.)
    native_skills: ClassVar[bool] = True
    busy_cue: ClassVar[re.Pattern[str] | None] = re.compile(r"esc to interrupt")
    # Dialogs cao answers while starting (they detect as unknown, so the start waits for them). The
    # working directory was chosen for this agent, so cao trusts it; the bypass warning only appears
    # for yolo, which the user asked for (and is normally skipped by --settings, see build_launch).
    startup_dialogs: ClassVar[tuple[StartupDialog, ...]] = (
        # 2.1.332 drops the numbers and highlights "No, exit": while "Yes" is a plain indented row, move
        # down; press Enter only on "❯ Yes". (Not keyed on the "❯ No, exit" row: 2.1.332 writes a kitty
        # graphics query there, which cao's screen shows as text.)
        StartupDialog(re.compile(r"\n {2,}Yes, I trust this folder"), ("Down",)),
        StartupDialog(re.compile(r"❯ (?:1\. )?Yes, I trust this folder"), ("Enter",)),
        StartupDialog(re.compile(r"2\. Yes, I accept"), ("2",)),
        StartupDialog(re.compile(r"\n {2,}Yes, I accept$", re.M), ("Down",)),
        StartupDialog(re.compile(r"❯ Yes, I accept"), ("Enter",)),
    )

    RULE_RE: ClassVar[re.Pattern[str]] = re.compile(r"^─{8,}$")
    INPUT_RE: ClassVar[re.Pattern[str]] = re.compile(r"^❯(?:[ \u00a0]|$)")
    ECHO_RE: ClassVar[re.Pattern[str]] = re.compile(r"^❯ ")
    REPLY_RE: ClassVar[re.Pattern[str]] = re.compile(r"^● ")
    TOOL_OUT_RE: ClassVar[re.Pattern[str]] = re.compile(r"^\s+⎿")
    BUSY_RE: ClassVar[re.Pattern[str]] = re.compile(r"esc to interrupt")
    DONE_RE: ClassVar[re.Pattern[str]] = re.compile(r"^[✻✶✢✽✳*·] \S+ for \d+[smh]")
    ERROR_RE: ClassVar[re.Pattern[str]] = re.compile(r"^● (?:API Error|Error:)")
    FOOTER_RE: ClassVar[re.Pattern[str]] = re.compile(r"^ {20,}\S")
    # 2.1.197 numbers the options (" ❯ 1. Yes"); 2.1.332 does not ("  ❯ No (recommended)"), but indents them.
    OPTION_RE: ClassVar[re.Pattern[str]] = re.compile(r"^\s*❯ \d+\. |^\s+❯ \S")
    DIALOG_RE: ClassVar[re.Pattern[str]] = re.compile(r"Esc to cancel|Enter to confirm|to navigate")
    MAX_INPUT_ROWS: ClassVar[int] = 12  # rows between the ❯ row and the rule under it

    # --- launch -----------------------------------------------------------------------

    def mcp_config(self, ctx: LaunchContext) -> dict[str, dict[str, object]]:
        """cao's MCP endpoint (as ``cao``, with this terminal's token) plus the profile's own servers.

        ``alwaysLoad`` keeps cao's few tools in every request: with tool search on, Claude otherwise
        hides MCP tools behind ``ToolSearch`` and the agent would not see handoff/assign/send_message.
        """
        servers: dict[str, dict[str, object]] = {CAO_SERVER: {
            "type": "http", **cao_mcp_http(ctx), "timeout": int(TOOL_TIMEOUT_MS), "alwaysLoad": True}}
        for name, server in profile_mcp_servers(ctx).items():
            servers[name] = {"type": "stdio", "command": server.command, "args": list(server.args),
                             "env": dict(server.env)}
        return {"mcpServers": servers}

    def disallowed_tools(self, allowed: Sequence[str] | None, servers: Sequence[str] = ()) -> list[str]:
        """Claude's tools to deny for cao's ``allowed`` list (None or ``*``: nothing is denied)."""
        if allowed is None or "*" in allowed:
            return []
        names = granted(allowed)
        denied = ungranted_tools(allowed, NATIVE_TOOLS)
        if "@cao-mcp-server" not in names and f"@{CAO_SERVER}" not in names:
            denied.append(f"mcp__{CAO_SERVER}")
        denied += [f"mcp__{name}" for name in servers if f"@{name}" not in names]
        return denied

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        argv = [self.resolve_binary()]
        files: dict = {}
        if ctx.system_prompt:
            prompt_path = ctx.runtime_dir / "system_prompt.md"
            files[prompt_path] = ctx.system_prompt
            argv += ["--append-system-prompt-file", str(prompt_path)]
        config = self.mcp_config(ctx)
        mcp_path = ctx.runtime_dir / "mcp.json"
        files[mcp_path] = json.dumps(config, indent=2) + "\n"
        # No --strict-mcp-config: the user's own MCP servers (~/.claude.json, .mcp.json) stay available.
        argv += ["--mcp-config", str(mcp_path)]
        if ctx.model:
            argv += ["--model", ctx.model]
        copies = {}
        if ctx.skills:
            plugin = ctx.runtime_dir / "skills-plugin"
            files[plugin / ".claude-plugin" / "plugin.json"] = json.dumps(
                {"name": SKILLS_PLUGIN, "version": "1.0.0", "description": "The skills cao gives this agent"}) + "\n"
            copies = {plugin / "skills" / folder.name: folder for folder in ctx.skills}
            argv += ["--plugin-dir", str(plugin)]
        # MCP_TOOL_TIMEOUT: for the profile's servers (cao's has its own ``timeout``). Claude also aborts
        # an HTTP tool call after 300 s without a response or progress notification: a handoff may wait
        # silently for an hour, so the idle limit is raised to the hard one.
        env = {"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "MCP_TOOL_TIMEOUT": TOOL_TIMEOUT_MS, "CLAUDE_CODE_MCP_TOOL_IDLE_TIMEOUT": TOOL_TIMEOUT_MS,
               # 2.1.3xx may draw "fullscreen" in the alternate screen: rows that scroll off are then lost
               # to tmux's history, and a long reply's start with them. The classic renderer keeps them.
               "CLAUDE_CODE_DISABLE_ALTERNATE_SCREEN": "1"}
        if not ctx.yolo:
            # Explicit, since 2.1.3xx starts in "auto mode" (tools run unasked, no waiting_user_answer);
            # 2.1.332 calls it "manual" in --help but still accepts "default", which 2.1.197 needs.
            argv += ["--permission-mode", "default"]
        settings: dict[str, object] = {}
        if ctx.yolo:
            # The settings flag skips the "Bypass Permissions mode" warning without touching ~/.claude.
            argv += ["--dangerously-skip-permissions"]
            settings["skipDangerousModePermissionPrompt"] = True
            if os.geteuid() == 0:
                env["IS_SANDBOX"] = "1"  # Claude refuses the bypass flag as root otherwise
        if ctx.profile is not None and ctx.profile.hooks:
            settings["hooks"] = tool_hook_groups(ctx.profile.hooks, CLAUDE_HOOK_EVENTS, 1)
        if ctx.profile is not None and ctx.profile.permissions:
            # Claude Code checks deny before allow and in every mode (bypassPermissions too)
            settings["permissions"] = {key: [name for rule in rules for name in claude_rule(rule, key)]
                                       for key, rules in ctx.profile.permissions.items()}
        if settings.get("hooks") or settings.get("permissions"):
            settings_path = ctx.runtime_dir / "settings.json"
            files[settings_path] = json.dumps(settings, indent=2) + "\n"
            argv += ["--settings", str(settings_path)]
        elif settings:
            argv += ["--settings", json.dumps(settings)]
        denied = self.disallowed_tools(ctx.allowed_tools, [n for n in config["mcpServers"] if n != CAO_SERVER])
        if not ctx.yolo and f"mcp__{CAO_SERVER}" not in denied:
            argv += ["--allowedTools", f"mcp__{CAO_SERVER}"]  # handoff/assign/send_message run unasked
        if denied:
            argv += ["--disallowedTools", ",".join(denied)]
        if endpoint := self.endpoint_url(ctx):
            env["ANTHROPIC_BASE_URL"] = endpoint
        return LaunchSpec(argv=argv, env=env, files=files, copies=copies, uses_cao_mcp=True)

    # --- the screen ---------------------------------------------------------------------

    def _input_box(self, lines: Sequence[str]) -> int | None:
        """Index of the top rule of the last input box on screen, or None."""
        for i in range(len(lines) - 1, 0, -1):
            if self.INPUT_RE.match(lines[i]) and self.RULE_RE.match(lines[i - 1]) and any(
                    self.RULE_RE.match(line) for line in lines[i + 1 : i + 2 + self.MAX_INPUT_ROWS]):
                return i - 1
        return None

    def _is_dialog(self, lines: Sequence[str]) -> bool:
        return any(self.OPTION_RE.match(line) for line in lines) and any(self.DIALOG_RE.search(line) for line in lines)

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        box = self._input_box(lines)
        if box is None:
            if self._is_dialog(lines):
                text = "\n".join(lines)
                if any(dialog.pattern.search(text) for dialog in self.startup_dialogs):
                    return Status.UNKNOWN  # cao answers it while the terminal starts
                return Status.WAITING_USER_ANSWER
            return Status.UNKNOWN
        if any(self.BUSY_RE.search(line) for line in lines[box:]):
            return Status.PROCESSING
        if lines[box + 1][1:].strip():
            # Text in the box: Esc before the model answered put the message back (its echo is gone, so
            # the turn above is an earlier one), or a person is typing. Either way nothing was answered.
            return Status.IDLE
        start = max((i for i in range(box) if self.ECHO_RE.match(lines[i])), default=-1)
        turn = lines[start + 1 : box]
        if any(self.ERROR_RE.match(line) for line in turn):
            return Status.ERROR
        # (A long reply may have scrolled its echo off the screen: the end-of-turn line still tells.)
        if any(self.DONE_RE.match(line) or (start >= 0 and self.REPLY_RE.match(line)) for line in turn):
            return Status.COMPLETED
        return Status.IDLE

    def _blocks(self, lines: Sequence[str]) -> list[list[str]]:
        """Every ``●`` block above the last input box: its first row without the marker, then its indented rows."""
        box = self._input_box([line.rstrip() for line in lines])
        blocks: list[list[str]] = []
        current: list[str] | None = None
        for raw in lines[:box]:
            line = raw.rstrip()
            if self.REPLY_RE.match(line):
                current = [line[2:]]
                blocks.append(current)
            elif self.FOOTER_RE.match(line):  # 2.1.332 right-aligns "● high · /effort" above the box
                current = None
            elif current is not None and (not line or line.startswith("  ")):
                current.append(line[2:])
            else:
                current = None
        return blocks

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        for block in reversed(self._blocks(lines)):
            body = block[:]
            if len(body) > 1 and body[1].lstrip().startswith("⎿"):
                continue  # a tool use and its output, not a reply
            while body and not body[-1]:
                body.pop()
            return "\n".join(body)
        return None


CLAUDE_HOOK_EVENTS = {"pre_tool_use": "PreToolUse", "post_tool_use": "PostToolUse"}


def claude_rule(rule: dict[str, Any], key: str) -> list[str]:
    """A permissions rule (cao/teams/permissions.py) as Claude Code's rule strings: ``Bash(git status)``, or
    ``Bash(git status:*)`` for the command and anything after it; a whole tool as its Claude tools."""
    if rule["command"] is not None:
        return [f"Bash({rule['command']}{':*' if rule['prefix'] else ''})"]
    return permission_tools(rule, key, NATIVE_TOOLS)
