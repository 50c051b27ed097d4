"""Provider for OpenAI's Codex CLI (``codex``, tested with 0.169.0 and 0.171.0); see docs/providers/codex.md.

Everything per terminal goes in as ``-c`` overrides; the user's ``~/.codex/config.toml`` (model
provider, keys) is read by Codex as usual and never written by cao. The profile prompt is one TOML
string in the runtime dir that ``/bin/sh`` reads into ``-c developer_instructions=…`` (tmux refuses
commands over ~16 KB). The TUI runs inline (``--no-alt-screen``) so whole replies stay in scrollback.

cao's MCP endpoint is an HTTP server whose bearer token must stay out of argv (``ps`` shows it to
every local user) and out of the environment: its header lives in a 0600 file in the runtime dir,
and Codex reads it through ``http_headers_helper``, a command it runs with ``sh -c`` when it connects.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from cao.providers import codex_hooks
from cao.providers.base import (
    CAO_SERVER,
    LaunchContext,
    LaunchSpec,
    Provider,
    StartupDialog,
    cao_mcp_http,
    granted,
    profile_mcp_servers,
    team_rules,
)
from cao.status import Status

COMPOSER_RE = re.compile(r"^› ")
# Below the composer: the model/cwd line (``gpt-5.1-codex default · /work``), drawn once the session
# is configured (the first frames show ``? for shortcuts`` under a ``loading`` header: not ready yet).
FOOTER_RE = re.compile(r"^  \S.* · [/~]")
MENU_FOOTER_RE = re.compile(r"Press enter to confirm|enter to submit|enter to confirm|enter confirm|enter continue")
MENU_OPTION_RE = re.compile(r"^\s*› \d+\. ")
SPINNER_RE = re.compile(r"^[•◦] .*\((?:\d+[hms] ?)+• esc to interrupt\)")
DONE_RE = re.compile(r"^  Worked for (?:<1s|(?:\d+[hms] ?)+)")
ERROR_RE = re.compile(r"^■ ")
HEADER_RE = re.compile(r"OpenAI Codex \(v\d")
INTERRUPTED_RE = re.compile(r"^■ Conversation interrupted")
BULLET_RE = re.compile(r"^• ")
HISTORY_RE = re.compile(r"^[•◦■] |^  Worked for ")  # a transcript cell: never below the composer
# Tool cells (not replies): the header shapes Codex draws; most also have a ``  └`` line below.
TOOL_HEADER_RE = re.compile(r"^• (?:(?:Called|Calling|Failed) [\w-]+\.[\w-]+\("
                            r"|(?:Edited|Added|Deleted) \S+ \(\+\d+ -\d+\)"
                            r"|(?:Explored|Exploring|Waited|Waiting|Ran|Running)$)")
# $1: a file holding one line, a TOML string; the rest: codex's argv. Builtins only (no cat on PATH needed).
SH_READ_INSTRUCTIONS = 'IFS= read -r v < "$1" || :; shift; exec "$@" -c "developer_instructions=$v"'
TOOL_TIMEOUT_S = 3900.0  # above cao's longest handoff (3600 s); Codex's default is 60 s
HEADERS_FILE = "cao-mcp-headers.json"  # in the runtime dir: cao's MCP headers, token included (0600)
# cao's tool vocabulary → the Codex features that offer those tools, switched off (``features.<name>=false``)
# when not granted: Codex then neither offers nor runs them ("unsupported call"), yolo or not (checked on 0.169).
NATIVE_FEATURES = {
    "execute_bash": ("shell_tool", "unified_exec", "multi_agent"),  # shell, exec_command/write_stdin, sub-agents
    "fs_read": ("view_image",),
}
TOOL_WORDS = {"execute_bash": "running shell commands", "fs_read": "reading files", "fs_write": "writing files",
              "fs_list": "listing files", "fs_*": "reading, writing and listing files", "web_fetch": "web access"}


def toml_value(value: object) -> str:
    """A TOML value for ``-c key=<value>``: strings as basic strings, tables inline with quoted keys."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def restriction_note(tools: Sequence[str] | None) -> str | None:
    """The restrictions in words, for the instructions: the part Codex cannot switch off (fs_list, MCP) is soft."""
    if not tools or "*" in tools:
        return None
    names = [TOOL_WORDS.get(t, f"the {t[1:]} MCP server" if t.startswith("@") else t) for t in tools]
    return ("You only have access to these tools: " + ", ".join(tools) + " (" + "; ".join(names) + "). "
            "Do not use any other tool, and do not run shell commands or change files unless those are listed.")


