"""Turn accounting in the status engine (pure: no tmux command runs)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cao.engine import StatusEngine
from cao.events import EventBus
from cao.monitor import TerminalMonitor
from cao.providers.mock import MockProvider
from cao.screen import VirtualScreen
from cao.status import Status
from cao.tmux import TmuxBackend


def run_with_monitor(tmp_path: Path, scenario) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        engine = StatusEngine(TmuxBackend("cao_test_unused"), EventBus(), tmp_path)
        monitor = TerminalMonitor("0a1b2c3d", MockProvider(), tmp_path / "f.fifo", VirtualScreen(80, 24))
        engine.set_status(monitor, Status.IDLE)
        scenario(engine, monitor)

    asyncio.run(main())


def test_a_turn_seen_working_then_settled_is_finished(tmp_path: Path) -> None:
    def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.COMPLETED)  # idle → completed: an answer, however fast
        assert monitor.turns_finished == turn
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        assert monitor.turns_finished == turn - 1
        engine.set_status(monitor, Status.COMPLETED)
        assert monitor.turns_finished == turn

    run_with_monitor(tmp_path, scenario)


def test_an_instant_error_finishes_the_turn(tmp_path: Path) -> None:
    def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.ERROR)  # idle → error with no working state in between
        assert monitor.turns_finished == turn

    run_with_monitor(tmp_path, scenario)


def test_a_stale_ready_state_does_not_finish_a_new_turn(tmp_path: Path) -> None:
    def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.COMPLETED)
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.COMPLETED)  # the previous turn's screen, re-read
        assert monitor.turns_finished == turn - 1

    run_with_monitor(tmp_path, scenario)


def test_falling_back_to_idle_is_no_answer(tmp_path: Path) -> None:
    def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        engine.set_status(monitor, Status.COMPLETED)
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.IDLE)  # the prompt redrawn empty after taking the input
        assert monitor.turns_finished == turn - 1
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.COMPLETED)
        assert monitor.turns_finished == turn

    run_with_monitor(tmp_path, scenario)


def run_async_with_monitor(tmp_path: Path, scenario, provider: MockProvider | None = None) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        engine = StatusEngine(TmuxBackend("cao_test_unused"), EventBus(), tmp_path)
        monitor = TerminalMonitor("0a1b2c3d", provider or MockProvider(), tmp_path / "f.fifo", VirtualScreen(80, 24))
        engine.monitors[monitor.terminal_id] = monitor
        engine.set_status(monitor, Status.IDLE)
        await scenario(engine, monitor)

    asyncio.run(main())


def test_an_outcome_right_after_the_prompt_redraw_is_the_answer_not_an_interruption(tmp_path: Path) -> None:
    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.IDLE)  # the prompt is back a moment before the error line
        assert monitor.turns_finished < turn  # not yet: an outcome may follow
        engine.set_status(monitor, Status.ERROR)
        assert monitor.turns_finished == turn and not monitor.turn_interrupted

    run_async_with_monitor(tmp_path, scenario)


def test_a_turn_that_ends_idle_is_interrupted_until_a_turn_ends_with_an_answer(tmp_path: Path) -> None:
    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.IDLE)  # back at the prompt with no reply: Esc
        assert await engine.wait(monitor, lambda m: m.turns_finished >= turn, 5)  # once it stays idle
        assert monitor.turn_interrupted
        engine.set_status(monitor, Status.COMPLETED)  # the previous turn's screen again (box cleared)
        assert monitor.turn_interrupted  # no turn has ended since
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        assert monitor.turn_interrupted  # still about the last finished turn
        engine.set_status(monitor, Status.COMPLETED)
        assert monitor.turns_finished == turn and not monitor.turn_interrupted

    run_async_with_monitor(tmp_path, scenario)


class FlashingProvider(MockProvider):
    """A CLI that, on Esc, draws one frame reading completed before it says the turn was cancelled."""

    completed_settle_s = 0.2


def test_a_completed_frame_right_before_the_cancellation_is_not_the_answer(tmp_path: Path) -> None:
    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.COMPLETED)  # the echo removed, the previous answer last
        assert monitor.turns_finished < turn  # not yet: the screen has not held it
        engine.set_status(monitor, Status.IDLE)  # "Request cancelled."
        assert await engine.wait(monitor, lambda m: m.turns_finished >= turn, 5)
        assert monitor.turn_interrupted

    run_async_with_monitor(tmp_path, scenario, FlashingProvider())


def test_a_completed_screen_that_holds_is_the_answer(tmp_path: Path) -> None:
    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.COMPLETED)
        engine.set_status(monitor, Status.COMPLETED)  # redrawn the same: still one pending end
        assert await engine.wait(monitor, lambda m: m.turns_finished >= turn, 5)
        assert not monitor.turn_interrupted

    run_async_with_monitor(tmp_path, scenario, FlashingProvider())


class TakingBackProvider(MockProvider):
    """A CLI that, on Esc before any answer, rewinds the turn: the previous answer on screen, the message
    back in the input box (Qwen Code)."""

    def detect(self, lines):  # type: ignore[no-untyped-def]
        return Status.COMPLETED

    def ended_unanswered(self, lines):  # type: ignore[no-untyped-def]
        return True


def test_a_turn_taken_back_after_cao_pressed_esc_is_interrupted(tmp_path: Path) -> None:
    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        monitor.interrupting = True
        engine.evaluate(monitor)
        assert monitor.status is Status.IDLE
        assert await engine.wait(monitor, lambda m: m.turns_finished >= turn, 5)
        assert monitor.turn_interrupted

    run_async_with_monitor(tmp_path, scenario, TakingBackProvider())


def test_without_cao_s_interrupt_the_same_screen_is_an_answer(tmp_path: Path) -> None:
    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        engine.evaluate(monitor)  # a person's text in the box under a real answer
        assert monitor.status is Status.COMPLETED and monitor.turns_finished == turn
        assert not monitor.turn_interrupted

    run_async_with_monitor(tmp_path, scenario, TakingBackProvider())


def test_a_completed_screen_shows_only_once_it_has_held(tmp_path: Path) -> None:
    """For a CLI that draws its last frame in parts, a person's turn too (no cao turn counts it)."""
    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.COMPLETED)  # the answer's first rows
        assert monitor.status is Status.PROCESSING
        engine.set_status(monitor, Status.COMPLETED)  # more of it: the hold starts again
        assert await engine.wait(monitor, lambda m: m.status is Status.COMPLETED, 5)
        engine.set_status(monitor, Status.PROCESSING)
        engine.set_status(monitor, Status.COMPLETED)
        engine.set_status(monitor, Status.PROCESSING)  # it was no answer: never shown
        hold = FlashingProvider.completed_settle_s
        assert not await engine.wait(monitor, lambda m: m.status is Status.COMPLETED, 3 * hold)

    run_async_with_monitor(tmp_path, scenario, FlashingProvider())


def test_an_idle_prompt_while_the_agent_runs_a_new_process_is_not_an_interruption(tmp_path: Path) -> None:
    """Gemini CLI draws an idle prompt while its BeforeTool hook runs: the turn goes on."""
    import os
    import subprocess

    from cao import proctree

    async def scenario(engine: StatusEngine, monitor: TerminalMonitor) -> None:
        monitor.pid = os.getpid()  # this test process stands in for the agent
        turn = engine.begin_turn(monitor)
        engine.set_status(monitor, Status.PROCESSING)
        hook = subprocess.Popen(["sleep", "30"])  # started during the turn
        try:
            assert hook.pid in proctree.descendants(os.getpid())
            engine.set_status(monitor, Status.IDLE)
            assert not await engine.wait(monitor, lambda m: m.turns_finished >= turn, 1.5)  # held while it runs
        finally:
            hook.kill()
            hook.wait()
        assert await engine.wait(monitor, lambda m: m.turns_finished >= turn, 5)  # then: idle, no answer
        assert monitor.turn_interrupted

    run_async_with_monitor(tmp_path, scenario)
