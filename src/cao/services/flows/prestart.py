"""``prestart``: the next run's agent is started ahead of its fire, so the prompt is typed at the instant.

A standby agent is one more window in ``cao-flow-<name>``, beside the last run's (which stays until
the prompt is typed into the standby). A fire whose gate says no leaves the standby for the next
fire. Standbys live in the server's memory: after a restart the next run starts its agent at the fire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from cao.errors import CaoError
from cao.services import terminals
from cao.services.flows.spec import FlowSpec, session_of
from cao.services.runtime import Runtime

log = logging.getLogger(__name__)


class Standbys:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.starting: dict[str, asyncio.Task[str | None]] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}

    def arm(self, spec: FlowSpec, next_fire: datetime | None) -> None:
        """Start the standby ``spec.prestart`` seconds before ``next_fire`` (at once when that is past)."""
        self.cancel_timer(spec.name)
        if spec.prestart <= 0 or next_fire is None or spec.name in self.starting:
            return
        delay = max(0.0, (next_fire - datetime.now(UTC)).total_seconds() - spec.prestart)
        self.timers[spec.name] = self.rt.engine.loop.call_later(delay, self._start, spec)

    def _start(self, spec: FlowSpec) -> None:
        self.timers.pop(spec.name, None)
        if spec.name not in self.starting:
            self.starting[spec.name] = asyncio.get_running_loop().create_task(self._create(spec))

    async def _create(self, spec: FlowSpec) -> str | None:
        name = session_of(spec.name)
        try:
            record = await terminals.create_terminal(
                self.rt, session_name=name, new_session=name not in self.rt.registry.sessions,
                agent_profile=spec.agent_profile, provider=spec.provider, working_directory=spec.working_directory,
                env=spec.env, yolo=spec.yolo)
        except CaoError as exc:
            log.warning("flow %s: the standby agent did not start (%s); the next run starts one at its fire",
                        spec.name, exc)
            return None
        return record.id

    async def take(self, name: str) -> str | None:
        """The ready standby of flow ``name`` (waiting for one still starting), or None; it is no longer standby."""
        task = self.starting.pop(name, None)
        if task is None:
            return None
        terminal_id = await task
        monitor = self.rt.engine.monitors.get(terminal_id or "")
        if monitor is None or monitor.exit_reason or not monitor.status.ready:
            return None
        return terminal_id

    def cancel_timer(self, name: str) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    async def discard(self, name: str) -> None:
        """Stop waiting for the next fire: remove the standby (the definition changed, or the flow is off)."""
        self.cancel_timer(name)
        terminal_id = await self.take(name)
        if terminal_id is not None:
            with contextlib.suppress(CaoError):
                await terminals.delete_terminal(self.rt, terminal_id)

    def close(self) -> None:
        for name in list(self.timers):
            self.cancel_timer(name)
        for task in self.starting.values():
            task.cancel()

