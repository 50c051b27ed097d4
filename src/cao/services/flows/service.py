"""The flow service: the store's flows kept in step with the scheduler, and the runs they start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter

from cao.errors import CaoError, InvalidInput
from cao.models import utcnow
from cao.services.flows import store
from cao.services.flows.prestart import Standbys
from cao.services.flows.records import (
    Flow,
    FlowRecord,
    FlowRun,
    FlowRunRecord,
    Outcome,
    RunStarted,
    as_utc,
    public_flow,
)
from cao.services.flows.runner import FlowRun as ActiveRun
from cao.services.flows.scheduler import FlowScheduler, missed_fires
from cao.services.flows.spec import (
    FlowSpec,
    check_environment,
    parse_fields,
    read_file,
    session_of,
)
from cao.services.runtime import Runtime

log = logging.getLogger(__name__)
NEXT_SHOWN = 3
_FLOWS = TypeAdapter(list[Flow])
MAX_MISSED_RECORDED = 1000


class Flows:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.db = rt.db
        self.active: dict[str, tuple[ActiveRun, asyncio.Task[Any]]] = {}
        self.scheduler: FlowScheduler | None = None
        self._listing: bytes | None = None  # GET /flows, rendered once per change
        self.standbys = Standbys(rt)

    def changed(self) -> None:
        """Something a listing shows changed: a definition, its state, a run started or ended."""
        self._listing = None

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Build the jobs from the store; record what happened while the server was down."""
        interrupted = store.interrupt_unfinished(self.db)
        if interrupted:
            log.warning("%d flow run(s) were cut short when cao-server last stopped; recorded as interrupted",
                        interrupted)
        self.scheduler = FlowScheduler(self._on_fire, self._on_late)
        begun = time.perf_counter()
        now = utcnow()
        enabled = [record for record in store.all_flows(self.db) if record.enabled]
        for record in enabled:
            spec = record.spec
            self.scheduler.schedule(spec)
            self._account_for_downtime(record, spec, now)
        self.scheduler.start()
        for record in enabled:
            self._arm(record.name)
        log.info("scheduled %d flow(s) in %.0f ms", len(enabled), (time.perf_counter() - begun) * 1000)

    def _account_for_downtime(self, record: FlowRecord, spec: FlowSpec, now: datetime) -> None:
        since = as_utc(record.fired_through) or now
        missed = missed_fires(spec, since, now, min(spec.keep_runs, MAX_MISSED_RECORDED))
        if not missed:
            return  # nothing to write: the next start looks from the same mark
        catch_up = bool(missed) and spec.catch_up > 0 and (now - missed[-1]).total_seconds() <= spec.catch_up
        store.record_missed(self.db, spec.name, missed[:-1] if catch_up else missed, now, spec.keep_runs)
        self.changed()
        if catch_up:
            log.info("flow %s: catching up the fire of %s", spec.name, missed[-1].isoformat())
            self.fire(spec.name, missed[-1], trigger="catch_up")

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.standbys.close()
        for run, task in list(self.active.values()):
            run.cancel_reason = "cao-server was stopped while this run was working"
            task.cancel()
        for _run, task in list(self.active.values()):
            with contextlib.suppress(BaseException):
                await task

    # --- definitions -----------------------------------------------------------------------

    def _check(self, spec: FlowSpec) -> None:
        check_environment(spec, self.rt.settings.home)

    async def add_file(self, path: str, *, replace: bool = False) -> Flow:
        file_path = Path(path).expanduser()
        if not file_path.is_absolute():
            raise InvalidInput(f"file_path {path!r}: give an absolute path")
        spec = read_file(file_path)
        return await self._add(spec, str(file_path.resolve()), replace)

    async def add_fields(self, fields: dict[str, Any], *, replace: bool = False) -> Flow:
        """The public CAO's ``POST /flows``: fields and ``prompt_template``; cao writes the flow file."""
        fields = {k: v for k, v in fields.items() if v is not None}
        body = str(fields.pop("prompt_template", "") or "")
        directory = self.rt.settings.flows_dir
        spec = parse_fields(fields, body, directory)
        path = directory / f"{spec.name}.flow.md"
        if path.exists() and not replace and spec.name not in {r.name for r in store.all_flows(self.db)}:
            raise InvalidInput(f"{path} exists but is not a registered flow; add it with: cao flow add {path}")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._check(spec)
        text = "---\n" + yaml.safe_dump(fields, sort_keys=False, allow_unicode=True) + "---\n" + body.strip() + "\n"
        flow = await self._add(spec, str(path), replace, checked=True)
        path.write_text(text, encoding="utf-8")
        return flow

    async def _add(self, spec: FlowSpec, file_path: str, replace: bool, checked: bool = False) -> Flow:
        if not checked:
            self._check(spec)
        record = store.insert(self.db, spec, file_path, replace=replace)
        self.changed()
        await self.standbys.discard(spec.name)  # started for the old definition
        if record.enabled and self.scheduler is not None:
            self.scheduler.schedule(spec)
            self._arm(spec.name)
        return self.show(spec.name)

    def _arm(self, name: str) -> None:
        """prestart: start the agent of the flow's next fire ahead of it. Not while a run works: the two
        would both start the flow's session (the run's end arms it)."""
        if self.scheduler is not None and name not in self.active:
            with contextlib.suppress(CaoError):
                self.standbys.arm(store.get(self.db, name).spec, self.scheduler.next_run(name))

    async def remove(self, name: str) -> None:
        store.get(self.db, name)
        if self.scheduler is not None:
            self.scheduler.unschedule(name)
        await self._cancel_active(name, "the flow was removed")
        await self.standbys.discard(name)
        store.remove(self.db, name)
        self.changed()
        session = session_of(name)
        if session in self.rt.registry.sessions:
            from cao.services import sessions

            with contextlib.suppress(CaoError):
                await sessions.delete_session(self.rt, session)

    async def set_enabled(self, name: str, enabled: bool) -> Flow:
        record = store.set_enabled(self.db, name, enabled)
        self.changed()
        if self.scheduler is not None:
            if enabled:
                self.scheduler.schedule(record.spec)
                self._arm(name)
            else:
                self.scheduler.unschedule(name)
                await self.standbys.discard(name)
        return self.show(name)

    # --- reading ---------------------------------------------------------------------------

    def _public(self, record: FlowRecord, last: FlowRunRecord | None, next_run: datetime | None,
                *, upcoming: int = 0) -> Flow:
        return public_flow(record, last, next_run, running=record.name in self.active, upcoming=upcoming)

    def list_json(self) -> bytes:
        if self._listing is None:
            self._listing = _FLOWS.dump_json(self.list())
        return self._listing

    def list(self) -> list[Flow]:
        last = store.last_runs(self.db)
        upcoming = self.scheduler.next_runs() if self.scheduler else {}
        return [self._public(r, last.get(r.name), upcoming.get(r.name)) for r in store.all_flows(self.db)]

    def show(self, name: str) -> Flow:
        record = store.get(self.db, name)
        last = store.last_runs(self.db).get(name)
        next_run = self.scheduler.next_run(name) if self.scheduler else None
        return self._public(record, last, next_run, upcoming=NEXT_SHOWN)

    def history(self, name: str, limit: int) -> list[FlowRun]:
        store.get(self.db, name)
        return [FlowRun.of(r) for r in store.runs(self.db, name, limit)]

    # --- runs ------------------------------------------------------------------------------

    def _on_fire(self, name: str, scheduled_for: datetime) -> None:
        self.fire(name, scheduled_for, trigger="schedule")

    def _on_late(self, name: str, scheduled_for: datetime) -> None:
        with contextlib.suppress(CaoError):
            spec = store.get(self.db, name).spec
            store.record_missed(self.db, name, [scheduled_for], scheduled_for, spec.keep_runs)
            self.rt.bus.publish("flow.run.finished", flow=name, run_id=None, outcome=Outcome.MISSED.value)
            self.changed()

    def fire(self, name: str, scheduled_for: datetime | None, *, trigger: str) -> ActiveRun | None:
        """Start a run now, unless one is working and the flow says skip. Returns the run started."""
        spec = store.get(self.db, name).spec
        busy = self._busy_reason(name)
        if busy and spec.when_busy == "skip":
            skipped = store.start_run(self.db, name, trigger, scheduled_for, outcome=Outcome.SKIPPED_BUSY, error=busy)
            self.rt.bus.publish("flow.run.finished", flow=name, run_id=skipped.id, outcome=Outcome.SKIPPED_BUSY.value,
                                error=busy)
            store.prune(self.db, name, spec.keep_runs)
            self.changed()
            return None
        previous = self.active.get(name)
        record = store.start_run(self.db, name, trigger, scheduled_for)
        self.changed()
        run = ActiveRun(self.rt, spec, record, take_standby=self.standbys.take)
        if previous is not None:
            previous[0].cancel_reason = f"replaced by run {record.id} (when_busy: replace)"
            previous[1].cancel()
        task = self.rt.background(self._execute(run, previous[1] if previous else None))
        self.active[name] = (run, task)
        return run

    async def _execute(self, run: ActiveRun, previous: asyncio.Task[Any] | None) -> None:
        try:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await previous
            await run.execute()
        finally:
            if self.active.get(run.spec.name, (None,))[0] is run:
                del self.active[run.spec.name]
            self.changed()
            self._arm(run.spec.name)

    def _busy_reason(self, name: str) -> str | None:
        active = self.active.get(name)
        if active is not None:
            return f"run {active[0].run_id} was still working"
        for terminal in self.rt.registry.terminals_of(session_of(name)):
            monitor = self.rt.engine.monitors.get(terminal.id)
            if monitor is not None and not monitor.exit_reason and monitor.status.value == "processing":
                return f"the agent in {session_of(name)} (terminal {terminal.id}) was still working"
        return None

    async def _cancel_active(self, name: str, reason: str) -> None:
        active = self.active.get(name)
        if active is None:
            return
        active[0].cancel_reason = reason
        active[1].cancel()
        with contextlib.suppress(BaseException):
            await active[1]

    async def run_now(self, name: str, *, wait: bool) -> RunStarted:
        """``cao flow run``: start a run at once (the schedule is not touched). ``wait``: until it ends."""
        run = self.fire(name, None, trigger="manual")
        if run is None:
            last = store.runs(self.db, name, 1)[0]
            return RunStarted(executed=False, run=FlowRun.of(last))
        task = self.active[name][1]
        if wait:
            await asyncio.shield(task)
            executed = run.decided.done() and run.decided.result()
        else:
            executed = await asyncio.shield(run.decided)
        return RunStarted(executed=executed, run=FlowRun.of(store.run(self.db, run.run_id)))