def _withheld(allowed: Sequence[str] | None, tool: str) -> bool:
    """Whether a restricted ``allowed`` list (not None, no ``*``) leaves out cao's ``tool``."""
    return allowed is not None and "*" not in allowed and tool not in granted(allowed)


def _project_roots(cwd: Path) -> list[str]:
    roots = [str(cwd)]
    for parent in [cwd, *cwd.parents]:
        if (parent / ".git").exists():
            if str(parent) not in roots:
                roots.append(str(parent))
            break
    return roots


class CodexProvider(Provider):
    name: ClassVar[str] = "codex"
    binary: ClassVar[str] = "codex"
    package_hint: ClassVar[str] = "npm install -g @openai/codex"
    tested_versions: ClassVar[tuple[str, ...]] = ("0.169.0", "0.171.0")
    exit_command: ClassVar[str] = "/exit"
    enter_delay: ClassVar[float] = 0.0  # disable_paste_burst=true makes Codex take Enter right after a paste
    busy_cue: ClassVar[re.Pattern[str] | None] = re.compile(r"esc to interrupt")
    env_passthrough: ClassVar[tuple[str, ...]] = ("CODEX_",)  # OPENAI_* passes for every agent
    startup_dialogs: ClassVar[tuple[StartupDialog, ...]] = (
        # Avoided by the projects override below; answered if a future version asks anyway.
        StartupDialog(re.compile(r"Trust this folder\?|Do you trust the contents of this directory"), ("Enter",)),
    )

    @staticmethod
    def headers_file(ctx: LaunchContext) -> Path:
        return ctx.runtime_dir / HEADERS_FILE

    def mcp_servers(self, ctx: LaunchContext) -> dict[str, dict[str, object]]:
        servers: dict[str, dict[str, object]] = {}
        if set(ctx.allowed_tools or ("*",)) & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            # The helper prints the headers file (one JSON line) with shell builtins only: no PATH needed.
            helper = f"IFS= read -r h < {shlex.quote(str(self.headers_file(ctx)))} && printf '%s' \"$h\""
            servers[CAO_SERVER] = {"url": cao_mcp_http(ctx)["url"], "http_headers_helper": helper,
                                   "default_tools_approval_mode": "approve", "tool_timeout_sec": TOOL_TIMEOUT_S}
        for name, server in profile_mcp_servers(ctx).items():
            entry: dict[str, object] = {"command": server.command, "args": list(server.args)}
            if server.env:
                entry["env"] = dict(server.env)
            servers[re.sub(r"[^A-Za-z0-9_-]", "_", name)] = entry
        return servers

    @staticmethod
    def provider_keys() -> dict[str, str]:
        """The API-key variables the user's Codex config names (``model_providers.*.env_key``), from cao's env."""
        home = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")
        try:
            config = tomllib.loads((home / "config.toml").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        providers = config.get("model_providers")
        keys = {p.get("env_key") for p in providers.values() if isinstance(p, dict)} if isinstance(
            providers, dict) else set()
        return {k: os.environ[k] for k in keys if isinstance(k, str) and os.environ.get(k)}

    @staticmethod
    def withheld(ctx: LaunchContext) -> set[str]:
        """cao's tools this terminal goes without: those its toolsets leave out, those its team denies whole."""
        tools = {tool for tool in (*NATIVE_FEATURES, "fs_write", "web_fetch") if _withheld(ctx.allowed_tools, tool)}
        return tools | {rule["tool"] for rule in team_rules(ctx, "deny") if rule["command"] is None}

    @classmethod
    def restriction_overrides(cls, ctx: LaunchContext) -> dict[str, object]:
        """The ``-c`` overrides that take away what the terminal goes without (yolo or not)."""
        withheld = cls.withheld(ctx)
        overrides: dict[str, object] = {
            f"features.{name}": False for tool in NATIVE_FEATURES if tool in withheld for name in NATIVE_FEATURES[tool]}
        if "web_fetch" in withheld:
            overrides["web_search"] = "disabled"
        return overrides

    @classmethod
    def approval_args(cls, ctx: LaunchContext) -> list[str]:
        """Approval policy and sandbox: without fs_write the sandbox is read-only, and yolo keeps it (the bypass
        flag would drop the sandbox; ``never`` also refuses the TUI's approval-gated tools, e.g. create_worktree)."""
        read_only = "fs_write" in cls.withheld(ctx)
        if not ctx.yolo:
            return ["--ask-for-approval", "on-request", *(["--sandbox", "read-only"] if read_only else [])]
        if read_only:
            return ["--ask-for-approval", "never", "--sandbox", "read-only"]  # no prompts, still no writes
        return ["--dangerously-bypass-approvals-and-sandbox"]

    def instructions(self, ctx: LaunchContext) -> str:
        parts = [restriction_note(ctx.allowed_tools),
                 ctx.system_prompt or None]
        return "\n\n".join(p for p in parts if p)

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        codex = self.resolve_binary()
        overrides: dict[str, object] = {
            "disable_paste_burst": True,  # else an Enter right after a paste is taken as pasted text (P2)
            "check_for_update_on_startup": False,
            # Trust the working directory for this run only (no dialog, nothing written to config.toml).
            "projects": {root: {"trust_level": "trusted"} for root in _project_roots(ctx.working_directory)},
        }
        servers = self.mcp_servers(ctx)
        overrides.update({f"mcp_servers.{n}": s for n, s in servers.items()})
        overrides.update(self.restriction_overrides(ctx))
        overrides.update(codex_hooks.overrides(ctx))
        if endpoint := self.endpoint_url(ctx):
            overrides["openai_base_url"] = endpoint  # Codex's built-in openai provider (not a model_providers entry)
        argv = [codex, "--no-daemon", "--no-alt-screen"]
        for key, value in overrides.items():
            argv += ["-c", f"{key}={toml_value(value)}"]
        if ctx.model:
            argv += ["-m", ctx.model]
        argv += self.approval_args(ctx)
        files: dict[Path, str] = {}
        if CAO_SERVER in servers:
            files[self.headers_file(ctx)] = json.dumps(cao_mcp_http(ctx)["headers"]) + "\n"
        text = self.instructions(ctx)
        if text:
            path = ctx.runtime_dir / "developer_instructions.toml"
            files[path] = toml_value(text) + "\n"
            # The file is one TOML string; the shell only substitutes it, as a single argument.
            argv = ["/bin/sh", "-c", SH_READ_INSTRUCTIONS, "cao-codex", str(path), *argv]
        return LaunchSpec(argv=argv, env=self.provider_keys(), files=files, uses_cao_mcp=CAO_SERVER in servers)

    # --- the screen ---------------------------------------------------------------------------

    @staticmethod
    def _composer(lines: Sequence[str]) -> int | None:
        """Index of the input row: the last ``› `` row (not a menu option) with no transcript cell below."""
        for i in range(len(lines) - 1, -1, -1):
            if HISTORY_RE.match(lines[i]):
                return None
            if COMPOSER_RE.match(lines[i]) and not MENU_OPTION_RE.match(lines[i]):
                # Without its footer it is a half-drawn frame (or the echo of a task): not yet readable.
                return i if any(FOOTER_RE.search(line) for line in lines[i + 1:i + 12]) else None
        return None

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        composer = self._composer(lines)
        menu = max((i for i, line in enumerate(lines) if MENU_FOOTER_RE.search(line)), default=None)
        text = "\n".join(lines)
        if composer is None and any(dialog.pattern.search(text) for dialog in self.startup_dialogs):
            return Status.UNKNOWN  # cao answers it while the terminal starts
        if menu is not None and (composer is None or menu > composer) and any(
                MENU_OPTION_RE.match(line) for line in lines[max(0, menu - 20):menu]):
            return Status.WAITING_USER_ANSWER
        if composer is None:
            return Status.UNKNOWN
        if any(SPINNER_RE.match(line) for line in lines[max(0, composer - 12):composer]):
            return Status.PROCESSING
        # The newest end marker decides. Anything drawn after the task's echo without one is a turn
        # still being drawn (the spinner goes before the reply's last rows and the marker arrive).
        content = False
        for line in reversed(lines[:composer]):
            if INTERRUPTED_RE.match(line):
                return Status.IDLE
            if ERROR_RE.match(line):
                return Status.ERROR
            if DONE_RE.match(line):
                return Status.COMPLETED
            if COMPOSER_RE.match(line):  # the echo of the last task
                return Status.PROCESSING if content else Status.IDLE
            if HEADER_RE.search(line):  # the start screen
                return Status.IDLE
            content = content or bool(line.strip())
        return Status.PROCESSING if content else Status.IDLE

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        lines = [line.rstrip() for line in lines]
        end = max((i for i, line in enumerate(lines) if DONE_RE.match(line)), default=len(lines))
        start = None
        for i in range(end - 1, -1, -1):
            if BULLET_RE.match(lines[i]):
                following = next((line for line in lines[i + 1:end] if line), "")
                if not TOOL_HEADER_RE.match(lines[i]) and not following.startswith("  └"):
                    start = i
                    break
        if start is None:
            return None
        body = [lines[start][2:]]
        for line in lines[start + 1:end]:
            if line and not line.startswith("  "):
                break  # the next cell, the composer, an error…
            body.append(line[2:])
        while len(body) > 1 and not body[-1]:
            body.pop()
        return "\n".join(body)
