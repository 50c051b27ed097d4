"""Record Hermes Agent 0.19 screens for tests/unit/test_hermes_screens.py.

Run from the project root:  uv run python tests/screens/record_hermes.py

Starts cao's scripted model server on a free port, then runs the real ``hermes chat`` (from
scripts/install-real-clis, which installs ``hermes-agent`` from PyPI) in a private tmux server with a
temporary HOME and TMPDIR holding what a returning user has (``~/.hermes/config.yaml`` naming a custom
OpenAI-compatible endpoint), drives it with paste-buffer / send-keys, waits for a cue and writes
``capture-pane -p`` (the visible screen, 220x50 like cao's windows) to ``tests/screens/hermes/<name>.txt``;
``*_scrollback`` files hold the whole history (``-S -``). Nothing outside the temporary directories is
touched; everything started is stopped.
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.screens.recording import RecordingPane  # noqa: E402

OUT = Path(__file__).resolve().parent / "hermes"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
RULES = {"rules": [
    {"match": "^be slow", "delay": 6, "text": "finally done"},
    {"match": "^take your time", "delay": 60, "text": "too late"},
    {"match": "multi line", "text": MULTI},  # after an error Hermes sends the failed task again, first
    {"match": "^long", "text": LONG},
    {"match": "^please remove the folder", "needs_tools": True, "tool": "terminal",
     "args": {"command": "rm -rf ./scratch"}},
    {"match": "^please make the file", "needs_tools": True, "tool": "terminal", "args": {"command": "touch made.txt"}},
    {"on_tool_result": ".", "text": "The tool ran."},
    {"match": "^break", "error": 400, "message": "scripted failure", "times": 1},
], "default": {"text": "OK: {{text}}"}}
IDLE = "⏲"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hermes_bin() -> Path:
    out = subprocess.run([str(ROOT / "scripts" / "install-real-clis")], capture_output=True, text=True, check=True)
    return Path(f"{Path(out.stdout.strip().splitlines()[-1]).parents[1]}-hermes") / "bin"


def user_config(url: str) -> str:
    """What a returning user who pointed Hermes at their own OpenAI-compatible endpoint has."""
    return f"model:\n  provider: custom\n  default: fake-model\n  base_url: {url}/v1\n"


class Hermes(RecordingPane):
    wait_timeout = 90.0
    settle = 0.5
    check = False

    def __init__(self, base: Path, url: str, n: int, args: tuple[str, ...] = ()) -> None:
        self.socket = f"cao-record-hermes-{os.getpid()}-{n}"
        home, work, tmp = base / f"home{n}", base / f"work{n}", base / f"tmp{n}"
        for path in (home / ".hermes", work / "scratch", tmp):
            path.mkdir(parents=True)
        (home / ".hermes" / "config.yaml").write_text(user_config(url))
        env = [f"HOME={home}", f"TMPDIR={tmp}", "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=tmux-256color",
               "LANG=C.UTF-8", "OPENAI_API_KEY=sk-fake", "HERMES_DISABLE_LAZY_INSTALLS=1"]
        self.tmux("new-session", "-d", "-x", "220", "-y", "50", "-s", "rec", "-c", str(work),
                  "/usr/bin/env", "-i", *env, str(hermes_bin() / "hermes"), "chat", *args)

    def send(self, text: str) -> None:
        self.tmux("set-buffer", "-b", "rec", text)
        self.tmux("paste-buffer", "-p", "-d", "-r", "-b", "rec", "-t", "rec")
        self.tmux("send-keys", "-t", "rec", "Enter")

    def close(self) -> None:
        self.tmux("kill-server")


def save(name: str, text: str) -> None:
    (OUT / f"{name}.txt").write_text(text, encoding="utf-8")
    print("recorded", name)


def idle_after(text: str) -> Callable[[str], bool]:
    return lambda s: text in s and IDLE in s and "msg=interrupt" not in s


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="cao-record-hermes-"))
    port = free_port()
    (base / "rules.json").write_text(json.dumps(RULES))
    server = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(base / "rules.json"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(2)
        h = Hermes(base, url, 1)
        try:
            save("idle", h.wait(lambda s: "Welcome to Hermes Agent" in s and IDLE in s))
            h.send("multi line please")
            save("completed_multiline", h.wait(idle_after("Last line.")))
            h.send("be slow")
            save("processing", h.wait(lambda s: "msg=interrupt" in s))
            save("completed_after_slow", h.wait(idle_after("finally done"), 30))
            h.send("please make the file")
            save("completed_after_tool", h.wait(idle_after("The tool ran.")))
            h.send("please remove the folder")
            save("permission_dangerous", h.wait("Enter to confirm"))
            h.tmux("send-keys", "-t", "rec", "Enter")  # 1. Allow once
            save("completed_after_permission", h.wait(lambda s: s.count("The tool ran.") == 2 and IDLE in s))
            h.send("break now")
            save("error", h.wait(idle_after("scripted failure")))
            h.send("multi line again")
            save("completed_after_error", h.wait(lambda s: "again" in s and "Last line." in s.split("again")[-1]
                                                 and IDLE in s and "msg=interrupt" not in s))
            h.send("long reply please")
            save("completed_long", h.wait(idle_after("The end.")))
            save("completed_long_scrollback", h.scrollback())
            h.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
            save("completed_typed", h.wait("❯ typed by a person"))
            h.tmux("send-keys", "-t", "rec", "C-u")
            h.send("take your time")
            h.wait(lambda s: "msg=interrupt" in s and "take your time" in s)
            h.tmux("send-keys", "-t", "rec", "C-c")
            time.sleep(3)
            save("interrupted", h.screen())
        finally:
            h.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
