"""Typing a message into an agent and confirming it was taken: the agent is seen to start work.

Some CLIs swallow an Enter that arrives too soon after a paste; then the text sits in their
input box. cao checks for exactly that and presses Enter again — it never retypes the text.
"""

from __future__ import annotations

import asyncio

from cao.errors import CaoError
from cao.monitor import TerminalMonitor
from cao.services import terminals
from cao.services.runtime import Runtime

CONFIRM_TIMEOUT_S = 5.0


class DeliveryError(CaoError):
    pass


async def _started(rt: Runtime, monitor: TerminalMonitor, turn: int, timeout: float) -> bool:
    def seen(m: TerminalMonitor) -> bool:
        return m.exit_reason is not None or m.turns_finished >= turn or (m.turn == turn and m.turn_started)

    await rt.engine.wait(monitor, seen, timeout)
    return monitor.exit_reason is None and seen(monitor)


async def text_is_visible(rt: Runtime, monitor: TerminalMonitor, probe: str) -> bool:
    assert monitor.pane_id
    screen = await asyncio.to_thread(rt.tmux.capture, monitor.pane_id, history=True)
    return probe in screen


async def deliver(rt: Runtime, monitor: TerminalMonitor, text: str, *, probe: str,
                  timeout: float = CONFIRM_TIMEOUT_S) -> int:
    """Send ``text``; return its turn once the agent works on it. ``probe`` is a line of ``text``."""
    turn = await terminals.send_input(rt, monitor.terminal_id, text)
    if await _started(rt, monitor, turn, timeout):
        return turn
    if monitor.exit_reason:
        raise DeliveryError(f"terminal {monitor.terminal_id} exited: {monitor.exit_reason}")
    if await text_is_visible(rt, monitor, probe):
        await terminals.send_key(rt, monitor.terminal_id, "Enter")
        if await _started(rt, monitor, turn, timeout):
            return turn
    raise DeliveryError(f"terminal {monitor.terminal_id} did not start working on the message "
                        f"within {timeout:g}s")


async def ensure_submitted(rt: Runtime, monitor: TerminalMonitor, turn: int, *, probe: str,
                           timeout: float = CONFIRM_TIMEOUT_S) -> None:
    """After a direct input (``POST /terminals/{id}/input``), in the background: if the agent has not
    started on it and the text is still on its screen (in the input box), press Enter once more (a busy CLI can take
    a fast Enter as part of the paste). Never a second time, never into a dialog."""
    if await _started(rt, monitor, turn, timeout) or monitor.exit_reason or monitor.turn != turn:
        return
    if monitor.status.ready and any(probe in row for row in monitor.screen.rows()):
        await terminals.send_key(rt, monitor.terminal_id, "Enter")
