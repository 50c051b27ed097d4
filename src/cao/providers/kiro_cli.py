"""Provider for Kiro CLI (``kiro-cli``) — UNTESTED: written from Kiro's documentation and the public CAO's
description of its provider (shared/reference/upstream-cao-spec.md §8.3), never run by cao: Kiro is not
on npm or PyPI (its own installer downloads it) and needs a Kiro sign-in, so it cannot run here.
See docs/providers/untested.md.

Launch: ``kiro-cli chat --legacy-ui --agent cao-<terminal id> [--trust-all-tools] [--model M]``. Kiro
takes the system prompt, MCP servers and tool lists only from an agent file, which it looks for in
``.kiro/agents/`` (the project) and ``~/.kiro/agents/`` (global); cao writes a new global one named
``cao-<terminal id>.json`` (0600; it never touches another file there): the prompt as a ``file://``
URI to the runtime directory, cao's MCP endpoint over HTTP with the terminal's token, ``tools`` limited
to what the profile grants (so restrictions hold with ``--trust-all-tools`` too) and ``allowedTools``
= cao's own tools. The legacy interface is used for its plain-text cues.

Screen cues (legacy UI, plain rows): prompt ``[cao-1a2b3c4d] >`` (optionally with ``N% ``, ``λ ``, ``!``),
the task echoed on it; answer rows start with ``> ``; end of turn ``▸ Credits: 0.02 • Time: 3s``;
busy ``Thinking...`` / ``Kiro is working``; start ``Initializing...`` / ``N of M mcp servers
initialized``; permission ``Allow this action? … [y/n/t]:``; error "Kiro is having trouble responding
right now"; the trust-all-tools consent "Kiro is running in trust all tools mode" with ``❯ No, exit``.
"""

from __future__ import annotations

import json
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
    granted,
    profile_mcp_servers,
)
from cao.status import Status

PROMPT_RE = re.compile(r"^\[[\w.-]+\] (?:\d+% )?(?:λ )?!?> ?(?P<text>.*)$")
ANSWER_RE = re.compile(r"^> ")
CREDITS_RE = re.compile(r"▸ Credits: [\d.]+ • Time: ")
BUSY_RE = re.compile(r"Thinking\.\.\.|Kiro is working")
STARTING_RE = re.compile(r"Initializing\.\.\.|\d+ of \d+ mcp servers initialized|Initializing · type to queue")
PERMISSION_RE = re.compile(r"Allow this action\?.*\[y/n/t\]:|Yes, single permission|Trust, always allow")
CONSENT_RE = re.compile(r"running in trust all tools mode")
ERROR_RE = re.compile(r"is having trouble responding right now")
# cao's tool vocabulary → Kiro's built-in tools (its agent file's ``tools`` list).
NATIVE_TOOLS = {"execute_bash": ("execute_bash",), "fs_read": ("fs_read",), "fs_write": ("fs_write",),
                "fs_list": ("fs_read",), "web_fetch": ("web_fetch", "web_search")}


