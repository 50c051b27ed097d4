"""Record the screens of the real Claude Code for tests/unit/test_claude_code_screens.py.

Run from the project root:  uv run python tests/screens/record_claude_code.py [VERSION]

Needs the binary from scripts/install-real-clis: the pinned one by default (screens into
tests/screens/claude_code/), or another version from its table (screens into claude_code/<VERSION>/).
Everything is private: cao's scripted model server
on a free loopback port, a temporary HOME/TMPDIR seeded like a returning user's machine, and one
private tmux server per scenario (``tmux -L cao-record-claude-<pid>-<n>``, killed afterwards). The
argv is the one cao builds (``ClaudeCodeProvider.build_launch``), at cao's window size; cao's MCP
endpoint is played by tests/mcp_http_probe.py (one tool, ``echo_tool``). Each screen is
``capture-pane -p`` (the visible rows); some scenarios also save the whole scrollback
(``capture-pane -p -J -S -``) as ``<name>.scrollback.txt``. The launch → ready times are printed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cao.profiles import AgentProfile
from cao.providers.base import LaunchContext
from cao.providers.claude_code import ClaudeCodeProvider
from cao.status import Status
from cao.tmux import WINDOW_SIZE

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.mcp_http_probe import McpHttpProbe  # noqa: E402
from tests.screens.recording import RecordingPane, real_clis_bin  # noqa: E402

OUT = Path(__file__).resolve().parent / "claude_code"
KEY = "sk-ant-fake-key-0123456789abcdef"
MULTILINE = "Line one of the reply.\nLine two, with **bold** text.\n\n- item a\n- item b\nFinal line."
LONG = "\n".join(f"Row {n} of the long reply." for n in range(1, 201))
SCRIPT = {"rules": [
    {"match": "slow please", "delay": 5, "text": "done slowly"},
    {"match": "please fail", "error": 400, "message": "scripted failure"},
    {"match": "server error me", "error": 500, "message": "internal boom"},
    {"match": "run the listing", "needs_tools": True, "tool": "Bash",
     "args": {"command": "touch made-by-claude.txt && echo first && echo second", "description": "make a file"}},
    {"match": "sleep a while", "needs_tools": True, "tool": "Bash",
     "args": {"command": "sleep 6; echo slept", "description": "sleep"}},
    {"match": "call cao", "needs_tools": True, "tool": "echo_tool", "args": {"text": "hi from claude"}},
    {"on_tool_result": ".", "text": "tool said: {{tool_result}}"},
    {"match": "many lines", "text": MULTILINE},
    {"match": "a long reply", "text": LONG},
    {"match": "take your time", "delay": 30, "text": "too late"},
], "default": {"text": "OK: {{text}}"}}
PROVIDER = ClaudeCodeProvider()
_counter = itertools.count()
saved: list[tuple[str, Status]] = []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def real_claude(version: str | None) -> Path:
    """The bin directory holding Claude Code ``version`` (None: the pinned one)."""
    pinned = real_clis_bin()  # installs the table's versions if they are missing
    if version is None:
        return pinned
    rows = subprocess.run([str(ROOT / "scripts" / "install-real-clis"), "--list"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    for package, listed, bin_dir in (row.split() for row in rows):
        if package == "@anthropic-ai/claude-code" and listed == version:
            return Path(bin_dir)
    raise SystemExit(f"Claude Code {version} is not in scripts/install-real-clis; add it to extra_versions there")


class World:
    """The model server and a scratch directory shared by the scenarios."""

    def __init__(self, version: str | None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cao-record-claude-"))
        self.bin = real_claude(version)
        # cao's MCP endpoint is HTTP: an MCP server with one tool (echo_tool) stands in for cao-server.
        self.mcp = McpHttpProbe()
        self.port = free_port()
        script = self.dir / "script.json"
        script.write_text(json.dumps(SCRIPT))
        self.server = subprocess.Popen(
            [sys.executable, "-m", "cao", "model-server", "--script", str(script), "--port", str(self.port),
             "--log", str(self.dir / "requests.jsonl")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def home(self, *, trusted: bool = True, key_approved: bool = True) -> tuple[Path, Path]:
        n = next(_counter)
        home, project = self.dir / f"home{n}", self.dir / f"project{n}"
        (home / ".claude").mkdir(parents=True)
        project.mkdir()
        state: dict = {"hasCompletedOnboarding": True, "theme": "dark", "numStartups": 3,
                       "customApiKeyResponses": {"approved": [KEY[-20:]] if key_approved else [], "rejected": []},
                       "projects": {str(project): {"hasTrustDialogAccepted": trusted}}}
        (home / ".claude.json").write_text(json.dumps(state))
        return home, project

    def close(self) -> None:
        self.mcp.stop()
        self.server.terminate()
        self.server.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Pane(RecordingPane):
    wait_timeout = 30.0

    def __init__(self, world: World, *, yolo: bool = False, trusted: bool = True, key_approved: bool = True,
                 keep_settings_flag: bool = True) -> None:
        self.socket = f"cao-record-claude-{os.getpid()}-{next(_counter)}"
        home, project = world.home(trusted=trusted, key_approved=key_approved)
        profile = AgentProfile(name="developer", system_prompt="You are a developer agent run by cao.")
        ctx = LaunchContext(terminal_id="abcd1234", working_directory=project, runtime_dir=world.dir / self.socket,
                            profile=profile, model="claude-fake-1", yolo=yolo,
                            allowed_tools=("@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"),
                            api_url=world.mcp.url.removesuffix("/mcp"), mcp_token="tok-recorder")
        os.environ["PATH"] = f"{world.bin}:{os.environ['PATH']}"
        spec = PROVIDER.build_launch(ctx)
        for path, content in spec.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        argv = spec.argv
        if not keep_settings_flag:
            i = argv.index("--settings")
            argv = argv[:i] + argv[i + 2 :]
        env = {"HOME": str(home), "TMPDIR": str(world.dir), "PATH": os.environ["PATH"], "TERM": "tmux-256color",
               "LANG": "C.UTF-8", "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{world.port}", "ANTHROPIC_API_KEY": KEY,
               **spec.env}
        width, height = WINDOW_SIZE
        self.started = time.monotonic()
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "rec", "-c", str(project),
                  "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv)

    def wait_status(self, *statuses: Status, timeout: float = 30) -> str:
        return self.wait(lambda text: PROVIDER.detect(text.splitlines()) in statuses, timeout)

    def ready(self) -> float:
        self.wait_status(Status.IDLE, Status.COMPLETED)
        return time.monotonic() - self.started

    def send(self, text: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "load-buffer", "-b", "rec", "-"], input=text, text=True, check=True)
        self.tmux("paste-buffer", "-p", "-d", "-r", "-b", "rec", "-t", "rec")
        time.sleep(PROVIDER.enter_delay)  # as cao does: Enter in the same call as the paste gets lost
        self.keys("Enter")

    def turn(self, text: str, *statuses: Status) -> str:
        """Send ``text`` and wait until a new turn has finished (its echo is followed by an end cue)."""
        self.send(text)
        echo = f"❯ {text.splitlines()[0]}"
        wanted = statuses or (Status.COMPLETED,)

        def done(screen: str) -> bool:
            rows = screen.splitlines()
            return any(r.startswith(echo) for r in rows) and PROVIDER.detect(rows) in wanted
        return self.wait(done)

    def answer(self, key: str) -> None:
        """Press ``key`` until the dialog takes it (2.1.332 ignores keys for a moment after it opens)."""
        for _ in range(20):
            self.keys(key)
            try:
                self.wait(lambda s: "Do you want to proceed?" not in s, timeout=0.5)
                return
            except AssertionError:
                continue
        raise AssertionError(f"the dialog did not take {key!r}")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "rec", *keys)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


def save(name: str, text: str) -> None:
    (OUT / f"{name}.txt").write_text(text)
    status = PROVIDER.detect(text.splitlines())
    if not name.endswith(".scrollback"):
        saved.append((name, status))


def scenario_main(world: World) -> None:
    pane = Pane(world)
    try:
        print(f"launch -> ready (no yolo): {pane.ready():.2f}s")
        save("idle", pane.screen())
        save("completed", pane.turn("hello there"))
        save("completed_multiline", pane.turn("show many lines"))
        save("completed_multiline.scrollback", pane.scrollback())
        pane.send("slow please")
        save("processing", pane.wait(lambda s: "❯ slow please" in s and "esc to interrupt" in s))
        pane.wait_status(Status.COMPLETED)
        save("error_400", pane.turn("please fail now", Status.ERROR))
        pane.send("run the listing")
        save("permission_bash", pane.wait("Do you want to proceed?"))
        pane.answer("Enter")  # "1. Yes" is highlighted (2.1.332 takes "1" as a move, not a choice)
        save("completed_after_tool", pane.wait(lambda s: "tool said:" in s and PROVIDER.detect(s.splitlines())
                                               is Status.COMPLETED))
        save("completed_after_tool.scrollback", pane.scrollback())
        save("completed_mcp_call", pane.turn("call cao now"))
        save("completed_mcp_call.scrollback", pane.scrollback())
        pane.send("server error me")
        save("processing_retry", pane.wait(lambda s: ("Retrying" in s or "retrying in" in s)
                                           and "esc to interrupt" in s))
        pane.keys("Escape")
        save("interrupted", pane.wait(lambda s: "esc to interrupt" not in s and "❯\xa0server error me" in s))
        pane.keys("C-u")
        save("completed_after_interrupt", pane.turn("hello again"))
    finally:
        pane.close()


def scenario_yolo(world: World) -> None:
    pane = Pane(world, yolo=True)
    try:
        print(f"launch -> ready (yolo): {pane.ready():.2f}s")
        save("idle_bypass", pane.screen())
        pane.send("sleep a while")
        save("processing_tool", pane.wait(lambda s: ("Running…" in s or "Running " in s) and "esc to interrupt" in s))
        save("completed_after_bash", pane.wait(lambda s: "tool said: slept" in s
                                               and PROVIDER.detect(s.splitlines()) is Status.COMPLETED))
        save("completed_after_bash.scrollback", pane.scrollback())
        multi = "first line of the task\nsecond line of the task\nthird line"
        save("completed_pasted_multiline", pane.turn(multi))
    finally:
        pane.close()


def scenario_long_and_interrupt(world: World) -> None:
    """A reply longer than the screen, and Esc while the model is still thinking."""
    pane = Pane(world)
    try:
        pane.ready()
        pane.send("send a long reply")  # its echo scrolls off the screen: wait for its last row
        save("completed_long", pane.wait(lambda s: "Row 200 of" in s and "esc to interrupt" not in s
                                         and PROVIDER.detect(s.splitlines()) is Status.COMPLETED))
        save("completed_long.scrollback", pane.scrollback())
        pane.send("take your time")
        pane.wait(lambda s: "❯ take your time" in s and "esc to interrupt" in s)
        pane.keys("Escape")
        save("interrupted_thinking", pane.wait(lambda s: "esc to interrupt" not in s
                                               and PROVIDER.detect(s.splitlines()) is not Status.PROCESSING))
        save("interrupted_thinking.scrollback", pane.scrollback())
        pane.keys("C-u")  # both versions put the interrupted message back into the box
        save("completed_after_interrupt_thinking", pane.turn("hello once more"))
    finally:
        pane.close()


def scenario_dialogs(world: World) -> None:
    for name, kwargs, cue in (
        ("dialog_trust", {"trusted": False}, "Yes, I trust this folder"),
        ("dialog_bypass", {"yolo": True, "keep_settings_flag": False}, "Yes, I accept"),
        ("dialog_api_key", {"key_approved": False}, "Do you want to use this API key?"),
    ):
        pane = Pane(world, **kwargs)
        try:
            save(name, pane.wait(cue))
            if name != "dialog_api_key":  # answer it the way cao does, and see the agent get ready
                deadline = time.monotonic() + 20  # as cao does: whichever known dialog shows, until none does
                while time.monotonic() < deadline and PROVIDER.detect(pane.screen().splitlines()) is Status.UNKNOWN:
                    for dialog in PROVIDER.startup_dialogs:
                        if dialog.pattern.search(pane.screen()):
                            pane.keys(*dialog.keys)
                            time.sleep(0.3)
                print(f"launch -> ready (after answering {name}): {pane.ready():.2f}s")
        finally:
            pane.close()


SCENARIOS = {"main": scenario_main, "yolo": scenario_yolo, "long": scenario_long_and_interrupt,
             "dialogs": scenario_dialogs}


def main() -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", help="a Claude Code version from scripts/install-real-clis")
    parser.add_argument("--only", action="append", help="run only these scenarios (main, yolo, dialogs)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed")
    if args.version:
        OUT = OUT / args.version
    OUT.mkdir(parents=True, exist_ok=True)
    world = World(args.version)
    try:
        for name, scenario in SCENARIOS.items():
            if not args.only or name in args.only:
                scenario(world)
    finally:
        world.close()
    for name, status in saved:
        print(f"{name:32} {status.value}")


if __name__ == "__main__":
    main()
