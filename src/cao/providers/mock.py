"""Provider for ``cao-mock-agent``, the offline stand-in CLI that ships with cao.

Screen cues (see docs/mock-agent.md; all anchored at column 0, where reply text never is,
because reply lines after the first are indented by two spaces):

* idle prompt box: a ``❯`` line directly below a rule of ``─``, with another rule below;
* processing: the spinner line ``✶ Working… (2s · esc to interrupt)``;
* permission: a box holding ``Do you want to proceed?`` and ``❯ 1. Yes``;
* end of turn: ``✻ Done in 0.3s``; error: ``✗ Error: <message>``; task echo: ``> <task>``;
* reply block: ``● <first line>`` then lines indented by two spaces.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import ClassVar

from cao.providers.base import CAO_SERVER, LaunchContext, LaunchSpec, Provider, cao_mcp_http, profile_mcp_servers
from cao.status import Status

RULE_RE = re.compile(r"^─+$")
PROMPT_RE = re.compile(r"^❯(?: |$)")
SPINNER_RE = re.compile(r"^[^\s│●>✻✗].*\besc to interrupt\b")
PERMISSION_RE = re.compile(r"Do you want to proceed\?")
PERMISSION_YES_RE = re.compile(r"❯ 1\. Yes")
DONE_RE = re.compile(r"^✻ Done in \d")
ERROR_RE = re.compile(r"^✗ Error:")
ECHO_RE = re.compile(r"^>(?: |$)")
REPLY_RE = re.compile(r"^●(?: |$)")
TOOL_LINE_RE = re.compile(r"^  ⎿  ")
MAX_BOX_ROWS = 8  # rows between the ❯ line and the rule below it (input is at most 5 rows)
PASSED_ENV = ("CAO_MOCK_SCRIPT", "CAO_MOCK_TRACE")


def _prompt_box(lines: Sequence[str]) -> int | None:
    """Index of the first rule of the last idle prompt box on screen, or None."""
    for i in range(len(lines) - 1, 0, -1):
        if PROMPT_RE.match(lines[i]) and RULE_RE.match(lines[i - 1]):
            below = lines[i + 1 : i + 2 + MAX_BOX_ROWS]
            if any(RULE_RE.match(line) for line in below):
                top = i - 1
                while top > 0 and RULE_RE.match(lines[top - 1]):  # a rule wrapped by a resize
                    top -= 1
                return top
    return None


class MockProvider(Provider):
    name: ClassVar[str] = "mock"
    binary: ClassVar[str] = "cao-mock-agent"
    package_hint: ClassVar[str] = "pip install cao (cao-mock-agent ships with cao)"
    busy_cue: ClassVar[re.Pattern[str] | None] = re.compile(r"esc to interrupt")
    queues_input_while_busy: ClassVar[bool] = True

    def resolve_binary(self) -> str:
        # Run the module with cao's own interpreter: absolute and always installed.
        return sys.executable

    def mcp_config(self, ctx: LaunchContext) -> dict[str, dict[str, object]]:
        """cao's own MCP server (as ``cao``) plus the profile's servers, in the CLI config shape."""
        servers: dict[str, dict[str, object]] = {CAO_SERVER: {"type": "http", **cao_mcp_http(ctx)}}
        for name, server in profile_mcp_servers(ctx).items():
            servers[name] = {"command": server.command, "args": list(server.args), "env": dict(server.env)}
        return {"mcpServers": servers}

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        argv = [self.resolve_binary(), "-m", "cao.mock_agent"]
        files = {}
        if ctx.profile is not None:
            argv += ["--name", ctx.profile.name]
        if ctx.system_prompt:
            path = ctx.runtime_dir / "system_prompt.md"
            files[path] = ctx.system_prompt
            argv += ["--system-prompt-file", str(path)]
        mcp_path = ctx.runtime_dir / "mcp.json"
        files[mcp_path] = json.dumps(self.mcp_config(ctx), indent=2) + "\n"
        argv += ["--mcp-config", str(mcp_path)]
        if ctx.model:
            argv += ["--model", ctx.model]
        if ctx.yolo:
            argv.append("--yolo")
        # Let a test or demo steer the agent through cao-server's environment.
        env = {key: os.environ[key] for key in PASSED_ENV if os.environ.get(key)}
        return LaunchSpec(argv=argv, env=env, files=files, uses_cao_mcp=True)

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        box = _prompt_box(lines)
        after = lines if box is None else lines[box:]
        ask = max((i for i, line in enumerate(lines) if PERMISSION_RE.search(line)), default=None)
        if (
            ask is not None
            and (box is None or box < ask)  # no idle prompt below the question
            and any(PERMISSION_YES_RE.search(line) for line in lines[ask : ask + 4])
            and not any(SPINNER_RE.match(line) for line in lines[ask:])
        ):
            return Status.WAITING_USER_ANSWER
        if any(SPINNER_RE.match(line) for line in after):
            return Status.PROCESSING
        if box is None:
            return Status.UNKNOWN
        start = max((i for i in range(box) if ECHO_RE.match(lines[i])), default=-1)
        block = lines[start + 1 : box]
        if any(ERROR_RE.match(line) for line in block):
            return Status.ERROR
        if any(DONE_RE.match(line) for line in block):
            return Status.COMPLETED
        return Status.IDLE

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        start = None
        for i in range(len(lines) - 1, -1, -1):
            if REPLY_RE.match(lines[i]):
                start = i
                break
        if start is None:
            return None
        body = [lines[start].rstrip()[2:]]
        for raw in lines[start + 1 :]:
            line = raw.rstrip()
            if line and (not line.startswith("  ") or TOOL_LINE_RE.match(line)):
                break  # the end marker, an error, a prompt box, the next echo...
            body.append(line[2:])
        while len(body) > 1 and not body[-1]:
            body.pop()
        return "\n".join(body)