class KiroCliProvider(Provider):
    name: ClassVar[str] = "kiro_cli"
    binary: ClassVar[str] = "kiro-cli"
    package_hint: ClassVar[str] = "Kiro's own installer (see kiro.dev/docs/cli); it is not on npm or PyPI"
    exit_command: ClassVar[str] = "/exit"
    verified: ClassVar[bool] = False
    enter_delay: ClassVar[float] = 0.5  # the public CAO waits 1 s between the paste and Enter
    busy_cue: ClassVar[re.Pattern[str] | None] = BUSY_RE
    env_passthrough: ClassVar[tuple[str, ...]] = ("KIRO_",)
    startup_dialogs: ClassVar[tuple[StartupDialog, ...]] = (
        # Only with --trust-all-tools, i.e. yolo, which the user asked for: "Yes, I accept" (this session).
        StartupDialog(re.compile(r"running in trust all tools mode[\s\S]*❯ No, exit"), ("Down", "Enter")),
    )
    agents_dir: ClassVar[Path] = Path("~/.kiro/agents")
    subcommand: ClassVar[tuple[str, ...]] = ("chat", "--legacy-ui")

    def agent_name(self, ctx: LaunchContext) -> str:
        return f"cao-{ctx.terminal_id}"

    def agent_config(self, ctx: LaunchContext, prompt_file: Path | None) -> dict[str, Any]:
        allowed = ctx.allowed_tools or None
        servers: dict[str, Any] = {}
        names = set(allowed or ("*",))
        if names & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            http = cao_mcp_http(ctx)
            servers[CAO_SERVER] = {"type": "http", "url": http["url"], "headers": http["headers"],
                                   "timeout": 3_900_000}
        for name, server in profile_mcp_servers(ctx).items():
            servers[name] = server.model_dump(exclude_none=True)
        if allowed is None or "*" in allowed:
            tools = ["*"]
        else:
            tools = sorted({t for key, native in NATIVE_TOOLS.items() if key in granted(allowed) for t in native})
            tools += [f"@{name}" for name in servers]
        config: dict[str, Any] = {"name": self.agent_name(ctx), "description": "An agent started by cao",
                                  "tools": tools, "allowedTools": [f"@{CAO_SERVER}"] if CAO_SERVER in servers else [],
                                  "mcpServers": servers}
        if prompt_file is not None:
            config["prompt"] = prompt_file.as_uri()
        if ctx.model:
            config["model"] = ctx.model
        return config

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        files: dict[Path, str] = {}
        prompt_file = None
        if ctx.system_prompt:
            prompt_file = ctx.runtime_dir / "system_prompt.md"
            files[prompt_file] = ctx.system_prompt + "\n"
        config = self.agent_config(ctx, prompt_file)
        agent_file = self.agents_dir.expanduser() / f"{self.agent_name(ctx)}.json"
        files[agent_file] = json.dumps(config, indent=2) + "\n"
        argv = [self.resolve_binary(), *self.subcommand, "--agent", self.agent_name(ctx)]
        if ctx.yolo:
            argv.append("--trust-all-tools")
        if ctx.model:
            argv += ["--model", ctx.model]
        return LaunchSpec(argv=argv, files=files, uses_cao_mcp=CAO_SERVER in config["mcpServers"])

    # --- the screen ---------------------------------------------------------------------------

    @staticmethod
    def _prompts(lines: Sequence[str]) -> list[int]:
        return [i for i, line in enumerate(lines) if PROMPT_RE.match(line)]

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        rows = [i for i, line in enumerate(lines) if line]
        if not rows:
            return Status.UNKNOWN
        prompts = self._prompts(lines)
        if CONSENT_RE.search("\n".join(lines)) and (not prompts or prompts[-1] < rows[-1]):
            return Status.UNKNOWN  # the yolo consent: cao answers it while the terminal starts
        if not prompts or prompts[-1] != rows[-1]:
            # No prompt at the bottom: starting, working, or asking.
            if any(PERMISSION_RE.search(line) for line in lines[(prompts[-1] if prompts else 0):]):
                return Status.WAITING_USER_ANSWER
            if any(STARTING_RE.search(line) for line in lines) and not prompts:
                return Status.UNKNOWN
            return Status.PROCESSING if prompts else Status.UNKNOWN
        last = prompts[-1]
        echo = prompts[-2] if len(prompts) > 1 else None
        turn = lines[echo + 1:last] if echo is not None else []
        if any(PERMISSION_RE.search(line) for line in turn[-3:]):
            return Status.WAITING_USER_ANSWER  # the answer is typed at this prompt
        if echo is None or not PROMPT_RE.match(lines[echo]).group("text"):  # type: ignore[union-attr]
            return Status.IDLE
        if any(ERROR_RE.search(line) for line in turn):
            return Status.ERROR
        if any(ANSWER_RE.match(line) or CREDITS_RE.search(line) for line in turn):
            return Status.COMPLETED
        return Status.IDLE

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        lines = [line.rstrip() for line in lines]
        last_row = max((i for i, line in enumerate(lines) if line), default=-1)
        prompts = [i for i in self._prompts(lines) if i != last_row  # the input row is not an echo
                   and PROMPT_RE.match(lines[i]).group("text")]  # type: ignore[union-attr]
        start = prompts[-1] + 1 if prompts else 0
        heads = [i for i in range(start, len(lines)) if ANSWER_RE.match(lines[i])]
        if not heads:
            return None
        body = [lines[heads[-1]][2:]]
        for line in lines[heads[-1] + 1:]:
            if PROMPT_RE.match(line) or CREDITS_RE.search(line):
                break
            body.append(line)
        while body and not body[-1]:
            body.pop()
        return "\n".join(body)
