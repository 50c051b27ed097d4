"""Record OpenCode 1.18 screens for tests/unit/test_opencode_screens.py.

Run from the project root:  uv run python tests/screens/record_opencode.py [--only-fresh]

Starts cao's scripted model server on a free port, then each scenario runs the real ``opencode``
(from scripts/install-real-clis) in its own private tmux server with a temporary HOME and TMPDIR
holding what a returning user has (``~/.config/opencode/opencode.json`` naming an OpenAI-compatible
provider), launched exactly as cao launches it (``OpenCodeProvider.build_launch``, without cao's MCP
server), drives it with paste-buffer / send-keys, waits for a cue and writes ``capture-pane -p``
(the visible screen, 220x50 like cao's windows) to ``tests/screens/opencode/<name>.txt``;
``*_scrollback`` files hold the whole history (``-S - -J``). ``error_fresh_offline`` needs a machine
without a route to opencode.ai (a new user's OpenCode retries its own provider for about a minute).
Nothing outside the temporary directories is touched; everything started is stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cao.profiles import load_profile
from cao.providers.base import LaunchContext
from cao.providers.opencode import OpenCodeProvider

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.screens.recording import RecordingPane, real_clis_bin  # noqa: E402

OUT = Path(__file__).resolve().parent / "opencode"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\n  indented code line\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
RULES = {"rules": [
    {"match": "^be slow", "delay": 6, "text": "finally done"},
    {"match": "^multi", "text": MULTI},
    {"match": "^long", "text": LONG},
    {"match": "^please make the file", "needs_tools": True, "tool": "bash",
     "args": {"command": "touch made.txt", "description": "Create made.txt"}},
    {"on_tool_result": ".", "text": "The file is made."},
    {"match": "^break", "error": 400, "message": "scripted failure"},
], "default": {"text": "OK: {{text}}"}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_config(url: str) -> dict:
    """What a returning user who added an OpenAI-compatible provider has in ~/.config/opencode/opencode.json."""
    return {"$schema": "https://opencode.ai/config.json", "model": "fake/fake-model",
            "provider": {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "FakeLLM",
                                  "options": {"baseURL": f"{url}/v1", "apiKey": "sk-fake"},
                                  "models": {"fake-model": {"name": "Fake Model", "tool_call": True}}}}}


class OpenCode(RecordingPane):
    wait_timeout = 60.0
    check = False

    def __init__(self, base: Path, url: str, n: int, *, yolo: bool = False, fresh: bool = False) -> None:
        self.socket = f"cao-record-opencode-{os.getpid()}-{n}"
        home, work, tmp, run = base / f"home{n}", base / f"work{n}", base / f"tmp{n}", base / f"run{n}"
        for path in (home / ".config" / "opencode", work, tmp, run):
            path.mkdir(parents=True)
        if not fresh:  # a new user has no config: OpenCode then uses its own "opencode" provider online
            (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps(user_config(url)))
        os.environ["PATH"] = f"{real_clis_bin()}:{os.environ['PATH']}"
        ctx = LaunchContext(terminal_id=f"rec{n}", working_directory=work, runtime_dir=run,
                            profile=load_profile("developer", base / "cao-home"), yolo=yolo,
                            allowed_tools=("@builtin", "fs_*", "execute_bash", "web_fetch"))
        spec = OpenCodeProvider().build_launch(ctx)
        for path, text in spec.files.items():
            path.write_text(text)
        env = [f"HOME={home}", f"TMPDIR={tmp}", "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=tmux-256color",
               "LANG=C.UTF-8", "OPENCODE_DISABLE_MODELS_FETCH=1", *(f"{k}={v}" for k, v in spec.env.items())]
        self.tmux("new-session", "-d", "-x", "220", "-y", "50", "-s", "rec", "-c", str(work),
                  "/usr/bin/env", "-i", *env, *spec.argv)

    def ready(self) -> str:
        return self.wait(lambda s: "Ask anything" in s and "ctrl+p cmd" in s)

    def send(self, text: str) -> None:
        self.tmux("set-buffer", "-b", "rec", text)
        self.tmux("paste-buffer", "-p", "-d", "-r", "-b", "rec", "-t", "rec")
        self.tmux("send-keys", "-t", "rec", "Enter")

    def close(self) -> None:
        self.tmux("kill-server")


def save(name: str, text: str) -> None:
    (OUT / f"{name}.txt").write_text(text, encoding="utf-8")
    print("recorded", name)


def idle_after(text: str, count: int = 1) -> Callable[[str], bool]:
    return lambda s: s.count(text) >= count and "interrupt" not in s and "ctrl+p cmd" in s


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="cao-record-opencode-"))
    port = free_port()
    (base / "rules.json").write_text(json.dumps(RULES))
    server = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(base / "rules.json"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(2)
        if "--only-fresh" not in sys.argv:
            record_returning_user(base, url)
        o = OpenCode(base, url, 3, fresh=True)  # offline (no route to opencode.ai): an error after its retries
        try:
            o.ready()
            o.send("hello")
            # After the error OpenCode's footer spinner comes back (it keeps retrying in the background):
            # both screens are recorded, the busy one first, the idle one when (if) it shows.
            save("error_fresh_offline_busy", o.wait(lambda s: s.count("Cannot connect to API") == 2
                                                    and "esc interrupt" in s, 300))
            try:
                save("error_fresh_offline", o.wait(idle_after("Cannot connect to API", 2), 300))
            except AssertionError:
                print("error_fresh_offline: the idle footer did not show within 300 s; the earlier recording stays")
        finally:
            o.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(base, ignore_errors=True)


def record_returning_user(base: Path, url: str) -> None:
    o = OpenCode(base, url, 1)
    try:
        save("idle", o.ready())
        o.send("multi line please")
        save("completed_multiline", o.wait(idle_after("Last line.")))
        o.send("be slow")
        save("processing", o.wait(lambda s: "esc interrupt" in s))
        save("completed_after_slow", o.wait(idle_after("finally done"), 20))
        o.send("please make the file")
        save("permission_shell", o.wait(lambda s: "Allow once" in s))
        o.tmux("send-keys", "-t", "rec", "Enter")  # Allow once
        save("completed_after_tool", o.wait(idle_after("The file is made.")))
        save("completed_after_tool_scrollback", o.scrollback())
        o.send("break now")
        save("error", o.wait(idle_after("scripted failure", 2)))
        o.send("multi line again")
        save("completed_after_error", o.wait(idle_after("Last line.", 2)))
        o.send("be slow")
        o.wait(lambda s: "esc interrupt" in s)
        o.tmux("send-keys", "-t", "rec", "Escape")
        o.wait(lambda s: "esc again to interrupt" in s)
        o.tmux("send-keys", "-t", "rec", "Escape")
        save("interrupted", o.wait(idle_after("Aborted")))
        o.send("long reply please")
        save("completed_long", o.wait(idle_after("The end.")))
        save("completed_long_scrollback", o.scrollback())
        o.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
        save("completed_typed", o.wait("typed by a person"))
    finally:
        o.close()
    o = OpenCode(base, url, 2, yolo=True)
    try:
        o.ready()
        o.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
        save("idle_typed", o.wait("typed by a person"))
        o.tmux("send-keys", "-t", "rec", "C-u")
        o.wait(lambda s: "typed by a person" not in s)
        o.send("please make the file")
        save("completed_yolo_tool", o.wait(idle_after("The file is made.")))
    finally:
        o.close()


if __name__ == "__main__":
    main()
