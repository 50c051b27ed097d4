"""Provider for GitHub Copilot CLI (``copilot``, npm ``@github/copilot``, tested with 1.0.102).
See docs/providers/copilot_cli.md.

Nothing of the user's is written: ``~/.copilot`` (login, settings, MCP servers) is read by Copilot as
usual, and its model endpoint is the user's (GitHub's models after ``copilot login``, or their own
with ``COPILOT_PROVIDER_BASE_URL`` — with ``COPILOT_OFFLINE=true`` it needs no GitHub account and no
network). Per terminal, cao adds two files in the runtime directory and points Copilot at them with
its own switches: cao's MCP endpoint over HTTP (``--additional-mcp-config @file``, the only place the
terminal's token is) and the profile prompt as an instructions file in a directory named by
``COPILOT_CUSTOM_INSTRUCTIONS_DIRS`` (Copilot has no system-prompt flag).

Copilot draws in the alternate screen (1.0.x has no way to turn that off), so a reply longer than
the screen is read only as far as it is visible.

Screen cues (plain rows, a scrollbar ``┃`` at the right edge removed): the input row ``❯`` between
two rules, the working directory above them and a footer below (`` ← open sidebar · Interactive ·
Manual Approval · / commands …`` idle, `` ◎ Working esc esc edit prompt`` busy); task echo `` ❯ task``
with the time at the right; answer `` ● text``, continuation rows indented by three spaces; error
`` ✗ 400 …``; Ctrl+C mid-turn `` ● Operation cancelled by user``; dialogs (``Do you want to run this
command?``, the folder trust) replace the input box and end with ``↑/↓ to navigate · enter to select``.
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
    StartupDialog,
    cao_mcp_http,
    profile_mcp_servers,
    team_rules,
    ungranted_tools,
)
from cao.status import Status

SCROLLBAR_RE = re.compile(r"\s*┃$")
TABS_RE = re.compile(r"^ \[Current\] ")  # the tab bar on the top row (Sessions, Issues, …): chrome
RULE_RE = re.compile(r"^─{20,}$")
INPUT_RE = re.compile(r"^❯(?: |$)")  # the input row (the echo of a task is indented by one space)
BUSY_RE = re.compile(r"\bWorking\b.*\besc\b")  # the footer while a turn runs
IDLE_FOOTER_RE = re.compile(r"\b(?:Interactive|Plan|Autopilot) · ")  # the footer between turns (its mode)
DIALOG_RE = re.compile(r"to navigate · enter to select")
TRUST_RE = re.compile(r"Do you trust the files in this folder\?[\s│]*❯ 1\. Yes\b")
BANNER_RE = re.compile(r"Copilot v\d+\.\d+")
ECHO_RE = re.compile(r"^ ❯ ")
ANSWER_RE = re.compile(r"^ ● ")
ERROR_RE = re.compile(r"^ ✗ ")
CANCELLED = " ● Operation cancelled by user"
HEAD_RE = re.compile(r"^ \S")  # the first row of a history item; continuation rows are indented more
NOTICE_RE = re.compile(r"^ ● (?:Tip: |MCP Servers reloaded|Request failed due to a transient API error)")
ECHO_TIME_RE = re.compile(r"\s{2,}\d{1,2}:\d{2}(?: [AP]M)?$")
INSTRUCTIONS = "COPILOT_CUSTOM_INSTRUCTIONS_DIRS"
# cao's tool vocabulary → Copilot's built-in tools, taken from the model with --excluded-tools.
NATIVE_TOOLS = {
    "execute_bash": ("bash", "read_bash", "write_bash", "stop_bash", "list_bash", "task"),  # task: subagents
    "fs_read": ("view",),
    "fs_write": ("create", "edit", "apply_patch"),
    "fs_list": ("rg", "grep", "glob"),
    "web_fetch": ("web_fetch", "web_search"),
}
# And Copilot's permission kinds, denied as well (passed with --allow-all too).
DENY_KINDS = {"execute_bash": "shell", "fs_write": "write"}
# The kinds a team's whole-tool allow becomes (Copilot has no kind for listing: it asks for paths outside the folder).
ALLOW_KINDS = {**DENY_KINDS, "fs_read": "read", "web_fetch": "url"}


def copilot_rule(rule: dict[str, Any], key: str) -> list[str]:
    """A permissions rule as Copilot's rule values. Copilot matches a shell rule against each command's
    identifier (its name, for git and gh also the subcommand), never its arguments: ``shell(touch)`` is
    ``touch`` with any arguments, ``shell(git:*)`` any git command. An exact allow cannot be written (the
    loader warns, PREFIX_ONLY); a whole-tool deny also takes the tools away (--excluded-tools)."""
    if rule["command"] is not None:
        if key == "allow" and (not rule["prefix"] or not _identifier_only(rule["command"])):
            return []  # it would allow more than written: Copilot asks instead
        return [f"shell({rule['command']}:*)"]
    kind = (DENY_KINDS if key == "deny" else ALLOW_KINDS).get(rule["tool"])
    return [kind] if kind else []


def _identifier_only(command: str) -> bool:
    """Whether ``command`` is no more than what Copilot matches a shell rule on: the command's name (for git
    and gh, with the subcommand). An allow of ``npm test*`` would allow every npm command."""
    words = command.split()
    return len(words) == 1 or (len(words) == 2 and words[0] in ("git", "gh"))


def _clean(lines: Sequence[str]) -> list[str]:
    rows = [SCROLLBAR_RE.sub("", line.rstrip()) for line in lines]
    return ["" if TABS_RE.match(row) else row for row in rows]


class CopilotCliProvider(Provider):
    name: ClassVar[str] = "copilot_cli"
    binary: ClassVar[str] = "copilot"
    package_hint: ClassVar[str] = "npm install -g @github/copilot"
    exit_command: ClassVar[str] = "/exit"
    interrupt_keys: ClassVar[tuple[str, ...]] = ("C-c",)  # Esc does not cancel a turn here
    bracketed_paste: ClassVar[bool] = True
    busy_cue: ClassVar[re.Pattern[str] | None] = re.compile(r"Working\S* esc")
    # Copilot draws a turn's last frame in parts (the answer's rows, then the footer); read it settled.
    completed_settle_s: ClassVar[float] = 0.5
    # The folder cao was told to work in: "1. Yes" trusts it for this session only (nothing is saved).
    startup_dialogs: ClassVar[tuple[StartupDialog, ...]] = (StartupDialog(TRUST_RE, ("Enter",)),)
    env_passthrough: ClassVar[tuple[str, ...]] = ("COPILOT_", "GH_TOKEN", "GH_HOST", "GITHUB_TOKEN",
                                                  "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    tested_versions: ClassVar[tuple[str, ...]] = ("1.0.102",)

    def mcp_servers(self, ctx: LaunchContext) -> dict[str, dict[str, Any]]:
        allowed = set(ctx.allowed_tools or ("*",))
        servers: dict[str, dict[str, Any]] = {}
        if allowed & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            http = cao_mcp_http(ctx)
            servers[CAO_SERVER] = {"type": "http", "url": http["url"], "headers": http["headers"], "tools": ["*"]}
        for name, server in profile_mcp_servers(ctx).items():
            entry: dict[str, Any] = {"type": "local", "command": server.command, "args": list(server.args),
                                     "tools": ["*"]}
            if server.env:
                entry["env"] = server.env
            if server.timeout:
                entry["timeout"] = server.timeout
            servers[name] = entry
        return servers

    @staticmethod
    def restriction_args(ctx: LaunchContext) -> list[str]:
        """--deny-tool for each permission kind not granted, then --excluded-tools (variadic, so last): the tools
        not granted and those a team's permissions deny whole."""
        allowed = ctx.allowed_tools or None
        args = [arg for kind in ungranted_tools(allowed, {k: (v,) for k, v in DENY_KINDS.items()})
                for arg in ("--deny-tool", kind)]
        excluded = ungranted_tools(allowed, NATIVE_TOOLS)
        excluded += [tool for rule in team_rules(ctx, "deny") if rule["command"] is None
                     for tool in NATIVE_TOOLS[rule["tool"]] if tool not in excluded]
        return [*args, "--excluded-tools", *excluded] if excluded else args

    @staticmethod
    def permission_args(ctx: LaunchContext) -> list[str]:
        """A team member's permissions (cao/teams/permissions.py) as --allow-tool/--deny-tool: Copilot's denies
        outrank its allows and --allow-all, and an allow never shows a tool --excluded-tools took away."""
        return [arg for key in ("allow", "deny") for rule in team_rules(ctx, key)
                for value in copilot_rule(rule, key) for arg in (f"--{key}-tool", value)]

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        mcp = ctx.runtime_dir / "copilot-mcp.json"
        servers = self.mcp_servers(ctx)
        files: dict[Path, str] = {mcp: json.dumps({"mcpServers": servers}, indent=2) + "\n"}
        env = {"COPILOT_AUTO_UPDATE": "false"}
        prompt = ctx.system_prompt
        if prompt:
            folder = ctx.runtime_dir / "copilot-instructions"
            files[folder / ".github" / "instructions" / "cao.instructions.md"] = \
                '---\napplyTo: "**"\n---\n' + prompt + "\n"
            own = os.environ.get(INSTRUCTIONS)
            env[INSTRUCTIONS] = f"{folder},{own}" if own else str(folder)
        argv = [self.resolve_binary(), "--no-auto-update", "--additional-mcp-config", f"@{mcp}"]
        if CAO_SERVER in servers:
            argv += ["--allow-tool", CAO_SERVER]  # cao's own tools never ask
        # An explicit mode: the user's settings may start new sessions in autopilot.
        argv += ["--allow-all"] if ctx.yolo else ["--mode", "interactive"]
        if ctx.model:
            argv += ["--model", ctx.model]
        argv += self.permission_args(ctx)
        argv += self.restriction_args(ctx)
        return LaunchSpec(argv=argv, env=env, files=files, uses_cao_mcp=CAO_SERVER in servers)

    # --- the screen ---------------------------------------------------------------------------

    @staticmethod
    def _input_box(lines: Sequence[str]) -> int | None:
        """Index of the input box's top rule: a rule, the input row(s), a rule again below."""
        for i in range(len(lines) - 2, 0, -1):
            if INPUT_RE.match(lines[i]) and RULE_RE.match(lines[i - 1]) and \
                    any(RULE_RE.match(line) for line in lines[i + 1:i + 12]):
                return i - 1
        return None

    @staticmethod
    def _items(history: list[str]) -> tuple[list[str], bool]:
        """The rows after the last task echo, and whether an echo was on screen."""
        echo = max((i for i, line in enumerate(history) if ECHO_RE.match(line)), default=None)
        return (history if echo is None else history[echo + 1:]), echo is not None

    @staticmethod
    def _footer(lines: list[str], box: int) -> str:
        return next((line for line in reversed(lines[box + 2:]) if line.strip()), "")

    def _turn_rows(self, lines: list[str], box: int) -> tuple[list[str], bool]:
        """The history rows after the last task echo (notices left out), and whether an echo was there."""
        history = [line for line in lines[:box - 1] if line.strip()]  # without the working directory row
        rows, echoed = self._items(history)
        return [line for line in rows if not NOTICE_RE.match(line)], echoed  # notices may follow the echo

    def detect(self, lines: Sequence[str]) -> Status:
        lines = _clean(lines)
        text = "\n".join(lines)
        box = self._input_box(lines)
        dialog = max((i for i, line in enumerate(lines) if DIALOG_RE.search(line)), default=None)
        if dialog is not None and (box is None or box < dialog):
            return Status.UNKNOWN if TRUST_RE.search(text) else Status.WAITING_USER_ANSWER
        if box is None:
            return Status.UNKNOWN  # starting: nothing typed now would reach the input
        footer = self._footer(lines, box)
        if BUSY_RE.search(footer):
            return Status.PROCESSING
        if not IDLE_FOOTER_RE.search(footer):
            return Status.UNKNOWN  # a frame drawn in parts: the footer is not there yet
        rows, echoed = self._turn_rows(lines, box)
        heads = [line for line in rows if HEAD_RE.match(line)]
        if not echoed and (not rows or any(BANNER_RE.search(line) for line in rows)):
            return Status.IDLE  # no turn yet
        if not heads:
            # A task taken and not answered yet, or the tail of a reply longer than the screen.
            return Status.PROCESSING if echoed and not rows else Status.COMPLETED
        last = next((line for line in reversed(heads) if ANSWER_RE.match(line) or ERROR_RE.match(line)), heads[-1])
        if last == CANCELLED:
            return Status.IDLE  # interrupted: no answer
        return Status.ERROR if ERROR_RE.match(last) else Status.COMPLETED

    def ended_unanswered(self, lines: Sequence[str]) -> bool:
        """Ctrl+C before the model sent anything: sometimes Copilot ends the turn without its "Operation
        cancelled by user": the task's echo last, nothing after it, the footer idle again."""
        lines = _clean(lines)
        box = self._input_box(lines)
        if box is None or not IDLE_FOOTER_RE.search(self._footer(lines, box)):
            return False
        rows, echoed = self._turn_rows(lines, box)
        return echoed and not rows

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        lines = _clean(lines)
        box = self._input_box(lines)
        history = lines[:box - 1] if box is not None else lines
        rows, echoed = self._items(history)
        start = next((i for i in range(len(rows) - 1, -1, -1)
                      if (ANSWER_RE.match(rows[i]) and not NOTICE_RE.match(rows[i])) or ERROR_RE.match(rows[i])),
                     None)
        if start is None:
            if echoed or any(HEAD_RE.match(line) for line in rows):
                return None
            start = -1  # only continuation rows: the visible tail of a long reply
            body: list[str] = []
        else:
            if rows[start] == CANCELLED:
                return None
            body = [rows[start][3:]]
        for line in rows[start + 1:]:
            if line and not line.startswith("   "):
                break  # the next item
            body.append(line[3:])
        while body and not body[-1]:
            body.pop()
        while body and not body[0]:
            body.pop(0)
        return "\n".join(body) if body else None
