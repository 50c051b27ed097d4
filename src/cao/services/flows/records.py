"""The flows' stored records (DDL in ``cao.migrations``, m003) and the shapes the API returns."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from cao.models import utcnow
from cao.services.flows import cron
from cao.services.flows.spec import FlowSpec


class Outcome(StrEnum):
    COMPLETED = "completed"
    SKIPPED_BY_SCRIPT = "skipped_by_script"
    SKIPPED_BUSY = "skipped_busy"
    ERROR = "error"
    TIMED_OUT = "timed_out"
    MISSED = "missed"
    INTERRUPTED = "interrupted"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite gives datetimes back without their zone; cao stores UTC only."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class FlowRecord(SQLModel, table=True):
    __tablename__ = "flows"
    name: str = Field(primary_key=True)
    file_path: str
    spec_json: str
    enabled: bool = True
    fired_through: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def spec(self) -> FlowSpec:
        return _spec_of(self.spec_json)


@functools.lru_cache(maxsize=4096)
def _spec_of(spec_json: str) -> FlowSpec:
    return FlowSpec.from_json(json.loads(spec_json))


class FlowRunRecord(SQLModel, table=True):
    __tablename__ = "flow_runs"
    id: int | None = Field(default=None, primary_key=True)
    flow_name: str = Field(index=True)
    trigger: str  # schedule | manual | catch_up | restart
    scheduled_for: datetime | None = None
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    outcome: str | None = None
    script_output_json: str | None = None
    prompt: str | None = None
    reply: str | None = None
    error: str | None = None
    session_name: str | None = None
    terminal_id: str | None = None


class FlowRun(BaseModel):
    id: int
    flow_name: str
    trigger: str
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome | None  # null while the run works
    script_output: Any = None
    prompt: str | None
    reply: str | None
    error: str | None
    session_name: str | None
    terminal_id: str | None

    @classmethod
    def of(cls, r: FlowRunRecord) -> FlowRun:
        return cls(id=r.id or 0, flow_name=r.flow_name, trigger=r.trigger, scheduled_for=as_utc(r.scheduled_for),
                   started_at=as_utc(r.started_at), finished_at=as_utc(r.finished_at),
                   outcome=Outcome(r.outcome) if r.outcome else None,
                   script_output=json.loads(r.script_output_json) if r.script_output_json else None,
                   prompt=r.prompt, reply=r.reply, error=r.error, session_name=r.session_name,
                   terminal_id=r.terminal_id)


class Flow(BaseModel):
    """The public CAO's Flow fields first, then cao's own."""
    name: str
    file_path: str
    schedule: str
    agent_profile: str
    provider: str | None
    engine: str | None = None
    script: str | None
    last_run: datetime | None
    next_run: datetime | None
    enabled: bool
    prompt_template: str
    timezone: str
    timeout: float
    script_timeout: float
    working_directory: str | None
    yolo: bool
    env: dict[str, str]
    when_busy: str
    catch_up: float
    keep_runs: int
    prestart: float = 0.0
    running: bool = False
    last_outcome: Outcome | None = None
    next_runs: list[datetime] = []


class RunStarted(BaseModel):
    executed: bool  # the public CAO's answer: did the agent get the prompt
    run: FlowRun


def public_flow(record: FlowRecord, last: FlowRunRecord | None, next_run: datetime | None, *, running: bool,
                upcoming: int = 0) -> Flow:
    """The API's Flow; ``upcoming``: how many next fire times to list."""
    spec = record.spec
    zone = cron.zone(spec.timezone)
    upcoming_times: list[datetime] = []
    if upcoming and record.enabled:
        trig = cron.trigger(spec.schedule, zone)
        upcoming_times = [t.astimezone(UTC) for t in cron.next_fire_times(trig, datetime.now(UTC), upcoming)]
    return Flow(
        name=spec.name, file_path=record.file_path, schedule=spec.schedule, agent_profile=spec.agent_profile,
        provider=spec.provider, script=spec.script, last_run=as_utc(last.started_at) if last else None,
        next_run=next_run if record.enabled else None, enabled=record.enabled,
        prompt_template=spec.prompt_template, timezone=str(zone), timeout=spec.timeout,
        script_timeout=spec.script_timeout, working_directory=spec.working_directory, yolo=spec.yolo,
        env=spec.env, when_busy=spec.when_busy, catch_up=spec.catch_up, keep_runs=spec.keep_runs,
        prestart=spec.prestart, running=running,
        last_outcome=Outcome(last.outcome) if last and last.outcome else None, next_runs=upcoming_times)
