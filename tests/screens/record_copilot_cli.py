"""Record GitHub Copilot CLI 1.0 screens for tests/unit/test_copilot_cli_screens.py.

Run from the project root:  uv run python tests/screens/record_copilot_cli.py

Starts cao's scripted model server on a free port, then runs the real ``copilot`` (from
scripts/install-real-clis) in a private tmux server with a temporary HOME and TMPDIR, offline against
that server as a user of Copilot's own "bring your own model" switches has it (``COPILOT_OFFLINE=true``,
``COPILOT_PROVIDER_BASE_URL``, ``COPILOT_MODEL``), drives it with paste-buffer / send-keys, waits for
a cue and writes ``capture-pane -p`` (the visible screen, 220x50 like cao's windows) to
``tests/screens/copilot_cli/<name>.txt``. Nothing outside the temporary directories is touched;
everything started is stopped.
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

from tests.screens.recording import RecordingPane, real_clis_bin  # noqa: E402

OUT = Path(__file__).resolve().parent / "copilot_cli"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
RULES = {"rules": [
    {"match": "^be slow", "delay": 6, "text": "finally done"},
    {"match": "^take your time", "delay": 60, "text": "too late"},
    {"match": "^multi", "text": MULTI},
    {"match": "^long", "text": LONG},
    {"match": "^please make the file", "needs_tools": True, "tool": "bash",
     "args": {"command": "touch made.txt", "description": "Create a file"}},
    {"on_tool_result": ".", "text": "The file is made."},
    {"match": "^break", "error": 400, "message": "scripted failure"},
], "default": {"text": "OK: {{text}}"}}
IDLE_FOOTER = "/ commands"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_env(url: str) -> list[str]:
    """What a user who runs Copilot offline against their own OpenAI-compatible endpoint exports."""
    return ["COPILOT_OFFLINE=true", f"COPILOT_PROVIDER_BASE_URL={url}/v1", "COPILOT_MODEL=gpt-4o",
            "COPILOT_PROVIDER_API_KEY=sk-fake"]


class Copilot(RecordingPane):
    wait_timeout = 40.0
    settle = 0.3
    check = False

    def __init__(self, base: Path, url: str, n: int, args: tuple[str, ...] = ("--mode", "interactive")) -> None:
        self.socket = f"cao-record-copilot-{os.getpid()}-{n}"
        home, work, tmp = base / f"home{n}", base / f"work{n}", base / f"tmp{n}"
        for path in (home, work, tmp):
            path.mkdir(parents=True)
        binary = str(real_clis_bin() / "copilot")
        env = [f"HOME={home}", f"TMPDIR={tmp}", "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=tmux-256color",
               "LANG=C.UTF-8", "COPILOT_AUTO_UPDATE=false", *user_env(url)]
        self.tmux("new-session", "-d", "-x", "220", "-y", "50", "-s", "rec", "-c", str(work),
                  "/usr/bin/env", "-i", *env, binary, "--no-auto-update", *args)
        self.work = work

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
    return lambda s: text in s and IDLE_FOOTER in s


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="cao-record-copilot-"))
    port = free_port()
    (base / "rules.json").write_text(json.dumps(RULES))
    server = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(base / "rules.json"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(2)
        c = Copilot(base, url, 1)
        try:
            save("trust_dialog", c.wait("Do you trust the files in this folder?"))
            c.tmux("send-keys", "-t", "rec", "Enter")  # 1. Yes (this session only)
            save("idle", c.wait(IDLE_FOOTER))
            c.send("multi line please")
            save("completed_multiline", c.wait(idle_after("Last line.")))
            c.send("be slow")
            save("processing", c.wait(lambda s: "Working" in s and "be slow" in s))
            save("completed_after_slow", c.wait(idle_after("finally done"), 20))
            c.send("please make the file")
            save("permission_shell", c.wait("Do you want to run this command?"))
            c.tmux("send-keys", "-t", "rec", "Enter")  # 1. Yes
            save("completed_after_tool", c.wait(idle_after("The file is made.")))
            c.send("break now")
            save("error", c.wait(idle_after("scripted failure")))
            c.send("multi line again")
            save("completed_after_error", c.wait(lambda s: s.count("Last line.") == 2 and IDLE_FOOTER in s))
            c.send("long reply please")
            save("completed_long", c.wait(idle_after("The end.")))
            c.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
            save("completed_typed", c.wait("❯ typed by a person"))
            c.tmux("send-keys", "-t", "rec", "C-u")
            c.send("take your time")
            c.wait(lambda s: "Working" in s and "take your time" in s)
            c.tmux("send-keys", "-t", "rec", "C-c")
            save("interrupted", c.wait(idle_after("Operation cancelled by user")))
        finally:
            c.close()
        c = Copilot(base, url, 2, args=("--allow-all",))
        try:
            c.wait("Do you trust the files in this folder?")
            c.tmux("send-keys", "-t", "rec", "Enter")
            c.wait(IDLE_FOOTER)
            c.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
            save("idle_typed", c.wait("❯ typed by a person"))
            c.tmux("send-keys", "-t", "rec", "C-u")
            c.send("please make the file")
            save("completed_yolo_tool", c.wait(idle_after("The file is made.")))
        finally:
            c.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
