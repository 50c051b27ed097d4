"""One turn of the mock agent: run the script's steps with a spinner, permission box, errors."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cao.mock_agent.script import ScriptError, Step, long_reply, split_task, substitute
from cao.mock_agent.tty import Key, Terminal
from cao.mock_agent.ui import BLUE, GREEN, RED, RESET, Screen, clean

if TYPE_CHECKING:
    from cao.mock_agent.config import Config
    from cao.mock_agent.mcp_call import McpPool

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
    mcp: McpPool | None
    collections: dict[str, list[str]]
    turn_start: float = 0.0
    frame: int = 0

    def trace(self, event: str) -> None: ...
    def read(self, timeout: float | None) -> None: ...
    def show_prompt(self) -> None: ...
    def flush_notices(self) -> bool: ...

    def run_turn(self, task: str, steps: tuple[Step, ...], echo: list[str]) -> None:
        started = time.monotonic()
        self.turn_start = started
        self.frame = 0
        sender, body = split_task(task)
        sender_id = re.search(r"\bterminal ([a-f0-9]{8})\b", sender)
        values = {"task": task, "body": body, "sender": sender, "sender_id": sender_id.group(1) if sender_id else "",
                  "name": self.cfg.name or "",
                  "model": self.cfg.model, "system_prompt": self.cfg.system_prompt, "permission": "not asked",
                  "tool_result": "", "tool_results": "", "collected": ""}
        results: list[str] = []  # every tool result of this turn, for {{tool_results}}
        self.screen.print([*echo, ""] if echo else [""])
        self.spin()
        self.trace("busy")
        try:
            self.wait(self.cfg.delay)
            for step in steps:
                if step.action == "wait":
                    self.wait(step.value)
                elif step.action == "reply":
                    self.reply(substitute(step.value, values))
                elif step.action == "reply_size":
                    self.reply(long_reply(step.value))
                elif step.action == "collect":
                    if not self.collect(step, values):
                        break  # not complete yet: the turn ends here (completed)
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
                    if self.mcp is None:
                        self.fail(f"tool steps need --mcp-config (tool {step.value!r})")
                        return
                    if not self.tool(step, values, results):
                        return
        except Interrupted:
            self.screen.print(["  ⎿  Interrupted by user", ""])
            self.trace("interrupted")
            self.show_prompt()
            return
        except ScriptError as err:
            self.fail(str(err))
            return
        self.screen.print([f"✻ Done in {time.monotonic() - started:.1f}s", ""])
        self.show_prompt()

    def reply(self, text: str) -> None:
        """A reply block: ``● `` and the first line, the other lines indented by two spaces."""
        first, *rest = clean(text).split("\n")
        self.screen.print(["● " + first, *("  " + line if line else "" for line in rest), ""])
        self.trace("reply")

    def collect(self, step: Step, values: dict[str, str]) -> bool:
        """Add this task to a named list; reply with the template once it holds ``count`` items.

        Returns True when the list was complete (later steps run), False otherwise.
        """
        items = self.collections.setdefault(step.value, [])
        items.append(substitute(step.item, values))
        if len(items) < step.count:
            self.reply(f"Collected {len(items)} of {step.count} for {step.value}.")
            return False
        values["collected"] = "\n".join(items)
        del self.collections[step.value]
        self.reply(substitute(step.template, values))
        return True

    def fail(self, message: str) -> None:
        message = clean(message).replace("\n", " ")
        self.screen.print([f"✗ Error: {message}", ""], [f"{RED}✗ Error: {message}{RESET}", ""])
        self.trace("error")
        self.show_prompt()

    def spin(self) -> None:
        self.flush_notices()
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

    def tool(self, step: Step, values: dict[str, str], results: list[str]) -> bool:
        """Call an MCP tool on its persistent connection; show the call and its result.

        Returns False when the step failed the turn (the error is already shown).
        """
        import json

        from cao.mock_agent.mcp_call import fill

        assert self.mcp is not None
        mcp = self.mcp
        args = fill(step.args, values)
        shown_args = json.dumps(args, ensure_ascii=False)
        call = f"  ⎿  Tool {step.server + '.' if step.server else ''}{step.value} {shown_args}"
        self.screen.print([clean(call).replace("\n", " ")[:300]])
        self.trace("tool")
        self.spin()
        try:
            text, is_error = self.background(lambda: mcp.call(step, args))
        except ScriptError as err:  # no connection, the server died, …
            text, is_error = str(err), True
        if is_error and step.on_error != "continue":
            self.fail(f"{step.value} failed: {text}")
            return False
        values["tool_result"] = text
        results.append(text)
        values["tool_results"] = "\n".join(results)
        shown = clean(text).replace("\n", " ")
        label = "Tool error" if is_error else "Result"
        self.screen.print([f"  ⎿  {label}: {shown if len(shown) <= 200 else shown[:200] + '…'}", ""])
        return True

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
