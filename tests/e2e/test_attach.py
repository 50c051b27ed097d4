"""`cao launch` without --headless attaches the user's terminal (a real tmux client on a real tty)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until


@pytest.fixture
def outer_tmux(cao_env: dict[str, str]) -> Iterator[str]:
    """A second private tmux server standing in for the user's terminal."""
    socket = cao_env["CAO_TMUX_SOCKET"] + "_user"
    yield socket
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def test_launch_attaches_the_terminal_to_the_new_session(server: ServerProcess, settings: Settings,
                                                         workdir: Path, outer_tmux: str) -> None:
    subprocess.run(["tmux", "-L", outer_tmux, "new-session", "-d", "-x", "120", "-y", "40", "-c", str(workdir),
                    "--", sys.executable, "-m", "cao", "launch", "--agents", "developer", "--provider", "mock",
                    "--session-name", "att"], check=True)

    def user_screen() -> str:
        return subprocess.run(["tmux", "-L", outer_tmux, "capture-pane", "-p"], capture_output=True,
                              text=True).stdout

    retry_until(lambda: "cao mock agent" in user_screen() and "? for shortcuts" in user_screen(), 30,
                message="the user's terminal shows the agent")
    clients = subprocess.run(["tmux", "-L", settings.tmux_socket or "", "list-clients", "-F", "#{session_name}"],
                             capture_output=True, text=True).stdout.split()
    assert clients == ["cao-att"]
    # GET /sessions answers from memory; tmux's attached clients are read by the reconciliation pass (3 s).
    retry_until(lambda: server.client.get("/sessions")[0]["status"] == "active", 10,
                message="the session shows a client attached")
