"""Record screens of the real Codex CLI for tests/unit/test_codex_screens.py.

Run from the project root:  uv run python tests/screens/record_codex.py [VERSION]

Needs the binary from scripts/install-real-clis: the pinned one by default (screens into
tests/screens/codex/), or another version from its table (screens into tests/screens/codex/<VERSION>/).
Everything is private: a temporary HOME whose ~/.codex/config.toml points at cao's scripted model
server (``cao model-server`` on a free port), a temporary TMPDIR, a private tmux server
(``tmux -L cao-record-codex-…``), and an HTTP MCP probe playing cao's MCP endpoint (one tool,
``echo_tool``). Codex is started with the exact argv ``CodexProvider.build_launch`` builds, under
``env -i``. Each scenario writes ``capture-pane -p`` to ``<name>.txt`` there; some also the whole
scrollback (``capture-pane -p -J -S -``) to ``<name>.scrollback.txt``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.mcp_http_probe import McpHttpProbe  # noqa: E402
from tests.screens.recording import RecordingPane, real_clis_bin  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))

from cao.providers.base import LaunchContext  # noqa: E402
from cao.providers.codex import CodexProvider  # noqa: E402

OUT = Path(__file__).resolve().parent / "codex"
WIDTH, HEIGHT = 120, 40
LONG_REPLY = "\n".join(f"Line {n} of the long reply" for n in range(1, 101))
MULTI_REPLY = "First paragraph of the answer.\n\nSecond paragraph:\n- item one\n- item two"
RULES = [
    {"match": "slow", "needs_tools": True, "delay": 30, "text": "finally done"},
    {"match": "long", "needs_tools": True, "text": LONG_REPLY},
    {"match": "paragraphs", "needs_tools": True, "text": MULTI_REPLY},
    {"match": "run ls", "needs_tools": True, "tool": "exec_command",
     "args": {"cmd": "ls /", "sandbox_permissions": "require_escalated", "justification": "to list the root"}},
    {"match": "other tool", "needs_tools": True, "tool": "mcp__other__send_message", "args": {"message": "x"}},
    {"match": "cao tool", "needs_tools": True, "tool": "echo_tool", "args": {"text": "hi"}},
    {"on_tool_result": ".", "text": "The tool answered.\nSecond line after the tool."},
    {"match": "fail400", "error": 400, "message": "scripted bad request"},
    {"match": "fail500", "error": 500, "message": "scripted overload"},
]
# A stdio MCP server of its own (not cao's), whose tool Codex asks to approve.
OTHER_MCP_SERVER = """
from cao.mcp.protocol import Server, Tool
from cao.mcp.stdio import serve_stdio

async def send_message(args, ctx):
    return "sent"

TOOLS = [Tool("send_message", "send", {"type": "object"}, send_message)]
serve_stdio(Server("other", "1", "", lambda _principal: TOOLS))
"""
DEFAULT = {"text": "Hello from the scripted model.\nSecond line of the answer."}
_counter = itertools.count()


def codex_config(model_url: str, key_var: str = "FAKE_OPENAI_KEY") -> str:
    """~/.codex/config.toml for a private HOME: the scripted server as a custom provider."""
    return f"""model = "gpt-5.1-codex"
model_provider = "cao_scripted"
check_for_update_on_startup = false

[model_providers.cao_scripted]
name = "cao scripted model"
base_url = "{model_url}/v1"
env_key = "{key_var}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"""


def seed_codex_home(home: Path, model_url: str, key_var: str = "FAKE_OPENAI_KEY") -> None:
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    (home / ".codex" / "config.toml").write_text(codex_config(model_url, key_var))


