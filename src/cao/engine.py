"""The status engine: pane output → virtual screen → provider rules → status events.

Each terminal's pane is piped (tmux ``pipe-pane``) into a FIFO that the server's event loop
watches with ``add_reader``: no thread or Python process per terminal, and an idle terminal
costs nothing. When output arrives the screen is updated and, after a short debounce, the
provider's pure ``detect`` runs. A slow reconciliation pass (``reconcile``) only catches what
the stream cannot tell: a pane that died or vanished, or a resized window.

Turns: every input sent through cao starts turn N. Turn N is finished once the agent has
been seen working (or asking) after the input and then settles again. This is what
"wait for the reply" waits on, so a stale ``completed`` from turn N-1 is never mistaken
for the end of turn N.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cao import proctree
from cao.errors import TmuxError
from cao.events import EventBus
from cao.monitor import TerminalMonitor
from cao.providers.base import Provider
from cao.screen import VirtualScreen
from cao.status import Status
from cao.tmux import PaneInfo, TmuxBackend

log = logging.getLogger(__name__)
DEBOUNCE_S = 0.004
IDLE_SETTLE_S = 0.5  # how long a turn must stay at an empty prompt to count as interrupted
# After cao pressed a CLI's interrupt keys, how long a completed-looking screen must hold to be an answer.
INTERRUPTED_COMPLETED_SETTLE_S = 1.5
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[\]P_^][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")
READ_SIZE = 65536


StatusListener = Callable[[TerminalMonitor, Status], None]


class PaneObserver(Protocol):
    """Told what each reconciliation's ``list-panes`` saw (``mark`` is taken just before listing)."""

    def mark(self) -> int: ...

    def observe(self, panes: list[PaneInfo], mark: int) -> None: ...


