"""handoff, assign and send_message: how agents work with each other (the MCP tools' server half)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from cao.errors import AgentTimeout, CaoError, InvalidInput
from cao.models import InboxMessageRecord, TerminalRecord
from cao.monitor import TerminalMonitor
from cao.services import delivery, terminals
from cao.services.inbox import SYSTEM_SENDER
from cao.services.runtime import Runtime
from cao.status import Status
from cao.teams import fallback as team_fallback
from cao.teams import policy as team_policy
from cao.teams import structured

EXIT_GRACE_S = 3.0
PROGRESS_INTERVAL_S = 5.0
ASSIGN_WATCH_S = 24 * 3600.0
# (elapsed seconds, total seconds, a line for a person)
Progress = Callable[[float, float | None, str | None], Awaitable[None]]


def _caller(rt: Runtime, caller_id: str) -> TerminalRecord:
    record = terminals.get_record(rt, caller_id)
    terminals.live_monitor(rt, caller_id)
    return record


async def _start_worker(rt: Runtime, caller: TerminalRecord, agent_profile: str, working_directory: str | None,
                        **kwargs: object) -> TerminalRecord:
    return await terminals.create_terminal(
        rt, session_name=caller.session_name, new_session=False, agent_profile=agent_profile,
        default_provider=caller.provider, working_directory=working_directory or caller.working_directory,
        caller_id=caller.id, **kwargs)


def _where(worker: TerminalRecord) -> str:
    return f"worker {worker.id} ({worker.agent_profile}, tmux window {worker.session_name}:{worker.window_name})"


async def handoff(rt: Runtime, *, caller_id: str, agent_profile: str, message: str, timeout: float,
                  working_directory: str | None = None, progress: Progress | None = None) -> tuple[str, str]:
    """Run a worker on ``message`` and return (worker id, its whole reply); then remove the worker.

    On timeout or failure the worker is kept for inspection and the error names it. ``progress`` is
    told how long the worker has been at it, every few seconds. If the caller cancels (the task
    running this is cancelled), the worker is kept and the caller is told where it is. A team member
    with ``fallback`` is retried, then tried on its next model/CLI when its CLI fails (teams/fallback.py).
    """
    caller = _caller(rt, caller_id)
    team_policy.check_delegation(rt, caller, agent_profile, "hand off")
    message = team_policy.redact(rt, caller.session_name, message, caller.agent_profile, agent_profile)
    plan = team_fallback.attempts(rt, caller.session_name, agent_profile)
    failures: list[str] = []
    for attempt in plan:
        worker = await _start_worker(rt, caller, agent_profile, working_directory, provider=attempt.provider,
                                     model=attempt.model)
        rt.bus.publish("handoff.started", caller_id=caller.id, terminal_id=worker.id, profile=worker.agent_profile)
        task = message if not failures else (
            f"{message}\n\n(cao: this task failed before — {'; '.join(failures)}. This is attempt "
            f"{len(failures) + 1}, with {attempt.label}.)")
        try:
            limit = team_fallback.turn_limit(rt, caller.session_name, agent_profile)
            output = await _run_handoff(rt, caller, worker, task, timeout, progress,
                                        team_fallback.capped(attempt.retries, limit), limit)
        except WorkerFailed as exc:
            rt.bus.publish("handoff.finished", caller_id=caller.id, terminal_id=worker.id,
                           profile=worker.agent_profile, ok=False, error=str(exc))
            if attempt is plan[-1]:
                if failures:
                    raise WorkerFailed("; ".join([*failures, f"{attempt.label}: {exc}"])) from exc
                raise
            failures.append(f"{attempt.label}: {exc}")
            await _exit_and_delete(rt, worker.id)  # its scrollback is saved; the next model takes over
            continue
        except BaseException as exc:
            rt.bus.publish("handoff.finished", caller_id=caller.id, terminal_id=worker.id,
                           profile=worker.agent_profile, ok=False, error=str(exc) or type(exc).__name__)
            raise
        team_fallback.succeeded(rt, caller.session_name, agent_profile, attempt)
        rt.bus.publish("handoff.finished", caller_id=caller.id, terminal_id=worker.id,
                       profile=worker.agent_profile, ok=True, **({"failed_before": failures} if failures else {}))
        return worker.id, output
    raise AssertionError("a plan has at least one attempt")


class WorkerFailed(CaoError):
    """The worker's CLI exited or reported an error (what ``fallback`` acts on)."""


