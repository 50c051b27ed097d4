"""One turn of the mock agent: run the script's steps with a spinner, permission box, errors."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cao.mock_agent.script import ScriptError, Step, substitute
from cao.mock_agent.tty import Key, Terminal
from cao.mock_agent.ui import BLUE, GREEN, RED, RESET, Screen, clean

if TYPE_CHECKING:
    from cao.mock_agent.agent import Config

FRAME = 0.1  # spinner frame interval, seconds


class Interrupted(Exception):
    pass


class ExitRequested(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class TurnMixin:
    """Turn logic of ``Agent`` (which provides the attributes and helpers declared here)."""

    cfg: Config
    screen: Screen
    term: Terminal
    queue: deque[Key]
    turn_start: float = 0.0
    frame: int = 0

    def trace(self, event: str) -> None: ...
    def read(self, timeout: float | None) -> None: ...
    def show_prompt(self) -> None: ...

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
                    self.tool(step, values)
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

    def tool(self, step: Step, values: dict[str, str]) -> None:
        """Call an MCP tool (the --mcp-config server) and show the call and its result."""
        import json

        from cao.mock_agent.mcp_call import call_tool, fill

        servers = self.cfg.mcp_servers or {}
        shown_args = json.dumps(fill(step.args, values), ensure_ascii=False)
        call = f"  ⎿  Tool {step.server + '.' if step.server else ''}{step.value} {shown_args}"
        self.screen.print([clean(call).replace("\n", " ")[:300]])
        self.trace("tool")
        self.spin()
        result = self.background(lambda: call_tool(servers, step, values))
        values["tool_result"] = result
        shown = clean(result).replace("\n", " ")
        self.screen.print([f"  ⎿  Result: {shown if len(shown) <= 200 else shown[:200] + '…'}", ""])

    def background(self, fn: Callable[[], Any]) -> Any:
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
