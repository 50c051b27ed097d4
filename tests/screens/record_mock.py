"""Record the screens of the real mock agent for tests/unit/test_mock_agent_screens.py.

Run from the project root:  uv run python tests/screens/record_mock.py

Each scenario starts ``python -m cao.mock_agent`` in its own private tmux server
(``tmux -L cao-record-<pid>-<n>``, killed afterwards), drives it with send-keys /
paste-buffer, waits for a cue on screen, and writes ``capture-pane -p`` (the visible
screen) to ``tests/screens/mock/<name>.txt``; some scenarios also write the whole
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.screens.recording import RecordingPane  # noqa: E402

OUT = Path(__file__).resolve().parent / "mock"
WIDTH, HEIGHT = 100, 30
LONG_REPLY = "\n".join(f"Line {n} of the long reply" for n in range(1, 101))
SCRIPT = {
    "rules": [
        {"match": "slow", "steps": [{"wait": 60}, {"reply": "finally done"}]},
        {"match": "delete", "steps": [{"ask_permission": "Bash(rm -rf build)"},
                                      {"reply": "Permission {{permission}}.\nTask was: {{task}}"}]},
        {"match": "boom", "steps": [{"fail": "API Error: 500 Internal Server Error"}]},
        {"match": "long", "steps": [{"reply": LONG_REPLY}]},
    ],
}
_counter = itertools.count()


class Pane(RecordingPane):
    def __init__(self, *args: str, width: int = WIDTH, height: int = HEIGHT) -> None:
        self.socket = f"cao-record-{os.getpid()}-{next(_counter)}"
        self.tmp = tempfile.mkdtemp(prefix="cao-record-")
        script = Path(self.tmp) / "script.json"
        script.write_text(json.dumps(SCRIPT))
        argv = [sys.executable, "-m", "cao.mock_agent", "--script", str(script), *args]
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "rec", "-c", "/tmp", *argv)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "rec", *(["-l"] if literal else []), *keys)

    def paste(self, text: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "load-buffer", "-b", "rec", "-"], input=text, text=True,
                       check=True)
        self.tmux("paste-buffer", "-p", "-d", "-b", "rec", "-t", "rec")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        tmux_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (tmux_dir / self.socket).unlink(missing_ok=True)  # tmux 3.3 may leave the socket file behind
        shutil.rmtree(self.tmp, ignore_errors=True)


def done_count(n: int) -> Callable[[str], bool]:
    return lambda text: text.count("✻ Done in") >= n and "esc to interrupt" not in text


def save(name: str, text: str) -> None:
    (OUT / f"{name}.txt").write_text("\n".join(line.rstrip() for line in text.rstrip("\n").split("\n")) + "\n")
    print(f"recorded {name}")


def record() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    prompt = "? for shortcuts"

    p = Pane("--name", "developer", "--model", "mock-large")
    try:
        save("startup_idle", p.wait(prompt))
        p.keys("half typed tex", literal=True)
        save("idle_typing", p.wait("half typed tex"))
        p.keys("C-u", "hello there", "Enter")
        save("completed", p.wait(done_count(1)))
        save("completed.scrollback", p.scrollback())
        p.keys("next task draft", literal=True)
        save("completed_typing", p.wait("next task draft"))
        p.keys("C-u", "boom", "Enter")
        save("error", p.wait("✗ Error:"))
        p.keys("a retry dr", literal=True)
        save("error_typing", p.wait("a retry dr"))
        p.keys("C-u", "second question", "Enter")
        save("completed_after_error", p.wait(done_count(2)))
        save("completed_after_error.scrollback", p.scrollback())
        p.keys("slow job", "Enter")
        save("processing", p.wait("esc to interrupt"))
        p.keys("Escape")
        save("interrupted", p.wait("Interrupted by user"))
        p.keys("/frobnicate", "Enter")
        save("unknown_command", p.wait("Unknown command"))
    finally:
        p.close()

    p = Pane("--name", "reviewer")
    try:
        p.wait(prompt)
        p.keys("please delete the build dir", "Enter")
        save("permission", p.wait("Do you want to proceed?"))
        p.keys("1")
        save("permission_granted", p.wait(done_count(1)))
        save("permission_granted.scrollback", p.scrollback())
        p.keys("delete it again", "Enter")
        p.wait(lambda text: text.count("Do you want to proceed?") == 1 and text.count("✻ Done") == 1)
        p.keys("Escape")
        save("permission_denied", p.wait(done_count(2)))
    finally:
        p.close()

    p = Pane()
    try:
        p.wait(prompt)
        p.keys("long answer please", "Enter")
        save("long_reply", p.wait(done_count(1)))
        save("long_reply.scrollback", p.scrollback())
    finally:
        p.close()

    p = Pane()
    try:
        p.wait(prompt)
        p.paste("first line of the task\nsecond line\n\nfourth line after a blank")
        save("multiline_input", p.wait("fourth line after a blank"))
        p.keys("Enter")
        save("multiline_completed", p.wait(done_count(1)))
        save("multiline_completed.scrollback", p.scrollback())
        p.paste("\n".join(f"pasted row {n}" for n in range(1, 13)))
        save("multiline_input_long", p.wait("pasted row 12"))
        p.keys("C-u")
        p.wait(lambda text: "pasted row" not in text)
        p.tmux("resize-window", "-t", "rec", "-x", "46", "-y", "24")
        save("completed_narrow", p.wait(lambda text: f"{'─' * 46}\n❯" in text and "✻ Done in" in text))
    finally:
        p.close()


if __name__ == "__main__":
    record()
