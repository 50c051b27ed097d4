"""Record Gemini CLI 0.61 screens for tests/unit/test_gemini_cli_screens.py.

Run from the project root:  uv run python tests/screens/record_gemini_cli.py

Starts cao's scripted model server on a free port, then each scenario runs the real ``gemini``
(from scripts/install-real-clis) in its own private tmux server with a temporary HOME and TMPDIR,
drives it with paste-buffer / send-keys, waits for a cue and writes ``capture-pane -p`` (the
visible screen, 220x50 like cao's windows) to ``tests/screens/gemini_cli/<name>.txt``.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.screens.recording import RecordingPane, real_clis_bin  # noqa: E402

OUT = Path(__file__).resolve().parent / "gemini_cli"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\n  indented code line\nLast line."
RULES = {"rules": [
    {"match": "slow", "delay": 6, "text": "finally done"},
    {"match": "multi", "text": MULTI},
    {"match": "make the file", "needs_tools": True, "tool": "run_shell_command",
     "args": {"command": "touch made.txt"}},
    {"on_tool_result": ".", "text": "The file is made."},
    {"match": "break", "error": 400, "message": "scripted failure"},
    {"match": "long", "text": "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)]
                                         + ["The end."])},
], "default": {"text": "OK: {{text}}"}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gemini(RecordingPane):
    wait_timeout = 30.0
    check = False

    def __init__(self, base: Path, url: str, n: int, *, trust: bool = True, auth: bool = True,
                 args: tuple[str, ...] = ()) -> None:
        self.socket = f"cao-record-gemini-{os.getpid()}-{n}"
        home, work, tmp = base / f"home{n}", base / f"work{n}", base / f"tmp{n}"
        for path in (home / ".gemini", work, tmp):
            path.mkdir(parents=True)
        if auth:
            (home / ".gemini" / "settings.json").write_text(
                json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
        if trust:
            (home / ".gemini" / "trustedFolders.json").write_text(json.dumps({str(work): "TRUST_FOLDER"}))
        binary = str(real_clis_bin() / "gemini")
        env = [f"HOME={home}", f"TMPDIR={tmp}", "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=tmux-256color",
               "LANG=C.UTF-8", f"GOOGLE_GEMINI_BASE_URL={url}", "GEMINI_API_KEY=fake-key",
               "GEMINI_CLI_NO_RELAUNCH=true"]  # as cao runs it: the relauncher outlives its window
        self.tmux("new-session", "-d", "-x", "220", "-y", "50", "-s", "rec", "-c", str(work),
                  "/usr/bin/env", "-i", *env, binary, *args)

    def ready(self) -> None:
        self.wait(lambda s: "Type your message" in s and "Gemini CLI v" in s)
        time.sleep(1)  # let MCP discovery finish before typing (see docs/providers/gemini_cli.md)

    def send(self, text: str) -> None:
        self.tmux("set-buffer", "-b", "rec", text)
        self.tmux("paste-buffer", "-p", "-d", "-r", "-b", "rec", "-t", "rec")
        time.sleep(0.25)
        self.tmux("send-keys", "-t", "rec", "Enter")

    def close(self) -> None:
        self.tmux("kill-server")


def save(name: str, text: str) -> None:
    (OUT / f"{name}.txt").write_text(text, encoding="utf-8")
    print("recorded", name)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="cao-record-gemini-"))
    port = free_port()
    (base / "rules.json").write_text(json.dumps(RULES))
    server = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(base / "rules.json"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        time.sleep(2)
        g = Gemini(base, url, 1)
        try:
            save("starting", g.wait(lambda s: "Type your message" in s and "Gemini CLI v" not in s))
            g.ready()
            save("idle", g.screen())
            g.send("multi line please")
            save("completed_multiline", g.wait(lambda s: "Last line." in s and "esc to cancel" not in s))
            g.send("be slow")
            save("processing", g.wait(lambda s: "esc to cancel" in s))
            save("completed_after_slow", g.wait(lambda s: "finally done" in s and "esc to cancel" not in s, 20))
            g.send("please make the file")
            save("permission_shell", g.wait(lambda s: "Allow execution of" in s))
            g.tmux("send-keys", "-t", "rec", "Enter")
            save("completed_after_tool", g.wait(lambda s: "The file is made." in s and "Type your message" in s))
            g.send("break now")
            save("error", g.wait(lambda s: "API Error" in s and "Type your message" in s))
            g.send("multi line again")
            save("completed_after_error", g.wait(lambda s: s.count("Last line.") == 2 and "esc to cancel" not in s))
            g.send("a long one please")  # longer than the screen: its start and the task's echo scroll off
            save("completed_long", g.wait(lambda s: "The end." in s and "esc to cancel" not in s))
        finally:
            g.close()
        for n, kwargs, name, cue in (
                (2, {"trust": False}, "trust_dialog", "Do you trust the files"),
                (3, {"auth": False}, "auth_dialog", "How would you like to authenticate"),
                (4, {"args": ("--approval-mode", "yolo")}, "idle_yolo", "Type your message")):
            g = Gemini(base, url, n, **kwargs)
            try:
                g.wait(lambda s, cue=cue: cue in s and "Gemini CLI v" in s)
                time.sleep(1)
                save(name, g.screen())
            finally:
                g.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
