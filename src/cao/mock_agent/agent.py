"""The mock agent's idle loop: banner, prompt box, key handling, slash commands, submitting."""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from pathlib import Path

from cao.mock_agent.config import Config
from cao.mock_agent.mcp_call import McpPool
from cao.mock_agent.script import ScriptError, Step, load_script
from cao.mock_agent.tty import Key, Terminal
from cao.mock_agent.turn import ExitRequested, TurnMixin
from cao.mock_agent.ui import Screen, box, clean

ECHO_LINES = 5
SLASH_RE = re.compile(r"^/[A-Za-z][\w-]*$")


class Agent(TurnMixin):
    def __init__(self, config: Config, screen: Screen, term: Terminal) -> None:
        self.cfg = config
        self.screen = screen
        self.term = term
        self.queue: deque[Key] = deque()
        self.input = ""
        self.resized = False
        self.script_mtime = self._script_mtime()
        self.mcp = McpPool(config.mcp_servers) if config.mcp_servers else None
        self.notices: deque[str] = deque()  # filled by the MCP threads, printed by the main thread
        self.collections: dict[str, list[str]] = {}  # "collect" lists, kept across turns

    def close(self) -> None:
        """Close the MCP connections (on any exit)."""
        if self.mcp is not None:
            self.mcp.close()

    def on_mcp_failure(self, name: str, reason: str) -> None:
        self.notices.append(f"  ⎿  MCP server {name} failed: {reason}")

    def flush_notices(self) -> bool:
        """Print pending notices (one line each) into the transcript; True if any was printed."""
        lines = []
        while self.notices:
            lines.append(clean(self.notices.popleft()).replace("\n", " ")[:300])
        if lines:
            self.screen.print(lines)
        return bool(lines)

    # -- helpers -------------------------------------------------------------------------
    def trace(self, event: str) -> None:
        """Append one JSON line to $CAO_MOCK_TRACE, after the matching screen output is flushed."""
        if self.cfg.trace_path:
            with open(self.cfg.trace_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"t": time.time(), "event": event}) + "\n")
                fh.flush()

    def read(self, timeout: float | None) -> None:
        """Read whatever keys arrive within ``timeout`` into the queue."""
        if self.term.eof:
            if timeout:
                time.sleep(timeout)
            return
        self.queue.extend(self.term.read_keys(timeout))

    def _script_mtime(self) -> float | None:
        try:
            return os.stat(self.cfg.script_path).st_mtime if self.cfg.script_path else None
        except OSError:
            return None

    def _reload_script(self) -> None:
        """Re-read the script when its file changed, so a test can change it between turns."""
        mtime = self._script_mtime()
        if mtime is not None and mtime != self.script_mtime:
            self.cfg.script = load_script(self.cfg.script_path)  # an invalid file is retried next turn
            self.script_mtime = mtime

    # -- screen --------------------------------------------------------------------------
    def banner(self, cwd: str) -> None:
        rows = [("name", self.cfg.name or "-"), ("model", self.cfg.model), ("cwd", cwd)]
        if self.cfg.system_prompt:
            rows.append(("system", f"{len(self.cfg.system_prompt)} chars of system prompt"))
        if self.cfg.script_path:
            rows.append(("script", Path(self.cfg.script_path).name))
        if self.cfg.mcp_servers:
            rows.append(("mcp", ", ".join(sorted(self.cfg.mcp_servers))))
        if self.cfg.yolo:
            rows.append(("mode", "yolo (never asks permission)"))
        plain = ["✻ cao mock agent", "", *(f"  {k + ':':<8}{v}" for k, v in rows)]
        drawn = box(plain, self.screen.columns, min_width=50)
        self.screen.print([*drawn, ""])
        self.show_prompt()

    def show_prompt(self) -> None:
        self.screen.prompt_box(self.input)
        self.trace("prompt")

    # -- idle loop -----------------------------------------------------------------------
    def run(self, cwd: str) -> int:
        self.banner(cwd)
        if self.mcp is not None:
            self.mcp.start(self.on_mcp_failure)  # after the first prompt, so it never delays it
        try:
            while True:
                if not self.queue:
                    if self.term.eof:
                        return 0
                    self.read(0.25)
                    if self.flush_notices() and self.screen.live:
                        self.screen.prompt_box(self.input)
                    if self.resized:
                        self.resized = False
                        self.screen.redraw_all(self.input)
                    continue
                dirty = False
                while self.queue:
                    changed = self.handle_idle_key(self.queue.popleft())
                    dirty = (dirty or changed) if changed is not None else False  # None: a turn redrew it
                if dirty and self.screen.live:  # without a terminal, only show_prompt() draws
                    self.screen.prompt_box(self.input)
        except ExitRequested as req:
            return req.code

    def handle_idle_key(self, key: Key) -> bool | None:
        """Apply one key at the idle prompt: True if the box needs a redraw, None if it was redrawn."""
        kind, text = key
        if kind in ("char", "paste"):
            self.input += text
        elif kind == "backspace":
            self.input = self.input[:-1]
        elif kind == "ctrl_u":
            self.input = ""
        elif kind in ("ctrl_c", "ctrl_d"):
            if self.input and kind == "ctrl_c":
                self.input = ""
            elif not self.input:
                self.screen.print(["Goodbye."])
                self.trace("exit")
                raise ExitRequested(0)
        elif kind == "enter":
            task, self.input = self.input, ""
            if task.strip():
                self.submit(task)
                return None
        else:
            return False
        return True

    # -- turns ---------------------------------------------------------------------------
    def submit(self, task: str) -> None:
        lines = clean(task).split("\n")
        echo = ["> " + lines[0], *("  " + line for line in lines[1:ECHO_LINES])]
        if len(lines) > ECHO_LINES:
            echo.append(f"  … (+{len(lines) - ECHO_LINES} more lines)")
        command = task.strip()
        if SLASH_RE.match(command):
            self.screen.print(echo)
            if command in ("/exit", "/quit"):
                self.screen.print(["Goodbye."])
                self.trace("exit")
                raise ExitRequested(0)
            if command == "/help":
                self.screen.print(["  ⎿  Commands: /help, /system-prompt, /exit, /quit", ""])
            elif command == "/system-prompt":
                self.run_turn(task, (Step("reply", self.cfg.system_prompt or "(no system prompt)"),), [])
                return
            else:
                self.screen.print([f"  ⎿  Unknown command: {command} (try /help)", ""])
            self.show_prompt()
            return
        try:
            self._reload_script()
            steps = self.cfg.script.steps_for(task, self.cfg.name)
        except ScriptError as err:
            steps = (Step("fail", str(err)),)
        self.run_turn(task, steps, echo)
