"""One run of a flow: gate, render, start ``cao-flow-<name>``, type the prompt, wait for the turn, record.

Every way a run ends is recorded with an outcome; nothing a script prints reaches a shell (it is
typed into the agent as input, like any message).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from cao.errors import CaoError
from cao.models import SessionRecord, TerminalRecord
from cao.monitor import TerminalMonitor
from cao.services import delivery, sessions, terminals
from cao.services.flows import store, template
from cao.services.flows.gate import run_gate
from cao.services.flows.records import FlowRunRecord, Outcome
from cao.services.flows.spec import FlowSpec, session_of
from cao.services.runtime import Runtime
from cao.status import Status
from cao.store import open_session

log = logging.getLogger(__name__)
STOP_GRACE_S = 5.0


class RunOutcome(Exception):
    """Ends a run early with this outcome (and message)."""

    def __init__(self, outcome: Outcome, message: str | None = None) -> None:
        super().__init__(message or outcome.value)
        self.outcome = outcome
        self.message = message


class FlowRun:
    """A run in progress. ``decided`` resolves once the gate has answered (True: the agent gets the prompt)."""

    def __init__(self, rt: Runtime, spec: FlowSpec, run: FlowRunRecord,
                 take_standby: Callable[[str], Awaitable[str | None]] | None = None) -> None:
        self.rt = rt
        self.spec = spec
        self.take_standby = take_standby  # prestart: an agent already started for this fire
        self.run_id = run.id or 0
        self.decided: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.terminal_id: str | None = None
        self.cancel_reason = "cancelled"

    def _decide(self, executed: bool) -> None:
        if not self.decided.done():
            self.decided.set_result(executed)

    def _finish(self, outcome: Outcome, **values: object) -> FlowRunRecord:
        self._decide(False)
        record = store.finish_run(self.rt.db, self.run_id, outcome, self.spec.keep_runs, **values)
        self.rt.bus.publish("flow.run.finished", flow=self.spec.name, run_id=self.run_id, outcome=outcome.value,
                            **({"error": values["error"]} if values.get("error") else {}))
        return record

    async def execute(self) -> FlowRunRecord:
        try:
            async with asyncio.timeout(self.spec.timeout):
                reply = await self._steps()
        except RunOutcome as stop:
            return self._finish(stop.outcome, error=stop.message)
        except TimeoutError:
            await self._stop_agent()
            return self._finish(Outcome.TIMED_OUT, error=f"the run took longer than its timeout of "
                                f"{self.spec.timeout:g}s; the agent was stopped (its session is kept)")
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._stop_agent())
            self._finish(Outcome.INTERRUPTED, error=self.cancel_reason)
            raise
        except CaoError as exc:
            return self._finish(Outcome.ERROR, error=str(exc))
        except Exception as exc:  # recorded, never lost: the history must say why the run did nothing
            log.exception("flow %s: run %s failed", self.spec.name, self.run_id)
            return self._finish(Outcome.ERROR, error=f"internal error: {exc!r}")
        return self._finish(Outcome.COMPLETED, reply=reply)

    async def _steps(self) -> str:
        spec = self.spec
        gate = await run_gate(spec.script, cwd=spec.working_directory, env=spec.env, timeout=spec.script_timeout)
        store.update_run(self.rt.db, self.run_id, script_output_json=json.dumps(gate.output) if spec.script else None)
        if not gate.execute:
            raise RunOutcome(Outcome.SKIPPED_BY_SCRIPT, "the gating script said not to run (\"execute\": false)")
        prompt = template.render(spec.prompt_template, gate.output)
        record, warm = await self._agent()
        self.terminal_id = record.id
        store.update_run(self.rt.db, self.run_id, prompt=prompt, session_name=record.session_name,
                         terminal_id=record.id)
        monitor = self.rt.engine.monitors[record.id]
        turn = await delivery.deliver(self.rt, monitor, prompt, probe=(prompt.splitlines() or [""])[0][:60])
        self._decide(True)
        if warm:
            await self._retire_others(record.id)
        await self.rt.engine.wait(monitor, _turn_done(turn), spec.timeout + 1)  # the run's timeout ends it first
        return await self._reply(monitor)

    async def _agent(self) -> tuple[TerminalRecord, bool]:
        """The standby agent (prestart), else a new session with a new agent. True: it was standing by."""
        standby = await self.take_standby(self.spec.name) if self.take_standby else None
        if standby is not None:
            return terminals.get_record(self.rt, standby), True
        await self._replace_session()
        spec = self.spec
        record = await terminals.create_terminal(
            self.rt, session_name=session_of(spec.name), new_session=True, agent_profile=spec.agent_profile,
            provider=spec.provider, working_directory=spec.working_directory, env=spec.env, yolo=spec.yolo)
        return record, False

    async def _retire_others(self, keep: str) -> None:
        """The prompt is in the standby: the last run's agent goes, and the standby leads the session."""
        session = session_of(self.spec.name)
        for record in terminals.list_records(self.rt, session):
            if record.id != keep:
                with contextlib.suppress(CaoError):
                    await terminals.delete_terminal(self.rt, record.id)
        with open_session(self.rt.db) as db:
            row = db.get(SessionRecord, session)
            if row is not None and row.conductor_id != keep:
                row.conductor_id = keep
                db.add(row)
                db.commit()

    async def _replace_session(self) -> None:
        """The last run's session stays (to attach to in tmux) until the next run replaces it."""
        name = session_of(self.spec.name)
        known = name in self.rt.registry.sessions or name in await asyncio.to_thread(self.rt.tmux.list_sessions)
        if known:
            with contextlib.suppress(CaoError):
                await sessions.delete_session(self.rt, name)
            await asyncio.to_thread(self.rt.tmux.kill_session, name)

    async def _reply(self, monitor: TerminalMonitor) -> str:
        if monitor.exit_reason:
            raise RunOutcome(Outcome.ERROR, f"the agent stopped: {monitor.exit_reason}")
        if monitor.status is Status.WAITING_USER_ANSWER:
            raise RunOutcome(Outcome.ERROR, "the agent is waiting for an answer (a permission prompt); answer "
                             f"it in tmux session {session_of(self.spec.name)}, or let the flow's agent "
                             "act alone with yolo: true or allowedTools in its profile")
        if monitor.status is Status.ERROR:
            screen = " / ".join(row.strip() for row in monitor.screen.rows() if row.strip())[-300:]
            raise RunOutcome(Outcome.ERROR, f"the agent reported an error: …{screen}")
        if monitor.turn_interrupted:
            raise RunOutcome(Outcome.INTERRUPTED, "the agent's turn was interrupted before it replied")
        return await terminals.get_output(self.rt, monitor.terminal_id, "last")

    async def _stop_agent(self) -> None:
        """Interrupt the agent (Escape); if it does not go back to its prompt, kill its session."""
        monitor = self.rt.engine.monitors.get(self.terminal_id or "")
        if monitor is None or monitor.exit_reason:
            return
        with contextlib.suppress(CaoError):
            await terminals.send_key(self.rt, monitor.terminal_id, "Escape")
            if await self.rt.engine.wait(monitor, lambda m: m.status.ready or m.exit_reason is not None,
                                         STOP_GRACE_S):
                return
        with contextlib.suppress(CaoError):
            await sessions.delete_session(self.rt, session_of(self.spec.name))


def _turn_done(turn: int) -> Callable[[TerminalMonitor], bool]:
    def done(m: TerminalMonitor) -> bool:
        return m.turns_finished >= turn or m.exit_reason is not None

    return done
