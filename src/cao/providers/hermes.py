"""Provider for Hermes Agent (``hermes``, PyPI ``hermes-agent``, tested with 0.19.0). See docs/providers/hermes.md.

Hermes reads MCP servers only from ``$HERMES_HOME/config.yaml`` (default ``~/.hermes``), so, as for
Gemini CLI, cao gives each terminal its own ``HERMES_HOME`` in the runtime directory: ``config.yaml``
is the user's own plus cao's MCP endpoint over HTTP (the only place the terminal's token is) and the
profile's servers, and every other entry of the real home (``.env`` with the keys, sessions, memories,
skills, ``SOUL.md``…) is linked in, so nothing of the user's is written. The profile prompt goes in as
``HERMES_EPHEMERAL_SYSTEM_PROMPT`` (Hermes' own switch; read from a file by ``/bin/sh``, since tmux
refuses long commands). A restricted profile gets ``--toolsets`` with only the toolsets it grants.

Hermes asks before a *dangerous* shell command only (its own pattern list; ``--yolo`` turns even that
off): an ordinary command runs unasked in both modes.

Screen cues (plain rows): the input row ``❯`` between two rules at the bottom, a status row above them
(``⏲`` idle, ``⏱ 4s`` busy); busy input row ``⚕ ❯ msg=interrupt · /queue · … Ctrl+C cancel``; task echo
``● task`` under a short rule; answer box ``╭─ ⚕ Hermes ───╮`` with rows indented by four spaces and
``╰───╯``; error `` ─  ⚕ Hermes  ───`` with the message indented by five; a dangerous command asks in a
box (``⚠️  Dangerous Command``, ``❯ 1. Allow once`` … ``4. Deny``, ``↑/↓ to select, Enter to confirm``)
and the input row reads ``⚠ ❯``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import yaml

from cao import real_clis
from cao.errors import ProviderUnavailable
from cao.providers.base import (
    CAO_SERVER,
    LaunchContext,
    LaunchSpec,
    Provider,
    cao_mcp_http,
    granted,
    profile_mcp_servers,
)
from cao.status import Status

RULE_RE = re.compile(r"^─{20,}$")
STATUS_ROW_RE = re.compile(r"^ ⚕ \S.* │ ")  # the status row above the input box
INPUT_RE = re.compile(r"^(?:⚕ |⚠ )?❯(?: |$)")
BUSY_RE = re.compile(r"msg=interrupt|Ctrl\+C cancel")
QUESTION_RE = re.compile(r"↑/↓ to select, Enter to confirm|Dangerous Command|Hermes needs your input|"
                         r"Other \(type your answer\)")
ECHO_RE = re.compile(r"^● ")
WELCOME_RE = re.compile(r"^Welcome to Hermes Agent!|Hermes Agent v\d")  # the banner and the row under it
ANSWER_TOP_RE = re.compile(r"^╭─ ⚕ Hermes ─")
ANSWER_END_RE = re.compile(r"^╰─+╯$")
ERROR_TOP_RE = re.compile(r"^ ─  ⚕ Hermes  ─")
ERROR_END_RE = re.compile(r"^ ─{20,}$")
SESSION_RE = re.compile(r"\bSession: (\d{8}_\d{6}_[0-9a-f]+)\b")  # in the banner
INTERRUPTED_RE = re.compile(r"^⚡ Interrupted|^ {5}Operation interrupted")  # Ctrl+C mid-turn
CAO_TOOL_TIMEOUT_S = 3900  # longer than the longest handoff (3600 s)
# The prompt file goes in as one argument, read by the shell (tmux refuses commands over ~16 KB).
SH_PROMPT = 'HERMES_EPHEMERAL_SYSTEM_PROMPT=$(cat "$1"); export HERMES_EPHEMERAL_SYSTEM_PROMPT; shift; exec "$@"'
# cao's tool vocabulary → Hermes' toolsets (``--toolsets``); "file" holds reading and writing together,
# so it needs all three file grants.
TOOLSETS = {"execute_bash": ("terminal", "code_execution", "delegation"), "web_fetch": ("web", "browser")}
FILE_GRANTS = {"fs_read", "fs_write", "fs_list"}
ALWAYS = ("clarify", "todo")


def hermes_home() -> Path:
    configured = os.environ.get("HERMES_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".hermes"


def _user_config(home: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((home / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


class HermesProvider(Provider):
    name: ClassVar[str] = "hermes"
    binary: ClassVar[str] = "hermes"
    package_hint: ClassVar[str] = "uv tool install 'hermes-agent[mcp]==0.19.0' (or pip install 'hermes-agent[mcp]')"
    exit_command: ClassVar[str] = "/exit"
    interrupt_keys: ClassVar[tuple[str, ...]] = ("C-c",)  # Esc does not cancel a turn here
    bracketed_paste: ClassVar[bool] = True
    busy_cue: ClassVar[re.Pattern[str] | None] = BUSY_RE
    env_passthrough: ClassVar[tuple[str, ...]] = ("HERMES_", "OPENROUTER_", "NOUS_")
    # Its bottom area is redrawn in parts around streamed output; read a finished turn once it holds.
    completed_settle_s: ClassVar[float] = 0.3
    tested_versions: ClassVar[tuple[str, ...]] = ("0.19.0",)

    def resolve_binary(self) -> str:
        """On PATH, else where scripts/install-real-clis puts it (``<dir>-hermes/bin``, from PyPI)."""
        pinned = Path(f"{real_clis.bin_dir().parents[1]}-hermes") / "bin"
        path = shutil.which(self.binary) or shutil.which(self.binary, path=str(pinned))
        if path is None:
            raise ProviderUnavailable(f"provider {self.name!r} needs the {self.binary!r} command, which is neither on "
                                      f"PATH nor in {pinned}; install it with: {self.package_hint}")
        return path

    def mcp_servers(self, ctx: LaunchContext) -> dict[str, dict[str, Any]]:
        allowed = set(ctx.allowed_tools or ("*",))
        servers: dict[str, dict[str, Any]] = {}
        if allowed & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            http = cao_mcp_http(ctx)
            servers[CAO_SERVER] = {"url": http["url"], "headers": http["headers"], "timeout": CAO_TOOL_TIMEOUT_S}
        for name, server in profile_mcp_servers(ctx).items():
            entry: dict[str, Any] = {"command": server.command, "args": list(server.args)}
            if server.env:
                entry["env"] = server.env
            servers[name] = entry
        return servers

    @staticmethod
    def toolsets(ctx: LaunchContext, servers: Sequence[str]) -> list[str] | None:
        """The toolsets a restricted profile grants (None: no restriction)."""
        allowed = ctx.allowed_tools or None
        if allowed is None or "*" in allowed:
            return None
        names = granted(allowed)
        sets = [toolset for key, group in TOOLSETS.items() if key in names for toolset in group]
        if names >= FILE_GRANTS:
            sets.append("file")
        return [*sets, *ALWAYS, *(f"mcp-{server}" for server in servers)]

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        real = hermes_home()
        home = ctx.runtime_dir / "hermes-home"
        servers = self.mcp_servers(ctx)
        config = _user_config(real)
        config["mcp_servers"] = {**(config.get("mcp_servers") or {}), **servers}
        files: dict[Path, str] = {home / "config.yaml": yaml.safe_dump(config, sort_keys=False)}
        self._link_user_home(real, home)
        argv = [self.resolve_binary(), "chat"]
        if ctx.yolo:
            argv.append("--yolo")
        if ctx.model:
            argv += ["-m", ctx.model]
        sets = self.toolsets(ctx, list(servers))
        if sets is not None:
            argv += ["--toolsets", ",".join(sets)]
        if ctx.system_prompt:
            path = ctx.runtime_dir / "system_prompt.md"
            files[path] = ctx.system_prompt + "\n"
            argv = ["/bin/sh", "-c", SH_PROMPT, "cao-hermes", str(path), *argv]
        return LaunchSpec(argv=argv, env={"HERMES_HOME": str(home)}, files=files, uses_cao_mcp=CAO_SERVER in servers)

    @staticmethod
    def _link_user_home(real: Path, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not real.is_dir():
            return
        for entry in real.iterdir():
            target = home / entry.name
            if entry.name != "config.yaml" and not target.exists() and not target.is_symlink():
                target.symlink_to(entry)

    # --- the screen ---------------------------------------------------------------------------

    @staticmethod
    def _input_row(lines: Sequence[str]) -> int | None:
        """The input row: between two rules, the last such on screen."""
        for i in range(len(lines) - 2, 0, -1):
            if INPUT_RE.match(lines[i]) and RULE_RE.match(lines[i - 1]) and \
                    any(RULE_RE.match(line) for line in lines[i + 1:i + 8]):
                return i
        return None

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        row = self._input_row(lines)
        if row is None:
            return Status.UNKNOWN  # starting: the banner is drawn before the input row
        if any(QUESTION_RE.search(line) for line in lines[max(0, row - 30):row]) and lines[row].startswith("⚠"):
            return Status.WAITING_USER_ANSWER
        if BUSY_RE.search(lines[row]):
            return Status.PROCESSING
        history = lines[:row - 1]
        echo = max((i for i, line in enumerate(history) if ECHO_RE.match(line)), default=None)
        turn = history[echo + 1:] if echo is not None else history
        answer = max((i for i, line in enumerate(turn) if ANSWER_TOP_RE.match(line)), default=None)
        error = max((i for i, line in enumerate(turn) if ERROR_TOP_RE.match(line)), default=None)
        if any(INTERRUPTED_RE.match(line) for line in turn[(answer or 0):]):
            return Status.IDLE  # interrupted: no answer
        if error is not None and (answer is None or error > answer):
            return Status.ERROR
        if answer is not None:
            # The box is drawn as the answer streams in: until its bottom border, the turn goes on.
            done = any(ANSWER_END_RE.match(line) for line in turn[answer + 1:])
            return Status.COMPLETED if done else Status.PROCESSING
        if echo is None:
            # No echo on screen: no turn yet, or an answer longer than the screen (its box's bottom only).
            if any(WELCOME_RE.search(line) for line in history):
                return Status.IDLE
            rows = [line for line in history if line.strip() and not STATUS_ROW_RE.match(line)]
            if rows and rows[-1].startswith("    "):
                return Status.PROCESSING  # a long answer still streaming in: its box is not closed yet
            return Status.COMPLETED if self._tail_of_answer(history) else Status.IDLE
        # A task echoed and nothing after it yet: Hermes redraws its input row idle a moment before it
        # prints the answer (an interrupted turn says so, above).
        return Status.PROCESSING

    @staticmethod
    def _tail_of_answer(rows: Sequence[str]) -> bool:
        """The bottom of an answer box whose top scrolled off (not the banner's: its rows start with │)."""
        end = max((i for i, line in enumerate(rows) if ANSWER_END_RE.match(line)), default=None)
        return end is not None and end > 0 and rows[end - 1].startswith("    ")

    def recorded_reply(self, runtime_dir: Path, lines: Sequence[str], shown: str) -> str | None:
        """The session's last message in Hermes' own store (``state.db``, the banner names the session),
        when it is the reply on screen word for word: the screen adds a blank row now and then and wraps
        long lines, the store has the model's text."""
        session = next((m.group(1) for line in reversed(lines) if (m := SESSION_RE.search(line))), None)
        db = runtime_dir / "hermes-home" / "state.db"
        if session is None or not db.exists():
            return None
        try:
            with contextlib.closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1)) as con:
                row = con.execute("SELECT role, content FROM messages WHERE session_id = ? AND active = 1 "
                                  "ORDER BY id DESC LIMIT 1", (session,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or row[0] != "assistant" or not isinstance(row[1], str):
            return None
        text = row[1].strip("\n")
        return text if text.split() == shown.split() else None  # else: not saved yet, or rendered otherwise

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        lines = [line.rstrip() for line in lines]
        row = self._input_row(lines)
        history = lines[:row - 1] if row is not None else lines
        echo = max((i for i, line in enumerate(history) if ECHO_RE.match(line)), default=-1)
        turn = history[echo + 1:]
        if any(INTERRUPTED_RE.match(line) for line in turn):
            return None
        top = max((i for i, line in enumerate(turn) if ANSWER_TOP_RE.match(line) or ERROR_TOP_RE.match(line)),
                  default=None)
        if top is None:
            if echo >= 0 or any(WELCOME_RE.search(line) for line in turn):
                return None
            end = max((i for i, line in enumerate(turn) if ANSWER_END_RE.match(line)), default=None)
            if end is None:
                return None
            start = end  # the tail of an answer whose box top scrolled off: its indented rows above the end
            while start > 0 and (turn[start - 1].startswith("    ") or not turn[start - 1]):
                start -= 1
            body, indent = turn[start:end], 4
        else:
            is_error = bool(ERROR_TOP_RE.match(turn[top]))
            end_re = ERROR_END_RE if is_error else ANSWER_END_RE
            end = next((i for i in range(top + 1, len(turn)) if end_re.match(turn[i])), None)
            if end is None:
                return None  # still being drawn
            body, indent = turn[top + 1:end], 5 if is_error else 4
        text = [line[indent:] if line[:indent].isspace() else line.strip() for line in body]
        # Hermes now and then draws a paragraph's blank row twice (seen in 1 of ~10 runs under load, the
        # model's text having one): the screen cannot tell that from two blank rows, so runs become one.
        text = [line for i, line in enumerate(text) if line or (i > 0 and text[i - 1])]
        while text and not text[0]:
            text.pop(0)
        while text and not text[-1]:
            text.pop()
        return "\n".join(text) or None
