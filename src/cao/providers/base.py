"""The provider interface: what cao must know about one agent CLI (DESIGN.md decision 3).

A provider is mostly data. Behaviour is three small methods:

* ``build_launch(ctx)`` turns a profile and a terminal into an argv and an environment;
  the argv is executed directly by tmux (no shell), so nothing in it is ever re-parsed.
* ``detect(lines)`` is a pure function from the visible screen (rows of plain text, no
  ANSI) to a ``Status``. It is tested on screens recorded from the real program.
* ``extract_last_reply(lines)`` is a pure function from the plain scrollback to the text
  of the last reply, whole, without UI chrome.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cao import real_clis
from cao.errors import ProviderUnavailable
from cao.status import Status

if TYPE_CHECKING:
    from cao.profiles import AgentProfile, McpServerConfig


@dataclass(frozen=True)
class StartupDialog:
    """A dialog a CLI may show on start, and the tmux keys that answer it."""

    pattern: re.Pattern[str]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class LaunchContext:
    terminal_id: str
    working_directory: Path
    runtime_dir: Path  # per-terminal directory for config files; removed with the terminal
    profile: AgentProfile | None = None
    model: str | None = None
    allowed_tools: tuple[str, ...] | None = None
    yolo: bool = False
    api_url: str = "http://127.0.0.1:9889"
    # The terminal's secret capability token for cao's MCP endpoint. It goes only into this terminal's
    # own CLI configuration (written 0600), never into the agent's environment.
    mcp_token: str = ""
    # What cao adds to the profile's prompt for this terminal (skills, memories, team facts...), in order.
    prompt_parts: tuple[str, ...] = ()
    # For a provider with ``native_skills``: the skill folders (``<store>/<name>``) this agent may use,
    # to be copied into the CLI's own per-terminal skills folder (``LaunchSpec.copies``). Others get a
    # catalog in ``prompt_parts`` and the ``load_skill`` tool instead (docs/skills.md).
    skills: tuple[Path, ...] = ()

    @property
    def system_prompt(self) -> str:
        """The agent's whole system prompt: the profile's body, then ``prompt_parts``; "" when none."""
        own = self.profile.system_prompt.strip() if self.profile is not None and self.profile.system_prompt else ""
        return "\n\n".join(p for p in (own, *(part.strip() for part in self.prompt_parts)) if p)


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]  # argv[0] is an absolute path
    env: dict[str, str] = field(default_factory=dict)  # added to cao's minimal environment
    files: dict[Path, str] = field(default_factory=dict)  # written (0600) before start
    copies: dict[Path, Path] = field(default_factory=dict)  # folder to create → folder copied into it (0600/0700)
    uses_cao_mcp: bool = False  # the CLI will connect to cao-mcp-server (cao waits for its tools/list)


CAO_SERVER = "cao"  # the name cao's own MCP server has in every CLI's configuration
CAO_MCP_COMMAND = "cao-mcp-server"
CAO_MCP_PATH = "/mcp"  # cao-server's MCP endpoint (streamable HTTP)


def mcp_endpoint(api_url: str, token: str) -> dict[str, Any]:
    """How to reach cao's MCP endpoint as the terminal holding ``token``: ``{"url", "headers"}``."""
    return {"url": api_url + CAO_MCP_PATH, "headers": {"Authorization": f"Bearer {token}"}}


def cao_mcp_http(ctx: LaunchContext) -> dict[str, Any]:
    """cao's MCP endpoint for this terminal (each CLI spells the keys its own way)."""
    return mcp_endpoint(ctx.api_url, ctx.mcp_token)


def cao_mcp_server(ctx: LaunchContext) -> dict[str, Any]:
    """The stdio bridge to cao's MCP endpoint, for CLIs that only speak stdio (carries the same token)."""
    return {"command": sys.executable, "args": ["-m", "cao.mcp.server"],
            "env": {"CAO_API_URL": ctx.api_url, "CAO_MCP_TOKEN": ctx.mcp_token}}


def granted(allowed: Sequence[str]) -> set[str]:
    """cao's tool vocabulary an ``allowed`` list grants (``fs_*`` stands for every file tool)."""
    names = set(allowed)
    if "fs_*" in names:
        names |= {"fs_read", "fs_write", "fs_list"}
    return names


def ungranted_tools(allowed: Sequence[str] | None, native: Mapping[str, Sequence[str]]) -> list[str]:
    """The CLI's native tools (cao's name → the CLI's names) that ``allowed`` does not grant; None or ``*``: none."""
    if allowed is None or "*" in allowed:
        return []
    names = granted(allowed)
    return [tool for key, tools in native.items() if key not in names for tool in tools]


def team_rules(ctx: LaunchContext, key: str) -> list[dict[str, Any]]:
    """The terminal's team permissions rules of one list (``allow`` or ``deny``; cao/teams/permissions.py)."""
    permissions = ctx.profile.permissions if ctx.profile is not None else None
    return list((permissions or {}).get(key, ()))


def permission_tools(rule: Mapping[str, object], key: str, native: Mapping[str, Sequence[str]]) -> list[str]:
    """The CLI's tools a team's permissions rule (cao/teams/permissions.py) is about: the shell's own tool
    (its first) for a command or an allow, else every native tool of the cao tool (sub-agents and
    background tasks with the shell: a deny of the shell leaves no way around it)."""
    names = native[str(rule["tool"])]
    if rule["tool"] == "execute_bash" and (rule["command"] is not None or key == "allow"):
        return list(names[:1])
    return list(names)


