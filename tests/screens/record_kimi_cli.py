"""Record Kimi CLI 1.51 screens for tests/unit/test_kimi_cli_screens.py.

Run from the project root:  uv run python tests/screens/record_kimi_cli.py

Starts cao's scripted model server on a free port, then each scenario runs the real ``kimi`` (from
scripts/install-real-clis) in its own private tmux server with a temporary HOME and TMPDIR holding
what a returning user has (``~/.kimi/config.toml`` naming an OpenAI-compatible provider and its
model), launched exactly as cao launches it (``KimiCliProvider.build_launch``, without cao's MCP
server), drives it with paste-buffer / send-keys, waits for a cue and writes ``capture-pane -p``
(the visible screen, 220x50 like cao's windows) to ``tests/screens/kimi_cli/<name>.txt``;
``*_scrollback`` files hold the whole history (``-S - -J``). ``completed_after_resize`` (a 5 s Shell
run under yolo, the window resized to 100x30 mid-run), ``error_llm_not_set`` (no ``~/.kimi`` at all)
and ``starting_mcp`` were captured by hand from the same binary (the first with tmux
``resize-window``, the last from cao's output in tests/e2e_real).
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

from cao import real_clis
from cao.profiles import load_profile
from cao.providers.base import LaunchContext
from cao.providers.kimi_cli import KimiCliProvider

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a script from the project root: make `tests.screens` importable

from tests.screens.recording import RecordingPane, real_clis_bin  # noqa: E402

OUT = Path(__file__).resolve().parent / "kimi_cli"
# Kimi renders replies as Markdown: paragraphs stay apart, soft line breaks join.
MULTI = "First paragraph of the answer.\n\nSecond paragraph, after a blank one.\n\n- a list item\n- another one"
LONG = "\n\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 60)] + ["The end."])
RULES = {"rules": [
    {"match": "^be slow", "delay": 6, "text": "finally done"},
    {"match": "^take your time", "delay": 60, "text": "too late"},
    {"match": "^multi", "text": MULTI},
    {"match": "^long", "text": LONG},
    {"match": "^please make the file", "needs_tools": True, "tool": "Shell", "args": {"command": "touch made.txt"}},
    {"on_tool_result": ".", "text": "The file is made."},
    {"match": "^break", "error": 400, "message": "scripted failure"},
], "default": {"text": "OK: {{text}}"}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def user_config(url: str) -> str:
    """What a returning user who set up an OpenAI-compatible provider has in ~/.kimi/config.toml."""
    return (f'default_model = "fake"\ntelemetry = false\n\n[providers.local]\ntype = "openai_legacy"\n'
            f'base_url = "{url}/v1"\napi_key = "sk-fake-kimi-key"\n\n[models.fake]\nprovider = "local"\n'
            f'model = "fake-model"\nmax_context_size = 100000\n')


class Kimi(RecordingPane):
    wait_timeout = 60.0
    check = False

    def __init__(self, base: Path, url: str, n: int, *, yolo: bool = False) -> None:
        self.socket = f"cao-record-kimi-{os.getpid()}-{n}"
        home, work, tmp, run = base / f"home{n}", base / f"work{n}", base / f"tmp{n}", base / f"run{n}"
        for path in (home / ".kimi", work, tmp, run):
            path.mkdir(parents=True)
        (home / ".kimi" / "config.toml").write_text(user_config(url))
        real_clis_bin()  # installs the pinned CLIs when missing
        os.environ["PATH"] = f"{real_clis.pypi_bin_dir('kimi')}:{os.environ['PATH']}"
        os.environ["HOME"] = str(home)  # build_launch reads the user's ~/.kimi
        ctx = LaunchContext(terminal_id=f"rec{n}", working_directory=work, runtime_dir=run,
                            profile=load_profile("developer", base / "cao-home"), yolo=yolo,
                            allowed_tools=("@builtin", "fs_*", "execute_bash", "web_fetch"))
        spec = KimiCliProvider().build_launch(ctx)
        for path, text in spec.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        env = [f"HOME={home}", f"TMPDIR={tmp}", "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=tmux-256color",
               "LANG=C.UTF-8", *(f"{k}={v}" for k, v in spec.env.items())]
        self.tmux("new-session", "-d", "-x", "220", "-y", "50", "-s", "rec", "-c", str(work),
                  "/usr/bin/env", "-i", *env, *spec.argv)

    def ready(self) -> str:
        return self.wait(lambda s: "── input ─" in s and "Welcome to Kimi" in s)

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
    def idle(screen: str) -> bool:
        rows = [row for row in screen.splitlines() if row.strip()]
        rule = max((i for i, row in enumerate(rows) if row.startswith("── input")), default=0)
        return screen.count(text) >= count and rule > 0 and rows[rule - 1].startswith(("• ", "  ", "Interr", "LLM",
                                                                                        "If this"))
    return idle


def main() -> None:
    OUT.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="cao-record-kimi-"))
    port = free_port()
    (base / "rules.json").write_text(json.dumps(RULES))
    server = subprocess.Popen([sys.executable, "-m", "cao", "model-server", "--script", str(base / "rules.json"),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    home = os.environ.get("HOME", "")
    try:
        time.sleep(2)
        k = Kimi(base, url, 1)
        try:
            save("idle", k.ready())
            k.send("multi please")
            save("completed_multiline", k.wait(idle_after("another one")))
            k.send("be slow")
            save("processing", k.wait(lambda s: any(m in s for m in "🌑🌒🌓🌔🌕🌖🌗🌘")))
            save("completed_after_slow", k.wait(idle_after("finally done"), 20))
            k.send("please make the file")
            save("permission_shell", k.wait(lambda s: "requesting approval" in s and "Approve once" in s))
            k.tmux("send-keys", "-t", "rec", "Enter")  # [1] Approve once
            save("completed_after_tool", k.wait(idle_after("The file is made.")))
            save("completed_after_tool_scrollback", k.scrollback())
            k.send("break now")
            save("error", k.wait(idle_after("scripted failure")))
            k.send("multi again")
            save("completed_after_error", k.wait(idle_after("another one", 2)))
            k.send("take your time")
            k.wait(lambda s: any(m in s for m in "🌑🌒🌓🌔🌕🌖🌗🌘"))
            k.tmux("send-keys", "-t", "rec", "Escape")
            save("interrupted", k.wait(idle_after("Interrupted by user")))
            k.send("long reply please")
            save("completed_long", k.wait(idle_after("The end.")))
            save("completed_long_scrollback", k.scrollback())
            k.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
            save("completed_typed", k.wait(" typed by a person"))
            k.tmux("send-keys", "-t", "rec", "C-u")
            k.send("be slow")
            k.wait(lambda s: any(m in s for m in "🌑🌒🌓🌔🌕🌖🌗🌘"))
            k.send("queued meanwhile")
            save("processing_queued", k.wait("1 queued"))
            save("completed_after_queued", k.wait(idle_after("OK: queued meanwhile"), 30))
            k.send("/exit")
            time.sleep(2)
        finally:
            k.close()
        k = Kimi(base, url, 2, yolo=True)
        try:
            k.ready()
            k.tmux("send-keys", "-t", "rec", "-l", "typed by a person")
            save("idle_typed", k.wait(" typed by a person"))
            k.tmux("send-keys", "-t", "rec", "C-u")
            k.wait(lambda s: "typed by a person" not in s)
            k.send("please make the file")
            save("completed_yolo_tool", k.wait(idle_after("The file is made.")))
        finally:
            k.close()
    finally:
        os.environ["HOME"] = home
        server.terminate()
        server.wait(10)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
