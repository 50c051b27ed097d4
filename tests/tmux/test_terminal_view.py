"""services/terminal_view.py against a real tmux server: a view is its own grouped session, a slow
viewer is not read past its bound (tmux holds the rest), and closing the view leaves the window."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from cao.services.terminal_view import MAX_PENDING, READ_SIZE, TerminalView
from cao.tmux import TmuxBackend
from tests.conftest import retry_until

pytestmark = pytest.mark.tmux
FLOOD = "import sys\nwhile True: sys.stdout.write('x' * 4000 + chr(10))\n"


def sessions(tmux: TmuxBackend) -> list[str]:
    return sorted(tmux.list_sessions())


def test_a_slow_viewer_is_bounded_and_the_window_outlives_its_view(cao_env: dict[str, str]) -> None:
    tmux = TmuxBackend(cao_env["CAO_TMUX_SOCKET"])
    tmux.run("new-session", "-d", "-s", "cao-flood", "-n", "agent", "-x", "200", "-y", "50", "--",
             sys.executable, "-c", FLOOD)

    async def scenario() -> None:
        view = TerminalView(tmux, "cao-flood", "agent")
        await view.start(50, 200)
        try:
            # Nobody takes the output: reading stops at the bound instead of growing without end.
            deadline = asyncio.get_running_loop().time() + 20
            while not view.paused:
                assert asyncio.get_running_loop().time() < deadline, "the view never paused"
                await asyncio.sleep(0.02)
            assert MAX_PENDING <= view.pending < MAX_PENDING + READ_SIZE
            assert view.view in await asyncio.to_thread(sessions, tmux)
            taken = 0
            while taken < 2 * MAX_PENDING:  # taking it resumes reading: the stream goes on
                taken += len(await asyncio.wait_for(view.output(), 20) or b"")
            assert view.pending < MAX_PENDING + READ_SIZE
        finally:
            await view.close()

    asyncio.run(scenario())
    retry_until(lambda: sessions(tmux) == ["cao-flood"], 10, message="the view's session is gone")
    panes = subprocess.run(["tmux", "-L", cao_env["CAO_TMUX_SOCKET"], "list-panes", "-t", "cao-flood:agent",
                            "-F", "#{pane_dead}"], capture_output=True, text=True).stdout.split()
    assert panes == ["0"]  # the agent's window still runs