async def _run_handoff(rt: Runtime, caller: TerminalRecord, worker: TerminalRecord, message: str, timeout: float,
                       progress: Progress | None, retries: int = 0, limit: int = 0) -> str:
    monitor = rt.engine.monitors[worker.id]  # started, and its MCP client has listed cao's tools
    task = (f"{message}\n\n(Handed off by terminal {caller.id} ({caller.agent_profile}). "
            "Your final reply is returned to it.)")
    for attempt in range(retries + 1):
        try:
            turn = await delivery.deliver(rt, monitor, task, probe=(message.splitlines() or [''])[0][:60])
        except CaoError as exc:
            raise CaoError(f"{_where(worker)} did not take the task: {exc}") from exc
        try:
            finished = await _wait_for_turn(rt, monitor, turn, timeout, progress)
        except asyncio.CancelledError:
            with contextlib.suppress(CaoError):  # the caller itself may be gone
                rt.inbox.enqueue(sender_id=SYSTEM_SENDER, receiver_id=caller.id, message=(
                    f"The handoff to {_where(worker)} was cancelled before it finished (by your MCP client, or "
                    "because cao-server stopped). The worker is kept and may still be working; remove it with the "
                    f"delete_terminal tool (terminal_id {worker.id}) if you no longer need it."))
            raise
        if monitor.exit_reason:
            raise WorkerFailed(f"{_where(worker)} stopped: {monitor.exit_reason}")
        if not finished:
            raise AgentTimeout(f"{_where(worker)} did not finish within {timeout:g}s; it is kept for inspection")
        if monitor.status is Status.WAITING_USER_ANSWER:
            raise CaoError(f"{_where(worker)} is waiting for an answer; answer it in tmux, it is kept")
        if monitor.status is not Status.ERROR:
            break
        if retries and team_fallback.rate_limited(monitor.screen.rows(), task):
            raise WorkerFailed(f"{_where(worker)} hit a rate limit (not retried); it is kept for inspection")
        if attempt == retries:
            raise WorkerFailed(f"{_where(worker)} reported an error"
                               + (f" {retries + 1} times" if retries else "") + "; it is kept for inspection")
    output = await terminals.get_output(rt, worker.id, "last")
    found = team_policy.member_of(rt, worker.session_name, worker.agent_profile)
    if found is not None and found[1].structured_output is not None:
        async def ask_again(text: str) -> str:
            again = await delivery.deliver(rt, monitor, text, probe=text.splitlines()[0][:60])
            if not await _wait_for_turn(rt, monitor, again, timeout, progress) or monitor.exit_reason:
                raise AgentTimeout(f"{_where(worker)} did not answer the request to fix its output")
            return await terminals.get_output(rt, worker.id, "last")

        turns_left = not limit or monitor.turns_finished < limit  # max_iterations may leave no turn to ask again
        value = await structured.check(found[1].structured_output, output, ask_again if turns_left else None,
                                       _where(worker))
        output = json.dumps(value, ensure_ascii=False)  # the checked object, as canonical JSON
    output = team_policy.redact(rt, worker.session_name, output, worker.agent_profile, caller.agent_profile)
    await _exit_and_delete(rt, worker.id)
    return output


