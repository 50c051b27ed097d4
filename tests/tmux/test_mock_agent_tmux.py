"""The real mock agent in a private tmux server, read with MockProvider's detector.

Every test gets its own tmux socket (``cao-mock-<pid>-<n>``); the server is killed in a
finalizer. Waiting is always retry-until polling of the captured screen.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.providers.mock import MockProvider
from cao.status import Status
from tests.conftest import retry_until

pytestmark = pytest.mark.tmux
_counter = itertools.count()
PROVIDER = MockProvider()


class MockPane:
    def __init__(self, socket: str, tmp: Path) -> None:
        self.socket = socket
        self.tmp = tmp
        self.trace = tmp / "trace.jsonl"
        self.conf = tmp / "tmux.conf"
        self.conf.write_text("set -g remain-on-exit on\nset -g history-limit 20000\n")
        self.started = 0.0

    def start(self, *args: str, script: dict | None = None, width: int = 100, height: int = 30) -> MockPane:
        # sh reports the exit code on screen (pane_dead_status is not reliable for 0 in tmux 3.3)
        argv = ["sh", "-c", '"$@"; echo "[exited $?]"', "sh", sys.executable, "-m", "cao.mock_agent", *args]
        if script is not None:
            path = self.tmp / "script.json"
            path.write_text(json.dumps(script))
            argv += ["--script", str(path)]
        self.started = time.time()
        self.tmux("-f", str(self.conf), "new-session", "-d", "-x", str(width), "-y", str(height), "-s", "m",
                  "-c", str(self.tmp), "-e", f"CAO_MOCK_TRACE={self.trace}", *argv)
        self.wait_status(Status.IDLE)
        return self

    def tmux(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                                input=input, check=False)
        assert result.returncode == 0, f"tmux {args}: {result.stderr}"
        return result.stdout

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.tmux("capture-pane", "-p", "-t", "m").split("\n")]

    def text(self) -> str:
        return "\n".join(self.lines())

    def scrollback(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "m").split("\n")

    def status(self) -> Status:
        return PROVIDER.detect(self.lines())

    def wait_status(self, expected: Status, timeout: float = 10.0) -> None:
        retry_until(lambda: self.status() == expected, timeout, message=f"status {expected} on\n{self.text()}")

    def wait_text(self, needle: str, timeout: float = 10.0) -> None:
        retry_until(lambda: needle in self.text(), timeout, message=f"{needle!r} on screen")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "m", *(["-l"] if literal else []), *keys)

    def send(self, message: str) -> None:
        self.keys(message, literal=True)
        self.keys("Enter")

    def paste(self, text: str) -> None:
        self.tmux("load-buffer", "-b", "p", "-", input=text)
        self.tmux("paste-buffer", "-p", "-d", "-b", "p", "-t", "m")

    def reply(self) -> str | None:
        return PROVIDER.extract_last_reply(self.scrollback())

    def exit_code(self) -> int | None:
        found = re.search(r"^\[exited (\d+)\]$", self.text(), re.M)
        return int(found.group(1)) if found else None

    def events(self) -> list[str]:
        if not self.trace.exists():
            return []
        return [json.loads(line)["event"] for line in self.trace.read_text().splitlines()]


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[MockPane]:
    socket = f"cao-mock-{os.getpid()}-{next(_counter)}"
    mock = MockPane(socket, tmp_path)
    yield mock
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    tmux_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
    (tmux_dir / socket).unlink(missing_ok=True)  # tmux 3.3 may leave the socket file behind


SCRIPT = {"rules": [
    {"match": "slow", "steps": [{"wait": 0.8}, {"reply": "done slowly"}]},
    {"match": "very long job", "steps": [{"wait": 60}, {"reply": "never"}]},
    {"match": "delete", "steps": [{"ask_permission": "Bash(rm -rf build)"}, {"reply": "permission {{permission}}"}]},
    {"match": "boom", "steps": [{"fail": "API Error: 500"}]},
    {"match": "use a tool", "steps": [{"tool": "send_message", "args": {"message": "hi"}}]},
    {"match": "quit now", "steps": [{"reply": "bye"}, {"exit": 3}]},
]}


def test_starts_fast_and_goes_idle_processing_completed(pane: MockPane) -> None:
    pane.start("--name", "developer", "--delay", "0", script=SCRIPT)
    assert "developer" in pane.text()
    first_prompt = json.loads(pane.trace.read_text().splitlines()[0])
    assert first_prompt["event"] == "prompt"
    assert first_prompt["t"] - pane.started < 1.0  # well under 150 ms on an idle machine
    pane.send("slow please")
    pane.wait_status(Status.PROCESSING)
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == "done slowly"
    assert pane.events() == ["prompt", "busy", "reply", "prompt"]


def test_permission_is_waiting_user_answer_then_answered(pane: MockPane) -> None:
    pane.start(script=SCRIPT)
    pane.send("delete the build folder")
    pane.wait_status(Status.WAITING_USER_ANSWER)
    pane.keys("1")
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == "permission granted"
    assert "Do you want to proceed?" not in pane.text()  # the box is gone once answered
    pane.send("delete again")
    pane.wait_status(Status.WAITING_USER_ANSWER)
    pane.keys("Escape")
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == "permission denied"
    assert pane.events().count("permission") == 2


def test_yolo_never_asks(pane: MockPane) -> None:
    pane.start("--yolo", script=SCRIPT)
    pane.send("delete it")
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == "permission granted"
    assert "Auto-approved (--yolo): Bash(rm -rf build)" in pane.text()


def test_error_then_next_turn_recovers(pane: MockPane) -> None:
    pane.start(script=SCRIPT)
    pane.send("boom")
    pane.wait_status(Status.ERROR)
    assert "✗ Error: API Error: 500" in pane.lines()
    pane.send("fine now")
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == "Mock reply to: fine now"


def test_tool_step_without_mcp_config_is_an_error(pane: MockPane) -> None:
    pane.start(script=SCRIPT)
    pane.send("use a tool")
    pane.wait_status(Status.ERROR)
    assert "tool steps need --mcp-config" in pane.text()


def test_multiline_bracketed_paste_is_one_message(pane: MockPane) -> None:
    pane.start()
    message = 'line one "quoted" $HOME\n\tline two\n\nline four'
    pane.paste(message)
    pane.wait_text("line four")
    assert pane.status() == Status.IDLE  # newlines inside the paste did not submit
    assert "Mock reply" not in pane.text()
    pane.keys("Enter")
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == "Mock reply to: " + message.replace("\t", "    ")


def test_human_typing_edits_then_submits(pane: MockPane) -> None:
    pane.start()
    pane.keys("typed by a humax", literal=True)
    pane.wait_text("❯ typed by a humax")
    pane.keys("BSpace")
    pane.keys("n", literal=True)
    pane.wait_text("❯ typed by a human")
    assert pane.status() == Status.IDLE
    pane.keys("Enter")
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == "Mock reply to: typed by a human"


@pytest.mark.parametrize("key", ["Escape", "C-c"])
def test_interrupt_while_working_returns_to_prompt(pane: MockPane, key: str) -> None:
    pane.start(script=SCRIPT)
    pane.send("very long job")
    pane.wait_status(Status.PROCESSING)
    pane.keys(key)
    pane.wait_text("Interrupted by user")
    pane.wait_status(Status.IDLE)
    assert pane.exit_code() is None


def test_exit_command_and_ctrl_c_at_empty_prompt_exit_zero(pane: MockPane) -> None:
    pane.start()
    pane.send("/exit")
    retry_until(lambda: pane.exit_code() == 0, message="exit 0 after /exit")
    assert "Goodbye." in pane.text()


def test_ctrl_c_with_empty_input_exits(pane: MockPane) -> None:
    pane.start()
    pane.keys("draft", literal=True)
    pane.wait_text("❯ draft")
    pane.keys("C-c")  # clears the input first
    retry_until(lambda: "❯ draft" not in pane.text(), message="input cleared")
    pane.keys("C-c")
    retry_until(lambda: pane.exit_code() == 0, message="exit 0 after Ctrl-C")


def test_exit_step_uses_its_code(pane: MockPane) -> None:
    pane.start(script=SCRIPT)
    pane.send("quit now")
    retry_until(lambda: pane.exit_code() == 3, message="exit 3")


def test_100kb_reply_is_printed_whole(pane: MockPane) -> None:
    big = "\n".join(f"{n:05d} " + "x" * 120 for n in range(800))  # ~100 KB, lines wider than the pane
    pane.start("--delay", "0", script={"rules": [], "default": [{"reply": big}]})
    pane.send("big one")
    pane.wait_status(Status.COMPLETED, timeout=30)
    assert pane.reply() == big


def test_resize_keeps_status(pane: MockPane) -> None:
    pane.start()
    pane.send("hello")
    pane.wait_status(Status.COMPLETED)
    pane.tmux("resize-window", "-t", "m", "-x", "50", "-y", "20")
    retry_until(lambda: "─" * 50 in pane.lines(), message="redrawn at 50 columns")
    assert pane.status() == Status.COMPLETED
    pane.send("again")
    retry_until(lambda: pane.reply() == "Mock reply to: again", message="second reply")
    assert pane.status() == Status.COMPLETED


# A tiny stdio MCP server on cao's lean protocol module: writes its PID to $LISTED when its
# tools are listed, and each call's text to $CALLS.
ECHO_SERVER = """
import os
from cao.mcp.protocol import Server, Tool, ToolError
from cao.mcp.stdio import serve_stdio