def codex_bin(version: str | None = None) -> str:
    """The ``codex`` of ``version`` from scripts/install-real-clis' table (None: the pinned one)."""
    pinned = real_clis_bin()  # installs the table's versions if they are missing
    if version is None:
        return str(pinned / "codex")
    rows = subprocess.run([str(ROOT / "scripts" / "install-real-clis"), "--list"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    for package, listed, bin_dir in (row.split() for row in rows):
        if package == "@openai/codex" and listed == version:
            return str(Path(bin_dir) / "codex")
    raise SystemExit(f"Codex {version} is not in scripts/install-real-clis; add it to extra_versions there")


class ModelServer:
    def __init__(self, tmp: Path) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        script = tmp / "script.json"
        script.write_text(json.dumps({"rules": RULES, "default": DEFAULT}))
        self.process = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(script),
                                         "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        import urllib.request

        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/_cao/health", timeout=1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class Pane(RecordingPane):
    wait_timeout = 20.0
    settle = 0.3

    def __init__(self, model: ModelServer, *, yolo: bool = False, profile: object = None, git: bool = False,
                 trust_override: bool = True, mcp: McpHttpProbe | None = None) -> None:
        self.socket = f"cao-record-codex-{os.getpid()}-{next(_counter)}"
        self.tmp = Path(tempfile.mkdtemp(prefix="cao-record-codex-"))
        home, project, tmpdir = self.tmp / "home", self.tmp / "project", self.tmp / "tmp"
        for d in (home, project, tmpdir):
            d.mkdir()
        if git:
            subprocess.run(["git", "init", "-q", str(project)], check=True)
        seed_codex_home(home, model.url)
        ctx = LaunchContext(terminal_id="abcd1234", working_directory=project, runtime_dir=self.tmp / "run",
                            profile=profile, yolo=yolo,  # type: ignore[arg-type]
                            api_url=mcp.url.removesuffix("/mcp") if mcp else "http://127.0.0.1:9",
                            mcp_token="tok-recorder")
        spec = CodexProvider().build_launch(ctx)
        for path, content in spec.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        argv = list(spec.argv)
        if not trust_override:  # show the dialog cao avoids
            i = argv.index(next(a for a in argv if a.startswith("projects=")))
            del argv[i - 1:i + 1]
        env = {"HOME": str(home), "TMPDIR": str(tmpdir), "TERM": "xterm-256color", "LANG": "C.UTF-8",
               "PATH": os.environ["PATH"], "FAKE_OPENAI_KEY": "sk-scripted"}
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", "rec", "-c", str(project),
                  "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv)

    def send(self, text: str) -> None:
        self.tmux("send-keys", "-t", "rec", "-l", text)
        self.tmux("send-keys", "-t", "rec", "Enter")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "rec", *(["-l"] if literal else []), *keys)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        tmux_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (tmux_dir / self.socket).unlink(missing_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def idle(text: str) -> bool:
    return "Ask Codex to do anything" in text and "esc to interrupt" not in text


def done_count(n: int) -> Callable[[str], bool]:
    return lambda text: text.count("Worked for") >= n and idle(text)


def save(name: str, text: str) -> None:
    (OUT / f"{name}.txt").write_text("\n".join(line.rstrip() for line in text.rstrip("\n").split("\n")) + "\n")
    print(f"recorded {name}")


def record(version: str | None = None) -> None:
    global OUT
    if version:
        OUT = OUT / version
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["PATH"] = f"{Path(codex_bin(version)).parent}:{os.environ['PATH']}"
    tmp = Path(tempfile.mkdtemp(prefix="cao-record-codex-ms-"))
    model = ModelServer(tmp)
    try:
        p = Pane(model)
        try:
            save("startup_idle", p.wait(idle))
            p.keys("half typed tex", literal=True)
            save("idle_typing", p.wait("half typed tex"))
            p.keys("C-u")
            p.wait(idle)
            p.send("say hello")
            save("completed", p.wait(done_count(1)))
            save("completed.scrollback", p.scrollback())
            p.keys("next task draft", literal=True)
            save("completed_typing", p.wait("next task draft"))
            p.keys("C-u")
            p.send("fail400")
            save("error_400", p.wait("■ "))
            p.keys("a retry dr", literal=True)
            save("error_typing", p.wait("a retry dr"))
            p.keys("C-u")
            p.send("fail500")
            save("error_500", p.wait(lambda t: t.count("■ ") == 2 and idle(t)))
            p.send("write paragraphs")
            save("completed_after_error", p.wait(done_count(2)))
            save("completed_after_error.scrollback", p.scrollback())
            p.send("slow job")
            save("processing", p.wait("esc to interrupt"))
            p.keys("Escape")
            save("interrupted", p.wait(lambda t: "interrupted" in t and idle(t)))
        finally:
            p.close()

        p = Pane(model)
        try:
            p.wait(idle)
            p.send("please run ls")
            save("approval_exec", p.wait("Would you like to run the following command?"))
            p.keys("Enter")
            save("approval_exec_granted", p.wait(done_count(1)))
            save("approval_exec_granted.scrollback", p.scrollback())
        finally:
            p.close()

        other = {"command": sys.executable, "args": ["-c", OTHER_MCP_SERVER], "env": {}}
        from cao.profiles import AgentProfile

        profile = AgentProfile(name="developer", system_prompt="You are the developer.",
                               mcpServers={"other": other})  # type: ignore[arg-type]
        probe = McpHttpProbe()  # plays cao's MCP endpoint (one tool, echo_tool)
        p = Pane(model, profile=profile, mcp=probe)
        try:
            p.wait(idle)
            p.send("use the other tool")
            save("approval_mcp", p.wait("enter to submit"))
            p.keys("Escape")
            p.wait(done_count(1))
            p.send("use the cao tool")
            save("mcp_call_completed", p.wait(done_count(2)))
            save("mcp_call_completed.scrollback", p.scrollback())
        finally:
            p.close()
            probe.stop()

        p = Pane(model, yolo=True)
        try:
            save("yolo_idle", p.wait(idle))
            p.send("long answer please")
            save("long_reply", p.wait(done_count(1)))
            save("long_reply.scrollback", p.scrollback())
        finally:
            p.close()

        p = Pane(model, git=True, trust_override=False)
        try:
            save("trust_dialog", p.wait("Trust this folder?"))
        finally:
            p.close()
    finally:
        model.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    record(sys.argv[1] if len(sys.argv) > 1 else None)