async def _wait_for_turn(rt: Runtime, monitor: TerminalMonitor, turn: int, timeout: float,
                         progress: Progress | None) -> bool:
    """Wait until ``turn`` has finished (or the agent exited); report progress between slices."""
    def done(m: TerminalMonitor) -> bool:
        return m.turns_finished >= turn or m.exit_reason is not None

    start = rt.engine.loop.time()
    while True:
        elapsed = rt.engine.loop.time() - start
        if await rt.engine.wait(monitor, done, min(PROGRESS_INTERVAL_S, timeout - elapsed)):
            return True
        elapsed = rt.engine.loop.time() - start
        if elapsed >= timeout:
            return False
        if progress is not None:
            await progress(elapsed, timeout, f"worker {monitor.terminal_id} is {monitor.status.value} "
                                             f"({elapsed:.0f}s)")


async def _exit_and_delete(rt: Runtime, terminal_id: str) -> None:
    monitor = rt.engine.monitors.get(terminal_id)
    if monitor is not None and not monitor.exit_reason:
        try:
            await terminals.exit_terminal(rt, terminal_id)
            await rt.engine.wait(monitor, lambda m: m.exit_reason is not None, EXIT_GRACE_S)
        except CaoError:
            pass  # deleting kills the window anyway
    await terminals.delete_terminal(rt, terminal_id)


async def assign(rt: Runtime, *, caller_id: str, agent_profile: str, message: str,
                 working_directory: str | None = None) -> TerminalRecord:
    """Start a worker and queue its task; return at once. The task is typed in once it is ready."""
    caller = _caller(rt, caller_id)
    team_policy.check_delegation(rt, caller, agent_profile, "assign")
    message = team_policy.redact(rt, caller.session_name, message, caller.agent_profile, agent_profile)

    async def report_failure(worker: TerminalRecord, exc: Exception) -> None:
        rt.inbox.enqueue(sender_id=SYSTEM_SENDER, receiver_id=caller.id,
                         message=f"The {agent_profile} worker {worker.id} you assigned could not start: {exc}. "
                                 "It has been removed; assign the task again.")

    plan = team_fallback.attempts(rt, caller.session_name, agent_profile)
    worker = await _start_worker(rt, caller, agent_profile, working_directory, wait=False,
                                 on_start_failure=report_failure, provider=plan[0].provider, model=plan[0].model)
    task = (f"{message}\n\n(Assigned by terminal {caller.id} ({caller.agent_profile}). When you are done, "
            f"send your result with the send_message tool; without receiver_id it goes back to {caller.id}.)")
    rt.inbox.enqueue(sender_id=caller.id, receiver_id=worker.id, message=task)
    rt.bus.publish("assign.started", caller_id=caller.id, terminal_id=worker.id, profile=worker.agent_profile)
    rt.background(_announce_assign_finished(rt, caller, worker, task, plan, working_directory))
    rt.background(_limit_turns(rt, caller, worker))
    return worker


async def _limit_turns(rt: Runtime, caller: TerminalRecord, worker: TerminalRecord) -> None:
    """A team member's ``max_iterations``: once an assigned worker has taken that many turns (its task, then
    the messages it got), cao removes it and tells the caller, so agents messaging each other cannot loop."""
    limit = team_fallback.turn_limit(rt, worker.session_name, worker.agent_profile)
    monitor = rt.engine.monitors.get(worker.id)
    if not limit or monitor is None:
        return
    await rt.engine.wait(monitor, lambda m: m.turns_finished >= limit or m.exit_reason is not None, ASSIGN_WATCH_S)
    if monitor.exit_reason is not None or monitor.turns_finished < limit or worker.id not in rt.registry.terminals:
        return
    rt.inbox.enqueue(sender_id=SYSTEM_SENDER, receiver_id=caller.id, message=(
        f"The {worker.agent_profile} worker {worker.id} took the {limit} turn(s) its max_iterations allows on the "
        f"task you assigned; cao removed it (its scrollback: cao terminal restore {worker.id})."))
    await _exit_and_delete(rt, worker.id)


