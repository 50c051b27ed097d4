"""The mock agent's event loop: idle prompt, turns, permission questions, interrupts."""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from cao.mock_agent.script import Script, ScriptError, Step, load_script, substitute
from cao.mock_agent.tty import Key, Terminal
from cao.mock_agent.ui import BLUE, GREEN, RED, RESET, Screen, box, clean

FRAME = 0.1  # spinner frame interval, seconds
ECHO_LINES = 5
SLASH_RE = re.compile(r"^/[A-Za-z][\w-]*$")


class Interrupted(Exception):
    pass


class ExitRequested(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Config:
    name: str | None = None
    model: str = "mock-1"
    system_prompt: str = ""
    script: Script = field(default_factory=Script)
    script_path: str | None = None
    mcp_servers: dict | None = None
    delay: float = 0.2
    yolo: bool = False
    trace_path: str | None = None


class Agent:
    def __init__(self, config: Config, screen: Screen, term: Terminal) -> None:
        self.cfg = config
        self.screen = screen
        self.term = term
        self.queue: deque[Key] = deque()
        self.input = ""
        self.resized = False
        self.script_mtime = self._script_mtime()

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
            self.script_mtime = mtime
            self.cfg.script = load_script(self.cfg.script_path)

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
        try:
            while True:
                if not self.queue:
                    if self.term.eof:
                        return 0
                    self.read(0.25)
                    if self.resized:
                        self.resized = False
                        self.screen.redraw_all(self.input)
                    continue
                dirty = False
                while self.queue:
                    dirty = self.handle_idle_key(self.queue.popleft()) or dirty
                if dirty:
                    self.screen.prompt_box(self.input)
        except ExitRequested as req:
            return req.code

    def handle_idle_key(self, key: Key) -> bool:
        """Apply one key at the idle prompt; return whether the prompt box needs a redraw."""
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
                raise ExitRequested(0)
        elif kind == "enter":
            task, self.input = self.input, ""
            if task.strip():
                self.submit(task)
                return False
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
            steps = self.cfg.script.steps_for(task)
        except ScriptError as err:
            steps = (Step("fail", str(err)),)
        self.run_turn(task, steps, echo)

    def run_turn(self, task: str, steps: tuple[Step, ...], echo: list[str]) -> None:
        started = time.monotonic()
        self.turn_start = started
        self.frame = 0
        values = {"task": task, "name": self.cfg.name or "", "model": self.cfg.model,
                  "system_prompt": self.cfg.system_prompt, "permission": "not asked"}
        self.screen.print([*echo, ""] if echo else [""])
        self.spin()
        self.trace("busy")
        try:
            self.wait(self.cfg.delay)
            for step in steps:
                if step.action == "wait":
                    self.wait(step.value)
                elif step.action == "reply":
                    text = clean(substitute(step.value, values))
                    first, *rest = text.split("\n")
                    body = ["● " + first, *("  " + line if line else "" for line in rest), ""]
                    self.screen.print(body)
                    self.trace("reply")
                elif step.action == "ask_permission":
                    granted = self.ask_permission(step.value)
                    values["permission"] = "granted" if granted else "denied"
                elif step.action == "fail":
                    self.fail(step.value)
                    return
                elif step.action == "exit":
                    self.screen.print(["Goodbye."])
                    self.trace("exit")
                    raise ExitRequested(step.value)
                elif step.action == "tool":
                    if not self.cfg.mcp_servers:
                        self.fail(f"tool steps need --mcp-config (tool {step.value!r})")
                        return
                    from cao.mock_agent.mcp_call import call_tool

                    result = self.background(lambda s=step: call_tool(self.cfg.mcp_servers, s, values))
                    values["tool_result"] = result
                    shown = result if len(result) <= 200 else result[:200] + "…"
                    self.screen.print([f"  ⎿  {step.value}: {shown}".replace("\n", " "), ""])
                    self.trace("tool")
        except Interrupted:
            self.screen.print(["  ⎿  Interrupted by user", ""])
            self.trace("interrupted")
            self.show_prompt()
            return
        except ScriptError as err:  # a failed tool call
            self.fail(str(err))
            return
        self.screen.print([f"✻ Done in {time.monotonic() - started:.1f}s", ""])
        self.show_prompt()

    def fail(self, message: str) -> None:
        message = clean(message).replace("\n", " ")
        self.screen.print([f"✗ Error: {message}", ""], [f"{RED}✗ Error: {message}{RESET}", ""])
        self.trace("error")
        self.show_prompt()

    def spin(self) -> None:
        self.screen.spinner(self.frame, time.monotonic() - self.turn_start)
        self.frame += 1

    def check_interrupt(self) -> None:
        """Keep non-interrupt keys queued for the next prompt; raise on Ctrl-C / Escape."""
        for i, (kind, _) in enumerate(self.queue):
            if kind in ("ctrl_c", "escape"):
                del self.queue[i]
                raise Interrupted

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self.spin()
        while (left := deadline - time.monotonic()) > 0:
            self.read(min(left, FRAME))
            self.check_interrupt()
            self.spin()

    def background(self, fn):
        """Run ``fn`` in a thread while the spinner turns; Ctrl-C/Escape abandon it."""
        import threading

        box_: dict = {}

        def target() -> None:
            try:
                box_["value"] = fn()
            except Exception as err:  # shown as the turn's error
                box_["error"] = err

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        while thread.is_alive():
            self.read(FRAME)
            self.check_interrupt()
            self.spin()
        if "error" in box_:
            err = box_["error"]
            raise err if isinstance(err, ScriptError) else ScriptError(f"{type(err).__name__}: {err}")
        return box_["value"]

    def ask_permission(self, tool: str) -> bool:
        tool = clean(tool).replace("\n", " ")
        if self.cfg.yolo:
            self.screen.print([f"  ⎿  Auto-approved (--yolo): {tool}", ""])
            return True
        self.screen.dialog([f"Permission required: {tool}", "", "Do you want to proceed?",
                            "❯ 1. Yes", "  2. No", "", "Esc to cancel"])
        self.trace("permission")
        while True:
            while not self.queue:
                if self.term.eof:
                    self.queue.append(("char", "n"))
                    break
                self.read(None)
            kind, text = self.queue.popleft()
            if kind == "ctrl_c":
                raise Interrupted
            if kind == "enter" or (kind == "char" and text in "1yY"):
                granted = True
            elif kind == "escape" or (kind == "char" and text in "2nN"):
                granted = False
            else:
                continue
            word, color = ("granted", GREEN) if granted else ("denied", BLUE)
            line = f"  ⎿  Permission {word}: {tool}"
            self.screen.print([line, ""], [f"{color}{line}{RESET}", ""])
            self.trace("answered")
            self.spin()
            return granted