def tool_hook_groups(hooks: Mapping[str, list[dict[str, Any]]], events: Mapping[str, str],
                     timeout_unit: float) -> dict[str, list[dict[str, Any]]]:
    """A profile's tool hooks (cagent's shape) as a CLI's settings ``hooks`` (Claude Code's and Gemini
    CLI's share it): per event, one matcher group per hook; ``timeout_unit`` per second (1000: ms).

    The CLI runs a hook's ``command`` through a shell: it is the team file's own command line (never
    agent text), its ``args`` and ``env`` are quoted here. The tool call's JSON arrives on its stdin.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for event, entries in hooks.items():
        name = events.get(event)
        if name is None:
            continue
        for hook in entries:
            env = [f"{key}={value}" for key, value in (hook.get("env") or {}).items()]
            line = " ".join([*(["env", *map(shlex.quote, env)] if env else []), str(hook["command"]),
                             *map(shlex.quote, hook.get("args") or [])])
            entry: dict[str, Any] = {"type": "command", "command": line}
            if hook.get("timeout"):
                entry["timeout"] = max(1, round(float(hook["timeout"]) * timeout_unit))
            out.setdefault(name, []).append({"matcher": hook.get("matcher") or "", "hooks": [entry]})
    return out


def profile_mcp_servers(ctx: LaunchContext) -> dict[str, McpServerConfig]:
    """The profile's own MCP servers, without entries that are cao-mcp-server itself (``cao`` is that)."""
    servers = getattr(ctx.profile, "mcpServers", None) or {}
    return {name: server for name, server in servers.items()
            if name not in (CAO_SERVER, CAO_MCP_COMMAND) and os.path.basename(server.command) != CAO_MCP_COMMAND}


class Provider:
    name: ClassVar[str]
    binary: ClassVar[str]
    package_hint: ClassVar[str]  # how to install the binary, e.g. "npm install -g @openai/codex"
    exit_command: ClassVar[str] = "/exit"
    # The keys that stop a turn in this CLI, pressed one after the other (``POST /terminals/{id}/interrupt``).
    interrupt_keys: ClassVar[tuple[str, ...]] = ("Escape",)
    # Shown once the interrupt keys reach the turn: a CLI that prepares a turn before it can be stopped
    # ignores them until then (None: any working screen can be interrupted).
    interruptible_cue: ClassVar[re.Pattern[str] | None] = None
    # Seconds between pasting a message and pressing Enter (CLIs that swallow a fast Enter).
    enter_delay: ClassVar[float] = 0.0
    bracketed_paste: ClassVar[bool] = True
    # The CLI keeps what is typed while it works and takes it when its turn ends (eager inbox delivery).
    queues_input_while_busy: ClassVar[bool] = False
    startup_dialogs: ClassVar[tuple[StartupDialog, ...]] = ()
    # Seen anywhere in the output stream (ANSI removed) after a message was sent, this proves the
    # agent started working on it, even if the turn ended before the screen was next evaluated.
    busy_cue: ClassVar[re.Pattern[str] | None] = None
    # How long a turn's screen must read completed before the turn is taken as completed: for a CLI
    # that, on Esc, draws one frame that reads so before it says the turn was cancelled.
    completed_settle_s: ClassVar[float] = 0.0
    # Prefixes of the server's environment variables this CLI needs (keys, endpoints, its own switches).
    env_passthrough: ClassVar[tuple[str, ...]] = ()
    # The version range cao was tested with, e.g. ("2.1.197",); shown by `cao doctor`.
    tested_versions: ClassVar[tuple[str, ...]] = ()
    version_args: ClassVar[tuple[str, ...]] = ("--version",)
    # False: written from the CLI's documentation only, never run by cao (the CLI cannot be installed
    # or run offline here); `cao doctor`, the providers API and docs/providers.md say "untested".
    verified: ClassVar[bool] = True
    # The CLI loads SKILL.md folders itself from a folder cao can give each terminal (``ctx.skills``).
    native_skills: ClassVar[bool] = False

    @classmethod
    def endpoint_url(cls, ctx: LaunchContext) -> str | None:
        """The model endpoint a team file's named model gives this CLI (``base_url``), or None. Only for the
        provider it was written for: a fallback to another CLI keeps that CLI's own endpoint."""
        profile = ctx.profile
        if profile is None or not profile.base_url or profile.provider != cls.name:
            return None
        return profile.base_url

    def resolve_binary(self) -> str:
        """The binary on PATH, else the pinned one from scripts/install-real-clis."""
        pinned = real_clis.bin_dir()
        path = shutil.which(self.binary) or shutil.which(self.binary, path=str(pinned))
        if path is None:
            raise ProviderUnavailable(
                f"provider {self.name!r} needs the {self.binary!r} command, which is neither on PATH "
                f"nor in {pinned}; install it with: {self.package_hint}"
            )
        return path

    def is_installed(self) -> bool:
        try:
            self.resolve_binary()
        except ProviderUnavailable:
            return False
        return True

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        raise NotImplementedError

    def detect(self, lines: Sequence[str]) -> Status:
        raise NotImplementedError

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        raise NotImplementedError

    def recorded_reply(self, runtime_dir: Path, lines: Sequence[str], shown: str) -> str | None:
        """The last reply as the CLI saved it, when its screen changes a reply's rows (wraps long lines,
        draws a blank row twice); ``shown`` is the one read from ``lines``. None: the screen's stands."""
        return None

    def ended_unanswered(self, lines: Sequence[str]) -> bool:
        """Asked only once the CLI's interrupt keys were pressed in this turn: whether the screen shows
        the turn stopped without an answer, though alone it reads otherwise (the previous answer, as a
        completed turn; or the task taken, as one still being worked on)."""
        return False