async def _announce_assign_finished(rt: Runtime, caller: TerminalRecord, worker: TerminalRecord, task: str,
                                    plan: list[team_fallback.Attempt], working_directory: str | None) -> None:
    """``assign.finished`` once the worker's first turn — the assigned task — ends, or it stops first.

    With a team member's ``fallback``: a turn that ends in an error is retried, then the task moves to a
    new worker on the next model/CLI, and the caller is told (teams/fallback.py)."""
    failures: list[str] = []
    for number, attempt in enumerate(plan):
        monitor = rt.engine.monitors.get(worker.id)
        failed = await _assigned_task(rt, worker, task, attempt.retries)
        finished = monitor is not None and monitor.turns_finished >= 1
        rt.bus.publish("assign.finished", caller_id=caller.id, terminal_id=worker.id, profile=worker.agent_profile,
                       ok=finished and (not failed or len(plan) == 1),  # without fallback: as before
                       status=monitor.status.value if monitor is not None else None)
        if not failed:
            team_fallback.succeeded(rt, caller.session_name, worker.agent_profile or "", attempt)
            return
        if number == len(plan) - 1:
            return
        stopped = monitor.exit_reason if monitor is not None else "it was removed"
        failures.append(f"{attempt.label}: {_where(worker)} " + (f"stopped: {stopped}" if stopped
                                                                  else "reported an error"))
        following = plan[number + 1]
        await _exit_and_delete(rt, worker.id)
        worker = await _start_worker(rt, caller, worker.agent_profile or "", working_directory, wait=False,
                                     provider=following.provider, model=following.model)
        rt.inbox.enqueue(sender_id=caller.id, receiver_id=worker.id, message=(
            f"{task}\n\n(cao: this task failed before — {'; '.join(failures)}. This is attempt "
            f"{len(failures) + 1}, with {following.label}.)"))
        rt.inbox.enqueue(sender_id=SYSTEM_SENDER, receiver_id=caller.id, message=(
            f"The worker you assigned failed ({failures[-1]}); cao moved the task to worker {worker.id} "
            f"({following.label}), which reports back to you the same way."))
        rt.bus.publish("assign.started", caller_id=caller.id, terminal_id=worker.id, profile=worker.agent_profile)
        rt.background(_limit_turns(rt, caller, worker))


async def _assigned_task(rt: Runtime, worker: TerminalRecord, task: str, retries: int) -> bool:
    """Wait for the task's turn, sending it again up to ``retries`` times after an error; True if it failed."""
    monitor = rt.engine.monitors.get(worker.id)
    if monitor is None:
        return True
    for retry in range(retries + 1):
        await rt.engine.wait(monitor, lambda m, turn=retry + 1: m.turns_finished >= turn or m.exit_reason is not None,
                             ASSIGN_WATCH_S)
        if monitor.exit_reason is not None:
            return True
        if monitor.status is not Status.ERROR:
            return False
        if retry == retries or team_fallback.rate_limited(monitor.screen.rows(), task):
            return True
        try:  # typed in at once: the inbox waits for a ready agent, and an error is not one
            await delivery.deliver(rt, monitor, task, probe=task.splitlines()[0][:60])
        except CaoError:
            return True
    return True


def send_message(rt: Runtime, *, sender_id: str, message: str, receiver_id: str | None) -> InboxMessageRecord:
    sender = terminals.get_record(rt, sender_id)
    if receiver_id is None:
        if sender.caller_id is None:
            raise InvalidInput(f"terminal {sender_id} was not started by another agent, so there is no one to "
                               "reply to; pass receiver_id")
        receiver_id = sender.caller_id
    receiver = rt.registry.terminals.get(receiver_id)
    message = team_policy.redact(rt, sender.session_name, message, sender.agent_profile,
                                 receiver.agent_profile if receiver else None)
    return rt.inbox.enqueue(sender_id=sender_id, receiver_id=receiver_id, message=message)


async def delete_worker(rt: Runtime, *, terminal_id: str, requester_id: str | None) -> None:
    """Remove a terminal; an agent (``requester_id``) may remove only the workers it created."""
    record = terminals.get_record(rt, terminal_id)
    if requester_id is not None and record.caller_id != requester_id:
        raise InvalidInput(f"terminal {terminal_id} was not created by terminal {requester_id}; "
                           "agents may delete only the workers they created")
    await terminals.delete_terminal(rt, terminal_id)

