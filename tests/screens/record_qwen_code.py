"""Record Qwen Code 0.24 screens for tests/unit/test_qwen_code_screens.py.

Run from the project root:  uv run python tests/screens/record_qwen_code.py

Starts cao's scripted model server on a free port, then each scenario runs the real ``qwen`` (from
scripts/install-real-clis) in its own private tmux server with a temporary HOME and TMPDIR holding
what a returning user has (``~/.qwen/settings.json`` choosing an OpenAI-compatible provider), with
the settings layer cao adds (``qwen_code.CAO_DEFAULTS``), drives it with paste-buffer / send-keys,
waits for a cue and writes ``capture-pane -p`` (the visible screen, 220x50 like cao's windows) to
``tests/screens/qwen_code/<name>.txt``; ``*_scrollback`` files hold the whole history (``-S -``).
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

from cao.providers.qwen_code import CAO_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.screens.recording import RecordingPane, real_clis_bin  # noqa: E402

OUT = Path(__file__).resolve().parent / "qwen_code"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\n  indented code line\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
RULES = {"rules": [
    {"match": "^be slow", "delay": 6, "text": "finally done"},
    {"match": "^take your time", "delay": 60, "text": "too late"},
    {"match": "^multi", "text": MULTI},
    {"match": "^long", "text": LONG},
    {"match": "^please make the file", "needs_tools": True, "tool": "run_shell_command",
     "args": {"command": "touch made.txt"}},
    {"on_tool_result": ".", "text": "The file is made."},
    {"match": "^break", "error": 400, "message": "scripted failure"},
], "default": {"text": "OK: {{text}}"}}
KEY = "FAKE_QWEN_KEY"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_settings(url: str, **extra: object) -> dict:
    """What a returning user who connected a custom OpenAI-compatible provider has in ~/.qwen/settings.json."""
    return {"security": {"auth": {"selectedType": "openai"}, **extra}, "model": {"name": "fake-model"},
            "modelProviders": {"openai": [{"id": "fake-model", "name": "Fake", "baseUrl": f"{url}/v1",
                                           "envKey": KEY}]}}


class Qwen(RecordingPane):
    wait_timeout = 40.0
    check = False

    def __init__(self, base: Path, url: str, n: int, *, settings: dict | None,
                 args: tuple[str, ...] = ("--approval-mode", "default")) -> None:
        self.socket = f"cao-record-qwen-{os.getpid()}-{n}"
        home, work, tmp = base / f"home{n}", base / f"work{n}", base / f"tmp{n}"
        for path in (home / ".qwen", work, tmp):
            path.mkdir(parents=True)
        if settings is not None:
            (home / ".qwen" / "settings.json").write_text(json.dumps(settings))
        defaults = base / f"defaults{n}.json"
        defaults.write_text(json.dumps(CAO_DEFAULTS))
        binary = str(real_clis_bin() / "qwen")
        env = [f"HOME={home}", f"TMPDIR={tmp}", "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=tmux-256color",
               "LANG=C.UTF-8", f"{KEY}=sk-fake", f"QWEN_CODE_SYSTEM_DEFAULTS_PATH={defaults}",
               "QWEN_CODE_NO_RELAUNCH=true"]
        self.tmux("new-session", "-d", "-x", "220", "-y", "50", "-s", "rec", "-c", str(work),
                  "/usr/bin/env", "-i", *env, binary, *args)

    def ready(self) -> str:
        return self.wait(lambda s: "Type your message" in s and "Qwen Code (v" in s)

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
    return lambda s: text in s and "esc to cancel" not in s and "Type your message" in s


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="cao-record-qwen-"))
    port = free_port()
    (base / "rules.json").write_text(json.dumps(RULES))
    server = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(base / "rules.json"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(2)
        q = Qwen(base, url, 1, settings=user_settings(url))
        try:
            save("idle", q.ready())
            q.send("multi line please")
            save("completed_multiline", q.wait(idle_after("Last line.")))
            q.send("be slow")
            save("processing", q.wait(lambda s: "esc to cancel" in s))
            save("completed_after_slow", q.wait(idle_after("finally done"), 20))
            q.send("please make the file")
            save("permission_shell", q.wait(lambda s: "Allow execution of" in s))
            q.tmux("send-keys", "-t", "rec", "Enter")  # 1. Yes, allow once
            save("completed_after_tool", q.wait(idle_after("The file is made.")))
            q.send("break now")
            save("error", q.wait(idle_after("API Error")))
            q.send("multi line again")
            save("completed_after_error", q.wait(lambda s: s.count("Last line.") == 2 and "esc to cancel" not in s))
            q.send("long reply please")
            save("completed_long", q.wait(idle_after("The end.")))
            save("completed_long_scrollback", q.scrollback())
            q.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
            save("idle_typed", q.wait("> typed by a person"))
            q.tmux("send-keys", "-t", "rec", "C-u")
            q.send("take your time")
            q.wait(lambda s: "esc to cancel" in s)
            q.tmux("send-keys", "-t", "rec", "Escape")
            save("interrupted", q.wait(idle_after("Request cancelled.")))
        finally:
            q.close()
        for n, settings, args, name, cue in (
                (2, user_settings(url, folderTrust={"enabled": True}), ("--approval-mode", "default"),
                 "trust_dialog", "Do you trust this folder?"),
                (3, None, ("--approval-mode", "default"), "auth_dialog", "Connect a Provider"),
                (4, user_settings(url), ("--approval-mode", "yolo"), "idle_yolo", "YOLO mode")):
            q = Qwen(base, url, n, settings=settings, args=args)
            try:
                q.wait(cue)
                time.sleep(1)  # let the frame settle
                save(name, q.screen())
            finally:
                q.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
