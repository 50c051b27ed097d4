"""What the status engine knows about one terminal: its screen, status, turns and pending timers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from cao.providers.base import Provider
from cao.screen import VirtualScreen
from cao.status import Status


@dataclass
class TerminalMonitor:
    terminal_id: str
    provider: Provider
    fifo: Path
    screen: VirtualScreen
    pane_id: str | None = None
    status: Status = Status.UNKNOWN
    exit_reason: str | None = None
    turn: int = 0
    turns_finished: int = 0
    turn_started: bool = True
    turn_interrupted: bool = False  # the last finished turn ended at the prompt, with no answer (Esc)
    interrupting: bool = False  # cao pressed the interrupt keys during the current turn
    # Pending: a turn's end seen but not yet taken, until the screen has held it long enough (below).
    settle: asyncio.TimerHandle | None = None
    settling: Status | None = None
    completing: asyncio.TimerHandle | None = None  # a completed screen not shown yet (completed_settle_s)
    last_output: float = 0.0  # loop time of the last read from the pane
    # Whether the agent's MCP client must list cao's tools before it is given work, and whether it has.
    needs_mcp: bool = False
    mcp_ready: bool = False
    read_fd: int | None = None
    pid_fd: int | None = None  # a pidfd of the agent process: readable the moment it exits
    pid: int | None = None
    processes_at_turn: frozenset[int] = frozenset()  # the agent's descendants when cao gave it this turn
    keepalive_fd: int | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    scheduled: asyncio.TimerHandle | None = None
    input_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def cancel_settle(self) -> None:
        if self.settle is not None:
            self.settle.cancel()
            self.settle = self.settling = None

    def cancel_completing(self) -> None:
        if self.completing is not None:
            self.completing.cancel()
            self.completing = None

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()
