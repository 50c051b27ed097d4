"""A person steering an agent: interrupt its turn, answer the question it is asking.

Both press keys into the CLI (``terminals.send_key``), each key only after the screen the previous
one made is drawn, and both refuse with 409 when there is nothing to interrupt or to answer, so a
late click never lands in the wrong state (an Escape at an idle prompt of some CLIs clears it; a key
meant for a dialog would be typed into the prompt).
"""

from __future__ import annotations

from cao import validation
from cao.errors import Conflict, InvalidInput
from cao.services import terminals
from cao.services.runtime import Runtime
from cao.status import Status

MAX_ANSWER_KEYS = 10
TURN_STATUSES = (Status.PROCESSING, Status.WAITING_USER_ANSWER)  # a turn is running
INTERRUPTIBLE_WAIT_S = 10.0  # how long an interrupt waits for a turn being prepared to become stoppable


async def interrupt(rt: Runtime, terminal_id: str) -> None:
    """Stop the agent's turn the way its CLI stops one (Esc for most; Esc twice for OpenCode)."""
    monitor = terminals.live_monitor(rt, terminal_id)
    if monitor.status not in TURN_STATUSES:
        raise Conflict(f"terminal {terminal_id} is {monitor.status}: it has no turn to interrupt")
    monitor.interrupting = True
    cue = monitor.provider.interruptible_cue
    if cue is not None:
        await rt.engine.wait(monitor, lambda m: m.status is not Status.PROCESSING
                             or any(cue.search(row) for row in m.screen.rows()), INTERRUPTIBLE_WAIT_S)
        if monitor.status not in TURN_STATUSES:
            monitor.interrupting = False
            raise Conflict(f"terminal {terminal_id} finished its turn ({monitor.status}) before it was interrupted")
    for key in monitor.provider.interrupt_keys:
        await terminals.send_key(rt, terminal_id, key, until_drawn=True)


async def answer(rt: Runtime, terminal_id: str, keys: list[str]) -> None:
    """Press ``keys`` (e.g. ``["2"]`` or ``["Down", "Enter"]``) into the dialog the agent is showing."""
    if not keys or len(keys) > MAX_ANSWER_KEYS:
        raise InvalidInput(f"an answer is 1 to {MAX_ANSWER_KEYS} keys, such as 1, y, Enter or Down Enter")
    for key in keys:
        validation.key(key)
    monitor = terminals.live_monitor(rt, terminal_id)
    if monitor.status is not Status.WAITING_USER_ANSWER:
        raise Conflict(f"terminal {terminal_id} is {monitor.status}: it is not asking anything; "
                       "send it a message instead")
    for key in keys:
        await terminals.send_key(rt, terminal_id, key, until_drawn=True)