class StatusEngine:
    def __init__(self, tmux: TmuxBackend, bus: EventBus, fifo_dir: Path) -> None:
        self.tmux = tmux
        self.bus = bus
        self.fifo_dir = fifo_dir
        self.monitors: dict[str, TerminalMonitor] = {}
        self.listeners: list[StatusListener] = []
        self.observers: list[PaneObserver] = []
        self.loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()  # strong references until they finish

    # --- lifecycle ------------------------------------------------------------------

    def open(self, terminal_id: str, provider: Provider, size: tuple[int, int],
             fifo: Path | None = None) -> TerminalMonitor:
        """Start reading the terminal's FIFO (made here unless ``make_fifo`` made it already), before
        tmux writes to it."""
        fifo = fifo or self.make_fifo(terminal_id)
        monitor = TerminalMonitor(terminal_id, provider, fifo, VirtualScreen(*size))
        monitor.read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        # Our own write end keeps the FIFO from reporting EOF between writers.
        monitor.keepalive_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        self.loop.add_reader(monitor.read_fd, self._on_readable, monitor)
        self.monitors[terminal_id] = monitor
        return monitor

    def make_fifo(self, terminal_id: str) -> Path:
        """The terminal's FIFO, new. ``tmux pipe-pane`` may start its reader as soon as it exists
        (the reader's open waits until ``open`` opens the other end)."""
        self.fifo_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fifo = self.fifo_dir / f"{terminal_id}.fifo"
        with contextlib.suppress(FileNotFoundError):
            fifo.unlink()
        os.mkfifo(fifo, 0o600)
        return fifo

    def adopt(self, terminal_id: str, provider: Provider, pane: PaneInfo) -> TerminalMonitor:
        """Start tracking a live pane found at startup: re-pipe it and rebuild its screen."""
        monitor = self._open_adopted(terminal_id, provider, pane)
        try:
            if not pane.dead:  # tmux refuses to pipe a dead pane; its screen can still be read
                self.tmux.pipe(pane.pane_id, monitor.fifo)
            self.resync(monitor, pane.width, pane.height)
        except BaseException:
            self.close(terminal_id)
            raise
        return monitor

    def adopt_all(self, found: list[tuple[str, Provider, PaneInfo]]) -> dict[str, TerminalMonitor]:
        """``adopt`` for many panes with one tmux run for all of them (pipe, capture, cursor).

        Falls back to one pane at a time when the batch fails (a pane vanished meanwhile);
        a pane that cannot be adopted then is left out of the result.
        """
        fifos = {tid: self.make_fifo(tid) for tid, _provider, _pane in found}
        panes = {tid: pane for tid, _provider, pane in found}
        # tmux starts the readers and captures in a thread of its own while this one builds the
        # monitors (their virtual screens): the two overlap on a second core.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cao-adopt") as pool:
            batch = pool.submit(self.tmux.pipe_and_capture,
                                [(pane.pane_id, None if pane.dead else fifos[tid]) for tid, pane in panes.items()])
            monitors = {tid: self._open_adopted(tid, provider, pane, fifos[tid]) for tid, provider, pane in found}
        try:
            captures = batch.result()
        except TmuxError as exc:
            log.warning("adopting %d panes at once failed (%s); adopting them one by one", len(found), exc)
            for tid in monitors:
                self.close(tid)
            adopted = {}
            for tid, provider, pane in found:
                try:
                    adopted[tid] = self.adopt(tid, provider, pane)
                except TmuxError as one:
                    log.warning("could not adopt terminal %s: %s", tid, one)
            return adopted
        for tid, monitor in monitors.items():
            pane = panes[tid]
            captured, cursor = captures.get(pane.pane_id, ("", (0, 0)))
            monitor.screen.load(pane.width, pane.height, captured, cursor)
            self.evaluate(monitor)
        return monitors

    def _open_adopted(self, terminal_id: str, provider: Provider, pane: PaneInfo,
                      fifo: Path | None = None) -> TerminalMonitor:
        monitor = self.open(terminal_id, provider, (pane.width, pane.height), fifo)
        monitor.pane_id = pane.pane_id
        if pane.pid and not pane.dead:
            self.watch_pid(monitor, pane.pid)
        monitor.mcp_ready = True  # it has been running; its MCP client connected long ago
        return monitor

    def watch_pid(self, monitor: TerminalMonitor, pid: int) -> None:
        """Learn of the agent's exit at once (a Linux pidfd); elsewhere reconciliation finds it.

        (tmux's pane-died hook was tried first: on tmux 3.3a it fired for only about half of the exits.)
        """
        monitor.pid = pid
        try:
            monitor.pid_fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            return
        self.loop.add_reader(monitor.pid_fd, self._on_process_exit, monitor)

    def _on_process_exit(self, monitor: TerminalMonitor) -> None:
        self._unwatch_pid(monitor)
        task = self.loop.create_task(self.reconcile())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _unwatch_pid(self, monitor: TerminalMonitor) -> None:
        if monitor.pid_fd is not None:
            self.loop.remove_reader(monitor.pid_fd)
            os.close(monitor.pid_fd)
            monitor.pid_fd = None

    def resync(self, monitor: TerminalMonitor, width: int, height: int) -> None:
        assert monitor.pane_id
        captured = self.tmux.capture(monitor.pane_id)
        monitor.screen.load(width, height, captured, self.tmux.cursor(monitor.pane_id))
        self.evaluate(monitor)

    def close(self, terminal_id: str) -> None:
        monitor = self.monitors.pop(terminal_id, None)
        if monitor is None:
            return
        if monitor.scheduled:
            monitor.scheduled.cancel()
        monitor.cancel_settle()
        monitor.cancel_completing()
        self._unwatch_pid(monitor)
        for fd in (monitor.read_fd, monitor.keepalive_fd):
            if fd is not None:
                if fd == monitor.read_fd:
                    self.loop.remove_reader(fd)
                os.close(fd)
        monitor.read_fd = monitor.keepalive_fd = None
        with contextlib.suppress(FileNotFoundError):
            monitor.fifo.unlink()
        monitor.notify()

    def close_all(self) -> None:
        for terminal_id in list(self.monitors):
            self.close(terminal_id)

    # --- streaming and detection ----------------------------------------------------

    def _on_readable(self, monitor: TerminalMonitor) -> None:
        try:
            data = os.read(monitor.read_fd, READ_SIZE) if monitor.read_fd is not None else b""
        except BlockingIOError:
            return
        if not data:
            return
        monitor.last_output = self.loop.time()
        cue = monitor.provider.busy_cue
        if not monitor.turn_started and cue is not None and cue.search(ANSI.sub("", data.decode(errors="ignore"))):
            monitor.turn_started = True
        if monitor.screen.feed(data) and monitor.scheduled is None:
            monitor.scheduled = self.loop.call_later(DEBOUNCE_S, self._scheduled_evaluate, monitor)

    def _scheduled_evaluate(self, monitor: TerminalMonitor) -> None:
        monitor.scheduled = None
        self.evaluate(monitor)

    def evaluate(self, monitor: TerminalMonitor) -> None:
        if monitor.exit_reason:
            return
        rows = monitor.screen.rows()
        try:
            status = monitor.provider.detect(rows)
            if status in (Status.COMPLETED, Status.PROCESSING) and monitor.interrupting \
                    and monitor.provider.ended_unanswered(rows):
                status = Status.IDLE  # back at the prompt, the message not answered: interrupted
        except Exception:  # a provider bug must not stop the engine
            log.exception("status detection failed", extra={"terminal_id": monitor.terminal_id})
            return
        self.set_status(monitor, status)

    def set_status(self, monitor: TerminalMonitor, status: Status, *, held: bool = False) -> None:
        if status is Status.UNKNOWN and monitor.status is not Status.UNKNOWN and not monitor.exit_reason:
            return  # a transient unreadable screen does not erase what we know
        monitor.cancel_completing()
        hold = monitor.provider.completed_settle_s
        if status is Status.COMPLETED and hold and not held and monitor.status is not Status.COMPLETED:
            # A CLI that draws its last frame in parts: completed only once the screen stopped changing.
            shown = functools.partial(self.set_status, monitor, status, held=True)
            monitor.completing = self.loop.call_later(hold, shown)
            return
        if status in (Status.PROCESSING, Status.WAITING_USER_ANSWER):
            monitor.turn_started = True
        elif status in (Status.COMPLETED, Status.ERROR) and status is not monitor.status \
                and monitor.status is not Status.UNKNOWN:
            # A new outcome after the input (idle → error, idle → completed) is the agent's answer to it,
            # even when it came too fast for any working state to be seen (an API error returned at once).
            # Idle is no outcome: CLIs redraw an empty prompt right after taking the input.
            monitor.turn_started = True
        if status.settled and monitor.turn_started and monitor.turns_finished < monitor.turn:
            if status is Status.IDLE:
                self._finish_once_held(monitor, status, IDLE_SETTLE_S)
            elif status is Status.COMPLETED and (rest := self._completed_hold(monitor) - (hold if held else 0)) > 0:
                self._finish_once_held(monitor, status, rest)
            else:
                self._finish_turn(monitor, interrupted=False)
        if status is monitor.status:
            monitor.notify()
            return
        previous, monitor.status = monitor.status, status
        for listener in self.listeners:
            listener(monitor, previous)
        self.bus.publish("terminal.status", terminal_id=monitor.terminal_id,
                         status=status.value, previous=previous.value)
        monitor.notify()

    def _finish_turn(self, monitor: TerminalMonitor, *, interrupted: bool) -> None:
        monitor.cancel_settle()
        monitor.turns_finished = monitor.turn
        monitor.turn_interrupted = interrupted

    def _finish_once_held(self, monitor: TerminalMonitor, status: Status, hold_s: float) -> None:
        """End the turn as ``status`` once the screen has shown it for ``hold_s``. Back at an empty prompt,
        the turn was interrupted (Esc) — unless its outcome follows at once: some CLIs redraw the prompt a
        moment before they print an API error or the reply's last lines. And some draw a frame that reads
        as completed (the previous answer, the task's echo already removed) just before they say the
        turn was cancelled (``Provider.completed_settle_s``)."""
        if monitor.settle is not None and monitor.settling is status:
            return
        monitor.cancel_settle()

        def settle() -> None:
            monitor.settle = monitor.settling = None
            if monitor.status is status and monitor.turn_started and monitor.turns_finished < monitor.turn:
                if status is Status.IDLE and self._started_a_process(monitor):
                    # A hook or a command runs behind the idle prompt: not interrupted; look again later.
                    monitor.settling, monitor.settle = status, self.loop.call_later(hold_s, settle)
                    return
                self._finish_turn(monitor, interrupted=status is Status.IDLE)
                monitor.notify()

        monitor.settling = status
        monitor.settle = self.loop.call_later(hold_s, settle)

    @staticmethod
    def _completed_hold(monitor: TerminalMonitor) -> float:
        """How long a completed screen must hold. Longer once cao has interrupted the turn: a CLI may draw
        the previous answer for a moment before it says the turn was cancelled."""
        if monitor.interrupting:
            return max(INTERRUPTED_COMPLETED_SETTLE_S, monitor.provider.completed_settle_s)
        return monitor.provider.completed_settle_s

    @staticmethod
    def _started_a_process(monitor: TerminalMonitor) -> bool:
        """Whether the agent started a process during this turn that still runs (and cao did not press the
        interrupt keys): an idle prompt then hides work, such as Gemini CLI's tool hooks."""
        if monitor.interrupting or monitor.pid is None:
            return False
        return bool(proctree.descendants(monitor.pid) - monitor.processes_at_turn)

    def begin_turn(self, monitor: TerminalMonitor) -> int:
        monitor.cancel_settle()
        monitor.processes_at_turn = proctree.descendants(monitor.pid) if monitor.pid is not None else frozenset()
        monitor.interrupting = False
        monitor.turn += 1
        monitor.turn_started = False
        return monitor.turn

    def mark_mcp_ready(self, monitor: TerminalMonitor) -> None:
        if not monitor.mcp_ready:
            monitor.mcp_ready = True
            for listener in self.listeners:
                listener(monitor, monitor.status)
            monitor.notify()

    def mark_exited(self, monitor: TerminalMonitor, reason: str) -> None:
        monitor.exit_reason = reason
        self.set_status(monitor, Status.ERROR)

    async def wait(self, monitor: TerminalMonitor, predicate: Callable[[TerminalMonitor], bool],
                   timeout: float) -> bool:
        deadline = self.loop.time() + timeout
        while not predicate(monitor):
            if self.monitors.get(monitor.terminal_id) is not monitor:
                return False
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(monitor.changed.wait(), remaining)
        return True

    async def drawn(self, monitor: TerminalMonitor, since: float, *, quiet: float = 0.15,
                    limit: float = 0.5) -> None:
        """Return once the pane has drawn something after ``since`` (loop time) and then gone quiet
        for ``quiet`` seconds, or after ``limit`` seconds whatever it did."""
        deadline = since + limit
        while (now := self.loop.time()) < deadline:
            if monitor.last_output > since and now - monitor.last_output >= quiet:
                return
            await asyncio.sleep(min(0.02, deadline - now))

    # --- the safety net -------------------------------------------------------------

    async def reconcile(self) -> None:
        marks = [(observer, observer.mark()) for observer in self.observers]
        listed = await asyncio.to_thread(self.tmux.list_panes)
        for observer, mark in marks:
            observer.observe(listed, mark)
        panes = {pane.pane_id: pane for pane in listed}
        for monitor in list(self.monitors.values()):
            pane = panes.get(monitor.pane_id or "")
            if monitor.pane_id is None or monitor.exit_reason:
                continue
            if pane is None:
                self.mark_exited(monitor, "the tmux window is gone")
            elif pane.dead:
                self.mark_exited(monitor, f"the agent exited (status {pane.dead_status})")
            elif (pane.width, pane.height) != monitor.screen.size:
                self.resync(monitor, pane.width, pane.height)
