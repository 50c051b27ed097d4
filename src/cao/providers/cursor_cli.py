"""Provider for Cursor CLI (``cursor-agent``) — UNTESTED: written from Cursor's CLI documentation and the
public CAO's description of its provider (shared/reference/upstream-cao-spec.md §8.8), never run by cao:
Cursor's CLI is not on npm or PyPI (its own installer downloads it) and needs a Cursor account and
Cursor's servers for every model call, so it cannot run here. See docs/providers/untested.md.

Launch: ``cursor-agent [--force] [--model M] --plugin-dir <runtime dir>/cursor-plugin --approve-mcps``
(``--force``, Cursor's "run everything", only for yolo): cao's MCP endpoint goes into the plugin
directory's ``mcp.json`` (0600, the only place the token is). Two gaps cao cannot close here:
Cursor's CLI takes **no system prompt** (the public CAO found its backend rejects one), so the profile's
prompt does not reach the agent; and it has **no tool restriction switch** (its permissions live in
the user's ``~/.cursor/cli-config.json`` or the project's ``.cursor/cli.json``), so a restricted
profile is refused rather than run with more tools than it grants.

Screen cues: busy ``ctrl+c to stop``; input placeholder ``Plan, search, build anything`` before the
first task and ``Add a follow-up`` after a turn; status bar ``Run Everything`` / ``Composer N``;
dialogs ``↑/↓ to navigate``; the workspace trust question ``Do you trust the contents of this directory?``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from cao.errors import InvalidInput
from cao.providers.base import CAO_SERVER, LaunchContext, LaunchSpec, Provider, cao_mcp_http, profile_mcp_servers
from cao.status import Status

BUSY_RE = re.compile(r"ctrl\+c to stop")
FIRST_RE = re.compile(r"Plan, search, build anything")
FOLLOW_UP_RE = re.compile(r"Add a follow-up")
DIALOG_RE = re.compile(r"↑/↓ to navigate|Do you trust the contents of this directory\?|\(y\) \(n\)|Run this command\?")
BOX_RE = re.compile(r"^\s*[┌╭]─")  # the input box's top border
ERROR_RE = re.compile(r"^\s*(?:Error|ERROR):")


class CursorCliProvider(Provider):
    name: ClassVar[str] = "cursor_cli"
    binary: ClassVar[str] = "cursor-agent"
    package_hint: ClassVar[str] = "Cursor's own CLI installer (see cursor.com/docs/cli); it is not on npm or PyPI"
    exit_command: ClassVar[str] = "/exit"
    verified: ClassVar[bool] = False
    busy_cue: ClassVar[re.Pattern[str] | None] = BUSY_RE
    env_passthrough: ClassVar[tuple[str, ...]] = ("CURSOR_",)

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        if ctx.allowed_tools and "*" not in ctx.allowed_tools:
            raise InvalidInput("provider 'cursor_cli' cannot restrict an agent's tools (Cursor's CLI has no switch for "
                               "it), so it does not run a profile with allowedTools/role limits; use a profile "
                               "that grants '*', or another provider")
        servers: dict[str, Any] = {}
        http = cao_mcp_http(ctx)
        servers[CAO_SERVER] = {"url": http["url"], "headers": http["headers"]}
        for name, server in profile_mcp_servers(ctx).items():
            servers[name] = server.model_dump(exclude_none=True)
        plugin = ctx.runtime_dir / "cursor-plugin"
        files = {plugin / "mcp.json": json.dumps({"mcpServers": servers}, indent=2) + "\n"}
        argv = [self.resolve_binary()]
        if ctx.yolo:
            argv.append("--force")
        if ctx.model:
            argv += ["--model", ctx.model]
        argv += ["--plugin-dir", str(plugin), "--approve-mcps"]
        return LaunchSpec(argv=argv, files=files, uses_cao_mcp=True)

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        tail = lines[-12:]
        if any(BUSY_RE.search(line) for line in tail):
            return Status.PROCESSING
        if any(DIALOG_RE.search(line) for line in tail):
            return Status.WAITING_USER_ANSWER
        if any(FOLLOW_UP_RE.search(line) for line in tail):
            box = self._box(lines)
            above = [line for line in lines[:box] if line.strip()] if box is not None else []
            return Status.ERROR if above and ERROR_RE.match(above[-1]) else Status.COMPLETED
        if any(FIRST_RE.search(line) for line in tail):
            return Status.IDLE
        return Status.UNKNOWN

    @staticmethod
    def _box(lines: Sequence[str]) -> int | None:
        return next((i for i in range(len(lines) - 1, -1, -1) if BOX_RE.match(lines[i])), None)

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        """The last paragraph block above the input box (Cursor's layout was never recorded by cao)."""
        lines = [line.rstrip() for line in lines]
        box = self._box(lines)
        if box is None:
            return None
        body = lines[:box]
        while body and not body[-1].strip():
            body.pop()
        start = len(body)
        while start > 0 and body[start - 1].strip():
            start -= 1
        text = "\n".join(line.strip() for line in body[start:])
        return text or None