def listed(_principal):
    with open(os.environ["LISTED"], "a") as fh:
        fh.write(f"{os.getpid()}\\n")


async def echo(args, ctx):
    with open(os.environ["CALLS"], "a") as fh:
        fh.write(args["text"] + "\\n")
    if args["text"].startswith("bad"):
        raise ToolError("bad input: " + args["text"])
    return f"echo: {args['text']} pid={os.getpid()}"


TOOLS = [Tool("echo_tool", "echo text", {"type": "object"}, echo)]
serve_stdio(Server("echo", "1", "", lambda _principal: TOOLS, on_tools_listed=listed))
"""


def mcp_config(tmp_path: Path, *, broken: bool = False) -> Path:
    (tmp_path / "echo_server.py").write_text(ECHO_SERVER)
    servers = {"echo": {"command": sys.executable, "args": [str(tmp_path / "echo_server.py")],
                        "env": {"LISTED": str(tmp_path / "listed"), "CALLS": str(tmp_path / "calls.log")}}}
    if broken:
        servers["broken"] = {"command": str(tmp_path / "no-such-server"), "args": [], "env": {}}
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": servers}))
    return config


def listed_pids(tmp_path: Path) -> list[int]:
    path = tmp_path / "listed"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


TOOL_SCRIPT = {"rules": [
    {"match": "^bad", "steps": [{"tool": "echo_tool", "server": "echo", "args": {"text": "{{task}}"}},
                                {"reply": "never"}]},
    {"match": "call", "steps": [{"tool": "echo_tool", "args": {"text": "from {{task}}"}},
                                {"reply": "tool said {{tool_result}}"}]},
]}


def test_mcp_servers_connect_at_start_and_tool_steps_reuse_the_connection(pane: MockPane, tmp_path: Path) -> None:
    pane.start("--delay", "0", "--mcp-config", str(mcp_config(tmp_path, broken=True)), script=TOOL_SCRIPT)
    # tools/list happens at start, before any message
    pid = retry_until(lambda: listed_pids(tmp_path), message="tools/list at start")[0]  # type: ignore[index]
    pane.wait_text("  ⎿  MCP server broken failed: command not found: ")
    assert pane.status() == Status.IDLE  # a failed server is only a notice
    pane.send("call it")
    pane.wait_status(Status.COMPLETED)
    assert pane.reply() == f"tool said echo: from call it pid={pid}"
    assert '⎿  Tool echo_tool {"text": "from call it"}' in pane.text()
    pane.send("call again")
    retry_until(lambda: pane.reply() == f"tool said echo: from call again pid={pid}", message="second call")
    assert listed_pids(tmp_path) == [pid]  # one connection, kept open
    pane.send("bad one")
    pane.wait_status(Status.ERROR)
    assert "✗ Error: echo_tool failed: bad input: bad one" in pane.lines()
    assert (tmp_path / "calls.log").read_text() == "from call it\nfrom call again\nbad one\n"
    pane.send("/exit")
    retry_until(lambda: pane.exit_code() == 0, message="exit 0")
    retry_until(lambda: not alive(pid), message="the MCP server closed on exit")


def test_exit_in_the_middle_of_a_turn_exits_at_once_and_closes_servers(pane: MockPane, tmp_path: Path) -> None:
    script = {"default": [{"wait": 0.2}, {"exit": 4}, {"reply": "never"}]}
    pane.start("--delay", "0", "--mcp-config", str(mcp_config(tmp_path)), script=script)
    pid = retry_until(lambda: listed_pids(tmp_path), message="tools/list at start")[0]  # type: ignore[index]
    pane.send("work on it")
    retry_until(lambda: pane.exit_code() == 4, message="exit 4")
    assert "never" not in pane.text()
    retry_until(lambda: not alive(pid), message="the MCP server closed on exit")


def test_reply_size_reply_is_extracted_whole(pane: MockPane) -> None:
    from cao.mock_agent.script import long_reply

    pane.start("--delay", "0", script={"default": [{"reply_size": 102400}]})
    pane.send("long one")
    pane.wait_status(Status.COMPLETED, timeout=30)
    assert pane.reply() == long_reply(102400)
