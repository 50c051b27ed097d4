"""What the screen recorders (record_*.py) share: the pinned real CLIs, and a pane to record from.

Each recorder runs its program in a private tmux server (socket ``self.socket``) in a session
named ``rec``, waits for a cue, and saves ``capture-pane`` output as a test screen.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def real_clis_bin() -> Path:
    """The bin directory of the pinned real CLIs (installed on first use by scripts/install-real-clis)."""
    out = subprocess.run([str(ROOT / "scripts" / "install-real-clis")], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


class RecordingPane:
    """The tmux plumbing of a recorder; subclasses set ``self.socket`` and start session ``rec``."""

    socket: str
    wait_timeout = 10.0
    settle = 0.0  # seconds to let a frame settle once its cue shows (blinking glyphs, footers)
    check = True  # whether a failing tmux command is an error

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True,
                              text=True, check=self.check).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "rec")

    def scrollback(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "rec")

    def wait(self, cue: Callable[[str], bool] | str, timeout: float | None = None) -> str:
        test = (lambda text: cue in text) if isinstance(cue, str) else cue
        deadline = time.monotonic() + (timeout or self.wait_timeout)
        while time.monotonic() < deadline:
            text = self.screen()
            if test(text):
                if self.settle:
                    time.sleep(self.settle)
                    return self.screen()
                return text
            time.sleep(0.02)
        raise AssertionError(f"{self.socket}: cue {cue!r} not seen; screen:\n{self.screen()}")
