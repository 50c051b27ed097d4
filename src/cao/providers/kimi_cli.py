"""Provider for Kimi CLI (``kimi``, PyPI ``kimi-cli``, tested with 1.51.0). See docs/providers/kimi_cli.md.

Nothing of the user's is written. Kimi keeps everything in one directory (``~/.kimi``, or
``$KIMI_SHARE_DIR``); cao gives each terminal its own (``KIMI_SHARE_DIR`` in the runtime directory),
so the agent's sessions, logs and history stay with the terminal, and links the user's credentials,
plugins and MCP OAuth tokens into it (Kimi refreshes its own login through the link, as it would
when the user runs it). Per terminal, cao writes:

* ``kimi-config.json`` (``--config-file``): the user's ``config.toml`` (providers, keys, models) with
  cao's settings over it: an explicit yolo choice and an MCP tool timeout longer than a handoff;
* ``kimi-mcp.json`` (``--mcp-config-file``, after the user's own ``mcp.json``): cao's MCP endpoint over
  streamable HTTP (the only file holding the terminal's token) and the profile's MCP servers;
* ``kimi-agent.json`` (``--agent-file``): Kimi's default agent, the profile prompt as its role and the
  profile's disallowed tools excluded (Kimi then does not offer them to the model, yolo or not);
* the session cao starts (``--session <terminal id>``), with cao's own MCP tools approved for it:
  Kimi asks before every MCP tool call otherwise, and has no allow rule outside a session's state.

Screen cues (plain rows): input rule ``── input ───`` (``── input · 1 queued ──`` with queued
messages, ``╌╌ input · plan`` in plan mode) above the footer; task echo ``✨ task``; answer
``• text`` with continuation rows indented two spaces (Markdown rendered: soft line breaks join);
while working a live row above the input rule: a moon (``🌘``), a braille spinner (``⠋ Composing...``,
``⠦ Using Shell (…)``), ``Thinking``…; errors ``LLM provider error: …`` and the like; Esc mid-turn
``Interrupted by user``; questions ``╭─ approval ─`` / ``╭─ question ─`` replace the input rule.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from cao import real_clis
from cao.errors import ProviderUnavailable
from cao.providers.base import (
    CAO_SERVER,
    LaunchContext,
    LaunchSpec,
    Provider,
    cao_mcp_http,
    profile_mcp_servers,
    ungranted_tools,
)
from cao.status import Status

INPUT_RE = re.compile(r"^(?:── input\b|╌╌ input\b)")  # the rule above the input row
ECHO_RE = re.compile(r"^✨ ")  # the user's task as Kimi echoes it (``$`` rows are its shell mode)
BULLET_RE = re.compile(r"^• ")
# A live row of a turn: a spinner frame (braille dots, moon, balloon) or Kimi's busy words.
LIVE_RE = re.compile(r"^(?:[\u2800-\u28ff🌑🌒🌓🌔🌕🌖🌗🌘]|Thinking\b|Composing\.\.\.|Compacting\.\.\.|"
                     r"Connecting to MCP servers\.\.\.|Retrying after |Side question: )")
# While Kimi connects its MCP servers at start: "⠹ MCP Servers: 0/1 connected, 0 tools", then "• cao (pending)".
MCP_LOADING_RE = re.compile(r"^[\u2800-\u28ff] MCP Servers: \d+/\d+ connected")
QUESTION_RE = re.compile(r"^╭─ (?:approval|question) ─|is requesting approval to |▲/▼ select")
ERROR_RE = re.compile(r"^(?:LLM provider error: |LLM not set, |Network connection failed: |Request timed out: |"
                      r"The server returned an empty response\.|Authorization failed\. |Membership expired|"
                      r"Server: |Unexpected error: |Unknown error: |Max number of steps reached: )")
INTERRUPTED = "Interrupted by user"
TOOL_RE = re.compile(r"^• (?:Used|Using|Rejected|Failed) \S")  # a tool's block, not an answer
THOUGHT_RE = re.compile(r"^• Thought for ")
ITEM_RE = re.compile(r"^\S")  # the first row of a history item (continuation rows are indented)
CAO_TOOL_TIMEOUT_MS = 3_900_000  # Kimi's MCP call timeout (default 60 s); longer than a handoff (3600 s)
# cao's own MCP tools (cao.mcp.tools.AgentTools): approved for the session cao starts (Kimi's
# approval action for an MCP tool is ``mcp:<tool name>``, without the server's name).
CAO_TOOLS = ("handoff", "assign", "send_message", "delete_terminal")
# cao's tool vocabulary → Kimi's built-in tools (agent-spec paths), excluded when not allowed.
TOOL = "kimi_cli.tools."
NATIVE_TOOLS = {
    # Agent: subagents run their own shell; Task*: background shell commands
    "execute_bash": (TOOL + "shell:Shell", TOOL + "agent:Agent", TOOL + "background:TaskList",
                     TOOL + "background:TaskOutput", TOOL + "background:TaskStop"),
    "fs_read": (TOOL + "file:ReadFile", TOOL + "file:ReadMediaFile"),
    "fs_write": (TOOL + "file:WriteFile", TOOL + "file:StrReplaceFile"),
    "fs_list": (TOOL + "file:Glob", TOOL + "file:Grep"),
    "web_fetch": (TOOL + "web:SearchWeb", TOOL + "web:FetchURL"),
}
# What the user's share directory holds that the agent needs as the user has it (linked, not copied).
SHARED = ("credentials", "device_id", "plugins", "mcp-oauth", "bin")
# Links them into the terminal's share directory, then runs Kimi ($1 the user's, $2 the terminal's).
SH_LINK = ('u=$1; s=$2; shift 2; for n in ' + " ".join(SHARED) +
           '; do if [ -e "$u/$n" ] && [ ! -e "$s/$n" ]; then ln -s "$u/$n" "$s/$n"; fi; done; exec "$@"')


def kimi_share_dir() -> Path:
    configured = os.environ.get("KIMI_SHARE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".kimi"


def user_config() -> dict[str, Any]:
    """The user's Kimi configuration (``config.toml``, or the legacy ``config.json``); {} when none."""
    share = kimi_share_dir()
    try:
        return tomllib.loads((share / "config.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        pass
    try:
        data = json.loads((share / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class KimiCliProvider(Provider):
    name: ClassVar[str] = "kimi_cli"
    binary: ClassVar[str] = "kimi"
    package_hint: ClassVar[str] = "uv tool install kimi-cli==1.51.0 (1.52.0, the last release, only prints a notice)"
    exit_command: ClassVar[str] = "/exit"
    bracketed_paste: ClassVar[bool] = True
    # Kimi prints a finished paragraph above its live area and redraws the live row (its spinner) on the
    # next refresh (0.1 s): that frame reads as a completed turn while the reply is still streaming.
    completed_settle_s: ClassVar[float] = 0.6
    queues_input_while_busy: ClassVar[bool] = True  # "── input · 1 queued ──": sent when the turn ends
    busy_cue: ClassVar[re.Pattern[str] | None] = re.compile(
        r"[🌑🌒🌓🌔🌕🌖🌗🌘]|Composing\.\.\.|Using \S+ \(")
    env_passthrough: ClassVar[tuple[str, ...]] = ("KIMI_", "MOONSHOT_", "NO_PROXY", "HTTPS_PROXY", "HTTP_PROXY",
                                                  "ALL_PROXY")
    tested_versions: ClassVar[tuple[str, ...]] = ("1.51.0",)

    def resolve_binary(self) -> str:
        """On PATH, else where scripts/install-real-clis puts it (``<dir>-kimi/bin``)."""
        try:
            return super().resolve_binary()
        except ProviderUnavailable:
            path = shutil.which(self.binary, path=str(real_clis.pypi_bin_dir("kimi")))
            if path is None:
                raise
            return path

    def excluded_tools(self, ctx: LaunchContext) -> list[str]:
        """Kimi's tools outside the profile's allowed ones (yolo changes approvals, not restrictions)."""
        return ungranted_tools(ctx.allowed_tools or None, NATIVE_TOOLS)

    def mcp_servers(self, ctx: LaunchContext) -> dict[str, dict[str, Any]]:
        allowed = set(ctx.allowed_tools or ("*",))
        servers: dict[str, dict[str, Any]] = {}
        if allowed & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            http = cao_mcp_http(ctx)
            servers[CAO_SERVER] = {"url": http["url"], "headers": http["headers"], "transport": "http"}
        for name, server in profile_mcp_servers(ctx).items():
            entry: dict[str, Any] = {"command": server.command, "args": list(server.args)}
            if server.env:
                entry["env"] = dict(server.env)
            servers[name] = entry
        return servers

    @staticmethod
    def config(ctx: LaunchContext) -> dict[str, Any]:
        """The user's configuration with cao's settings over it."""
        config = user_config()
        config["default_yolo"] = ctx.yolo  # explicit: a user's default_yolo would drop the prompts
        mcp = config.get("mcp") if isinstance(config.get("mcp"), dict) else {}
        client = mcp.get("client") if isinstance(mcp.get("client"), dict) else {}
        config["mcp"] = {**mcp, "client": {**client, "tool_call_timeout_ms": CAO_TOOL_TIMEOUT_MS}}
        return config

    def agent_spec(self, ctx: LaunchContext) -> dict[str, Any]:
        agent: dict[str, Any] = {"extend": "default"}
        if ctx.system_prompt:  # a template argument: inserted as text, never parsed as a template
            agent["system_prompt_args"] = {"ROLE_ADDITIONAL": ctx.system_prompt}
        excluded = self.excluded_tools(ctx)
        if excluded:
            agent["exclude_tools"] = excluded
        return {"version": 1, "agent": agent}

    @staticmethod
    def session_files(ctx: LaunchContext, share: Path, servers: dict[str, Any]) -> dict[Path, str]:
        """The session Kimi resumes (``--session <terminal id>``): empty, cao's tools approved."""
        work_dir = os.path.normpath(str(ctx.working_directory))
        sessions = share / "sessions" / hashlib.md5(work_dir.encode("utf-8")).hexdigest() / ctx.terminal_id
        approved = sorted(f"mcp:{tool}" for tool in CAO_TOOLS) if CAO_SERVER in servers else []
        state = {"version": 1, "approval": {"yolo": ctx.yolo, "afk": False, "auto_approve_actions": approved}}
        return {share / "kimi.json": json.dumps({"work_dirs": [{"path": work_dir, "kaos": "local"}]}) + "\n",
                sessions / "context.jsonl": "", sessions / "state.json": json.dumps(state, indent=2) + "\n"}

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        share = ctx.runtime_dir / "kimi-share"
        config, agent, mcp = (ctx.runtime_dir / f"kimi-{n}.json" for n in ("config", "agent", "mcp"))
        servers = self.mcp_servers(ctx)
        files = {config: json.dumps(self.config(ctx), indent=2, default=str) + "\n",
                 agent: json.dumps(self.agent_spec(ctx), indent=2) + "\n",
                 mcp: json.dumps({"mcpServers": servers}, indent=2) + "\n",
                 **self.session_files(ctx, share, servers)}
        user = kimi_share_dir()
        argv = [self.resolve_binary(), "--config-file", str(config), "--agent-file", str(agent)]
        if (user / "mcp.json").is_file():  # given explicitly, Kimi reads only the files it is given
            argv += ["--mcp-config-file", str(user / "mcp.json")]
        argv += ["--mcp-config-file", str(mcp), "--work-dir", os.path.normpath(str(ctx.working_directory)),
                 "--session", ctx.terminal_id]
        if ctx.yolo:
            argv.append("--yolo")
        if ctx.model:
            argv += ["--model", ctx.model]
        env = {"KIMI_SHARE_DIR": str(share)}
        return LaunchSpec(argv=["/bin/sh", "-c", SH_LINK, "cao-kimi", str(user), str(share), *argv], env=env,
                          files=files, uses_cao_mcp=CAO_SERVER in servers)

    # --- the screen ---------------------------------------------------------------------------

    @staticmethod
    def _input_rule(lines: Sequence[str]) -> int | None:
        return next((i for i in range(len(lines) - 1, -1, -1) if INPUT_RE.match(lines[i])), None)

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        rule = self._input_rule(lines)
        ask = max((i for i, line in enumerate(lines) if QUESTION_RE.search(line)), default=None)
        if ask is not None and (rule is None or rule < ask):
            return Status.WAITING_USER_ANSWER  # the panel takes the input rule's place
        if rule is None:
            return Status.UNKNOWN  # starting ("⠙ Loading configuration..."): nothing typed now would reach the input
        history = [line for line in lines[:rule] if line.strip()]
        items = [line for line in history if ITEM_RE.match(line)]
        echo = max((i for i, line in enumerate(items) if ECHO_RE.match(line)), default=None)
        if any(MCP_LOADING_RE.match(line) for line in items[echo or 0:]):
            return Status.UNKNOWN  # starting: cao waits for Kimi's MCP servers (a task now would wait for them too)
        turn = items[echo + 1:] if echo is not None else items
        settled = max((i for i, line in enumerate(turn) if BULLET_RE.match(line) or ERROR_RE.match(line)
                       or line == INTERRUPTED), default=-1)
        # The live area sits right above the input rule: a spinner row (a tool's, the moon...) after the
        # turn's last printed item. One before it is a stale frame a resize left in the history.
        if any(LIVE_RE.match(line) for line in turn[settled + 1:]):
            return Status.PROCESSING
        last = turn[settled] if settled >= 0 else None
        if last is None:
            if echo is not None:
                return Status.PROCESSING  # the task is taken; its first frame is not drawn yet
            # No task on screen: Kimi's welcome box, or only the tail of a reply longer than the screen.
            return Status.IDLE if not history or history[-1].startswith(("╰", "│")) else Status.COMPLETED
        if last == INTERRUPTED:
            return Status.IDLE
        if TOOL_RE.match(last):
            return Status.PROCESSING  # a tool's result goes back to the model: the turn goes on
        return Status.ERROR if ERROR_RE.match(last) else Status.COMPLETED

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        lines = [line.rstrip() for line in lines]
        rule = self._input_rule(lines)
        end = rule if rule is not None else len(lines)
        echo = next((i for i in range(end - 1, -1, -1) if ECHO_RE.match(lines[i])), -1)
        turn = lines[echo + 1:end]
        starts = [i for i, line in enumerate(turn) if ITEM_RE.match(line)]
        if any(turn[i] == INTERRUPTED for i in starts[-1:]):
            return None  # interrupted: no answer
        error = next((i for i in reversed(starts) if ERROR_RE.match(turn[i])), None)
        answer = next((i for i in reversed(starts) if BULLET_RE.match(turn[i]) and not TOOL_RE.match(turn[i])
                       and not THOUGHT_RE.match(turn[i])), None)
        if error is not None and (answer is None or error > answer):
            return turn[error]  # the error's text (the hint rows below it are Kimi's, not the error's)
        if answer is None:
            return None
        body = [turn[answer][2:]]
        for line in turn[answer + 1:]:
            if line and not line.startswith("  "):
                break  # the next item: a tool's block, an error, the next bullet
            body.append(line[2:])
        while len(body) > 1 and not body[-1]:
            body.pop()
        return "\n".join(body)
