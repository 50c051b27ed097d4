"""APScheduler inside cao-server: one cron job per enabled flow, built from the store at start.

Jobs are not persisted by APScheduler: the store is the source of truth, and the flow's
``fired_through`` mark tells, at start, which fires were missed while the server was down.
The executor passes each job's *scheduled* instant on to the flow service (APScheduler's own
executors call the job without it), so a run records when it was due, not only when it began.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from cao.services.flows import cron
from cao.services.flows.spec import FlowSpec

log = logging.getLogger(__name__)
# A fire the event loop reached late (a busy machine) still runs once, within this grace; later, or
# several fires at once, are coalesced into one.
LATE_GRACE_S = 60

Fire = Callable[[str, datetime], None]  # (flow name, scheduled instant in UTC)


class FlowExecutor(BaseExecutor):
    """Hands each fire to the flow service at once; the service runs it as an asyncio task."""

    def __init__(self, fire: Fire, missed: Fire) -> None:
        super().__init__()
        self._fire = fire
        self._missed = missed
        self._last: dict[str, datetime] = {}  # each job's last fire, in its zone

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        now = datetime.now(UTC)
        for run_time in run_times:
            if cron.repeats_wall_time(self._last.get(job.id), run_time):
                continue
            self._last[job.id] = run_time
            due = run_time.astimezone(UTC)
            late = job.misfire_grace_time is not None and now - due > timedelta(seconds=job.misfire_grace_time)
            (self._missed if late else self._fire)(job.id, due)
        self._run_job_success(job.id, [])


class FlowScheduler:
    def __init__(self, fire: Fire, missed: Fire) -> None:
        # It logs every job added at INFO (a thousand lines for a thousand flows); cao logs its own.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, executors={"default": FlowExecutor(fire, missed)},
            job_defaults={"coalesce": True, "misfire_grace_time": LATE_GRACE_S, "max_instances": 1_000_000})

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def schedule(self, spec: FlowSpec) -> None:
        """(Re)register the flow's job from its definition."""
        trig = cron.trigger(spec.schedule, cron.zone(spec.timezone))
        self.scheduler.add_job(_never_called, trig, id=spec.name, name=spec.name, replace_existing=True)

    def unschedule(self, name: str) -> None:
        if self.scheduler.get_job(name) is not None:
            self.scheduler.remove_job(name)

    def next_run(self, name: str) -> datetime | None:
        job = self.scheduler.get_job(name)
        return job.next_run_time.astimezone(UTC) if job is not None and job.next_run_time else None

    def next_runs(self) -> dict[str, datetime]:
        return {job.id: job.next_run_time.astimezone(UTC) for job in self.scheduler.get_jobs() if job.next_run_time}


def _never_called() -> None:  # pragma: no cover - FlowExecutor hands fires to the service instead
    raise AssertionError("flow jobs are run by FlowExecutor")


def missed_fires(spec: FlowSpec, since: datetime, until: datetime, limit: int) -> list[datetime]:
    """Fires of ``spec`` after ``since`` up to ``until`` (UTC), the latest ``limit`` of them."""
    trig = cron.trigger(spec.schedule, cron.zone(spec.timezone))
    return [fire.astimezone(UTC) for fire in cron.fire_times_between(trig, since, until, limit)]
