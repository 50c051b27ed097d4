"""Provider for Gemini CLI (``gemini``, tested with 0.61.0). See docs/providers/gemini_cli.md.

Per terminal, nothing of the user's is overwritten: Gemini CLI reads its user settings from
``$GEMINI_CLI_HOME/.gemini/settings.json``, so cao points ``GEMINI_CLI_HOME`` at the terminal's
runtime directory. There it writes the user's own settings merged with cao's MCP server and the
profile's servers, and links every other entry of the real ``~/.gemini`` (credentials, history,
commands, extensions…). Trust decisions go to the real ``trustedFolders.json``. (The system
settings path variables need root-owned files and parents, so they cannot be used.)

Screen cues (plain rows): idle ``>   Type your message`` (``*`` in YOLO mode); busy
``⠦ Thinking... (esc to cancel, 2s)``; task echo `` > task``; answer ``✦ text`` with continuation
rows indented by two spaces; error ``✕ [API Error: …]``; questions in rounded boxes.
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
    tool_hook_groups,
    ungranted_tools,
)
from cao.status import Status

PLACEHOLDER_RE = re.compile(r"^ ?[>*!] +Type your message")
BUSY_RE = re.compile(r"\(esc to cancel\b")
# The spinner row itself: its "(esc to cancel…)" falls off a narrow window after a long label such as
# "Executing Hooks: <each hook's command line>".
SPINNER_RE = re.compile(r"^ ?[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \S")
RULE_RE = re.compile(r"^─{20,}\s*$")
ECHO_RE = re.compile(r"^ [>!] \S")
ANSWER_RE = re.compile(r"^✦ ")
# A turn's error; not a policy file Gemini could not take whole (yours or cao's), reported at startup.
ERROR_RE = re.compile(r"^✕ (?!\[[A-Z]+\] Policy file (?:error|warning) in )")
QUESTION_RE = re.compile(r"Allow execution of|Action Required|Do you trust the files in this folder\?|"
                         r"How would you like to authenticate|Enter Gemini API Key|Waiting for user confirmation|"
                         r"Apply this change\?|Allow (?:edit|write)")
NOTICE_RE = re.compile(r"^[⚠ℹ] ")  # startup warnings, drawn before the banner
FOOTER_RE = re.compile(r"^ {20,}\? for shortcuts\s*$")
CAO_TOOL_TIMEOUT_MS = 3_900_000  # longer than the longest handoff (3600 s)
# cao's tool vocabulary → Gemini CLI's built-in tool names, for the policy that denies the rest.
NATIVE_TOOLS = {
    "execute_bash": ("run_shell_command", "list_background_processes", "read_background_output"),
    "fs_read": ("read_file", "read_many_files"),
    "fs_write": ("write_file", "replace"),
    "fs_list": ("list_directory", "glob", "grep_search"),
    "web_fetch": ("web_fetch", "google_web_search"),
}


# A team's permissions in Gemini's policy engine: a deny outranks everything (yolo's allow-all too), an
# allow outranks Gemini's questions but not the deny of the tools the toolsets withheld (900).
PERMISSION_PRIORITY = {"deny": 950, "allow": 800}
REGEX_SPECIAL = re.compile(r"([.^$*+?{}\[\]|/])")


def policy_rule(rule: dict[str, Any], key: str) -> str:
    """A permissions rule (cao/teams/permissions.py) as a Gemini CLI policy ``[[rule]]`` (TOML)."""
    names, match = permission_tools(rule, key, NATIVE_TOOLS), ""
    if rule["command"] is not None and rule["prefix"]:
        match = f"commandPrefix = {json.dumps(rule['command'])}\n"  # the command as whole words, then anything
    elif rule["command"] is not None:
        # matched against '"command":"' + the command's JSON: the closing quote makes it exact
        exact = REGEX_SPECIAL.sub(r"\\\1", rule["command"]) + '"'
        match = f"commandRegex = {json.dumps(exact)}\n"
    # Gemini takes commandPrefix/commandRegex only with toolName = "run_shell_command" as one string (an array
    # is reported as a policy file error, drawn as ``✕`` rows on the start screen).
    tools = json.dumps(names[0] if match else names)
    return (f"[[rule]]\ntoolName = {tools}\n{match}decision = \"{key}\"\n"
            f"priority = {PERMISSION_PRIORITY[key]}\n")


def _distrusted(trust_file: Path, folder: Path) -> bool:
    """Whether the user told Gemini never to trust ``folder`` (then cao does not override them)."""
    try:
        rules = json.loads(trust_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(rules, dict) and rules.get(str(folder)) == "DO_NOT_TRUST"


def _user_settings(dot: Path) -> dict[str, Any]:
    try:
        data = json.loads((dot / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing, or JSON with comments: start from Gemini's defaults
    return data if isinstance(data, dict) else {}


def _answer_scrolled_in(rows: Sequence[str]) -> bool:
    """Whether every row above the input box continues an answer whose ``✦`` line (and the task's echo)
    scrolled off the top: a reply longer than the screen. (The banner, tips and tool boxes are not
    all indented by two spaces.)"""
    shown = [row for row in rows if row.strip() and not FOOTER_RE.match(row)]
    return bool(shown) and all(row.startswith("  ") and row[2] not in " ╭│╰▗▟▝▜" for row in shown)


GEMINI_HOOK_EVENTS = {"pre_tool_use": "BeforeTool", "post_tool_use": "AfterTool"}


class GeminiCliProvider(Provider):
    name: ClassVar[str] = "gemini_cli"
    binary: ClassVar[str] = "gemini"
    package_hint: ClassVar[str] = "npm install -g @google/gemini-cli"
    exit_command: ClassVar[str] = "/quit"
    enter_delay: ClassVar[float] = 0.25  # Gemini takes a fast Enter as part of a paste (P2)
    bracketed_paste: ClassVar[bool] = True
    busy_cue: ClassVar[re.Pattern[str] | None] = re.compile(r"esc to cancel")
    env_passthrough: ClassVar[tuple[str, ...]] = ("GEMINI_", "GOOGLE_", "NO_PROXY", "HTTPS_PROXY", "HTTP_PROXY")
    tested_versions: ClassVar[tuple[str, ...]] = ("0.61.0",)
    # Gemini CLI reads skills from ``$GEMINI_CLI_HOME/.agents/skills``: with the per-terminal home, that
    # folder is the terminal's own (the user's ~/.gemini/skills stay linked in and untouched).
    native_skills: ClassVar[bool] = True

    def blocked_tools(self, ctx: LaunchContext) -> list[str]:
        """Gemini's tools outside the profile's allowed ones; the deny policy outranks yolo's allow-all."""
        return ungranted_tools(ctx.allowed_tools or None, NATIVE_TOOLS)

    def mcp_servers(self, ctx: LaunchContext) -> dict[str, dict[str, Any]]:
        allowed = set(ctx.allowed_tools or ("*",))
        servers: dict[str, dict[str, Any]] = {}
        if allowed & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            # cao's endpoint over streamable HTTP (``type: http``; ``httpUrl`` is deprecated in 0.61), the
            # token in a header of this 0600 settings file; cao's own tools never ask
            servers[CAO_SERVER] = {"type": "http", **cao_mcp_http(ctx), "timeout": CAO_TOOL_TIMEOUT_MS, "trust": True}
        for name, server in profile_mcp_servers(ctx).items():
            config = server.model_dump(exclude_none=True)
            if config.get("type") == "stdio":
                config.pop("type")
            servers[name] = config
        return servers

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        real_dot = Path(os.environ.get("GEMINI_CLI_HOME") or os.environ.get("HOME") or Path.home()) / ".gemini"
        home = ctx.runtime_dir / "gemini-home"
        dot = home / ".gemini"
        settings = _user_settings(real_dot)
        servers = self.mcp_servers(ctx)
        settings["mcpServers"] = {**(settings.get("mcpServers") or {}), **servers}
        security = settings.setdefault("security", {})
        auth = security.setdefault("auth", {}) if isinstance(security, dict) else {}
        if isinstance(auth, dict) and not auth.get("selectedType") and os.environ.get("GEMINI_API_KEY"):
            auth["selectedType"] = "gemini-api-key"  # else the auth dialog asks, key detected or not
        if ctx.profile is not None and ctx.profile.hooks:
            settings["hooks"] = self.hooks(settings.get("hooks"), ctx.profile.hooks)
        files = {dot / "settings.json": json.dumps(settings, indent=2) + "\n"}
        env = {"GEMINI_CLI_HOME": str(home), "GEMINI_CLI_TRUSTED_FOLDERS_PATH": str(real_dot / "trustedFolders.json"),
               # The relaunching wrapper ignores SIGHUP/SIGTERM and outlives its tmux window: run gemini itself.
               "GEMINI_CLI_NO_RELAUNCH": "true"}
        if not _distrusted(real_dot / "trustedFolders.json", ctx.working_directory):
            # cao was told to work in this folder: trust it for this run only (the user's file is not written;
            # answering Gemini's trust dialog would write it, and makes Gemini exit to restart)
            env["GEMINI_CLI_TRUST_WORKSPACE"] = "true"
        argv = [self.resolve_binary()]
        if ctx.model:
            argv += ["-m", ctx.model]
        if ctx.yolo:
            argv += ["--approval-mode", "yolo"]
        blocked = self.blocked_tools(ctx)
        rules = []
        if blocked:
            rules.append(f"[[rule]]\ntoolName = {json.dumps(blocked)}\ndecision = \"deny\"\npriority = 900\n")
        if ctx.profile is not None and ctx.profile.permissions:
            rules += [policy_rule(rule, key) for key, entries in ctx.profile.permissions.items() for rule in entries]
        copies = {home / ".agents" / "skills" / folder.name: folder for folder in ctx.skills}
        if copies:
            # Activating a skill cao gave this terminal is not asked about (Gemini asks for any non-built-in one).
            names = "|".join(re.escape(folder.name) for folder in ctx.skills)
            pattern = json.dumps('"name":"(' + names + ')"')  # a TOML basic string is a JSON string
            rules.append(f'[[rule]]\ntoolName = "activate_skill"\nargsPattern = {pattern}\n'
                         'decision = "allow"\npriority = 900\n')
        if rules:
            policy = ctx.runtime_dir / "policy.toml"
            files[policy] = "\n".join(rules)
            argv += ["--policy", str(policy)]
        prompt = ctx.system_prompt
        if prompt:
            path = ctx.runtime_dir / "system.md"
            files[path] = f"{prompt}\n\n# Available tools\n\n${{AvailableTools}}\n\n${{AgentSkills}}\n"
            env["GEMINI_SYSTEM_MD"] = str(path)
        if endpoint := self.endpoint_url(ctx):
            env["GOOGLE_GEMINI_BASE_URL"] = endpoint
        self._link_user_dir(real_dot, dot)
        return LaunchSpec(argv=argv, env=env, files=files, copies=copies, uses_cao_mcp=CAO_SERVER in servers)

    @staticmethod
    def hooks(own: Any, tool_hooks: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        """The user's hooks, and after them the member's tool hooks as ``BeforeTool``/``AfterTool`` (timeouts
        in ms). Gemini runs hooks only in a trusted folder, as for any settings' hooks."""
        merged = dict(own) if isinstance(own, dict) else {}
        for event, groups in tool_hook_groups(tool_hooks, GEMINI_HOOK_EVENTS, 1000).items():
            mine = merged.get(event)
            merged[event] = [*(mine if isinstance(mine, list) else []), *groups]
        return merged

    @staticmethod
    def _link_user_dir(real_dot: Path, dot: Path) -> None:
        """Link the user's ~/.gemini entries (but settings.json) into the per-terminal home."""
        dot.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not real_dot.is_dir():
            return
        for entry in real_dot.iterdir():
            target = dot / entry.name
            if entry.name not in ("settings.json", "trustedFolders.json") and not target.exists():
                target.symlink_to(entry)

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        prompt = max((i for i, line in enumerate(lines) if PLACEHOLDER_RE.match(line)), default=None)
        ask = max((i for i, line in enumerate(lines) if QUESTION_RE.search(line)), default=None)
        if ask is not None and (prompt is None or prompt < ask):
            return Status.WAITING_USER_ANSWER
        if prompt is None:
            return Status.PROCESSING if any(BUSY_RE.search(line) for line in lines) else Status.UNKNOWN
        rule = max((i for i in range(prompt) if RULE_RE.match(lines[i])), default=prompt)
        if any(BUSY_RE.search(line) or SPINNER_RE.match(line)  # the spinner sits on the rule
               for line in lines[max(0, rule - 8):prompt]):
            return Status.PROCESSING
        if not any(line.strip() and not FOOTER_RE.match(line) and not NOTICE_RE.match(line) for line in lines[:rule]):
            return Status.UNKNOWN  # the input box is drawn before the banner; input is lost until then
        echo = max((i for i in range(rule) if ECHO_RE.match(lines[i])), default=-1)
        last = next((line for line in reversed(lines[echo + 1:rule]) if ANSWER_RE.match(line) or
                     ERROR_RE.match(line)), None)
        if last is None:
            return Status.COMPLETED if echo < 0 and _answer_scrolled_in(lines[:rule]) else Status.IDLE
        return Status.ERROR if ERROR_RE.match(last) else Status.COMPLETED

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        start = next((i for i in range(len(lines) - 1, -1, -1) if ANSWER_RE.match(lines[i])), None)
        if start is None:
            return None
        body = [lines[start].rstrip()[2:]]
        for raw in lines[start + 1:]:
            line = raw.rstrip()
            if line and (not line.startswith("  ") or FOOTER_RE.match(line) or BUSY_RE.search(line)):
                break  # a tool box, an echo, an error, the footer or the input box
            body.append(line[2:])
        while len(body) > 1 and not body[-1]:
            body.pop()
        return "\n".join(body)
