"""Reading and writing flows and their runs. The store is the source of truth; the scheduler follows it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, func, select

from cao.errors import Conflict, NotFound
from cao.models import utcnow
from cao.services.flows.records import FlowRecord, FlowRunRecord, Outcome
from cao.services.flows.spec import FlowSpec
from cao.store import open_session


def get(db: sa.Engine, name: str) -> FlowRecord:
    with open_session(db) as s:
        record = s.get(FlowRecord, name)
    if record is None:
        raise NotFound(f"flow {name!r} not found; list flows with: cao flow list")
    return record


def all_flows(db: sa.Engine) -> list[FlowRecord]:
    with open_session(db) as s:
        return list(s.exec(select(FlowRecord).order_by(FlowRecord.name)))


def insert(db: sa.Engine, spec: FlowSpec, file_path: str, *, replace: bool) -> FlowRecord:
    """Store a new flow (or, with ``replace``, a new definition of one, keeping its runs and state)."""
    with open_session(db) as s:
        old = s.get(FlowRecord, spec.name)
        if old is not None and not replace:
            raise Conflict(f"flow {spec.name!r} already exists; change it with: cao flow add --replace FILE, "
                           f"or remove it first with: cao flow remove {spec.name}")
        record = old or FlowRecord(name=spec.name, file_path=file_path, spec_json="{}")
        record.file_path = file_path
        record.spec_json = json.dumps(spec.to_json())
        s.add(record)
        s.commit()
        s.refresh(record)
        return record


def remove(db: sa.Engine, name: str) -> None:
    with open_session(db) as s:
        s.exec(delete(FlowRunRecord).where(col(FlowRunRecord.flow_name) == name))
        s.exec(delete(FlowRecord).where(col(FlowRecord.name) == name))
        s.commit()


def set_enabled(db: sa.Engine, name: str, enabled: bool) -> FlowRecord:
    with open_session(db) as s:
        record = s.get(FlowRecord, name)
        if record is None:
            raise NotFound(f"flow {name!r} not found")
        if enabled and not record.enabled:
            record.fired_through = utcnow()  # fires while it was disabled were not missed
        record.enabled = enabled
        s.add(record)
        s.commit()
        s.refresh(record)
        return record


def start_run(db: sa.Engine, name: str, trigger: str, scheduled_for: datetime | None,
              outcome: Outcome | None = None, error: str | None = None) -> FlowRunRecord:
    """Record a run; a scheduled one also moves the flow's ``fired_through`` mark (same transaction)."""
    now = utcnow()
    run = FlowRunRecord(flow_name=name, trigger=trigger, scheduled_for=scheduled_for, started_at=now,
                        outcome=outcome.value if outcome else None, error=error,
                        finished_at=now if outcome else None)
    with open_session(db) as s:
        s.add(run)
        if scheduled_for is not None:
            s.exec(sa.update(FlowRecord).where(col(FlowRecord.name) == name)
                   .where(col(FlowRecord.fired_through) < scheduled_for).values(fired_through=scheduled_for))
        s.commit()
        s.refresh(run)
    return run


def update_run(db: sa.Engine, run_id: int, **values: Any) -> FlowRunRecord:
    with open_session(db) as s:
        run = s.get(FlowRunRecord, run_id)
        assert run is not None
        for key, value in values.items():
            setattr(run, key, value)
        s.add(run)
        s.commit()
        s.refresh(run)
        return run


def finish_run(db: sa.Engine, run_id: int, outcome: Outcome, keep: int, **values: Any) -> FlowRunRecord:
    run = update_run(db, run_id, outcome=outcome.value, finished_at=utcnow(), **values)
    prune(db, run.flow_name, keep)
    return run


def prune(db: sa.Engine, name: str, keep: int) -> None:
    """Keep the newest ``keep`` finished runs of a flow (a working run is never removed)."""
    with open_session(db) as s:
        cutoff = s.exec(select(FlowRunRecord.id).where(col(FlowRunRecord.flow_name) == name)
                        .order_by(col(FlowRunRecord.id).desc()).offset(keep).limit(1)).first()
        if cutoff is not None:
            s.exec(delete(FlowRunRecord).where(col(FlowRunRecord.flow_name) == name)
                   .where(col(FlowRunRecord.id) <= cutoff).where(col(FlowRunRecord.outcome).is_not(None)))
            s.commit()


def record_missed(db: sa.Engine, name: str, fires: Iterable[datetime], through: datetime, keep: int) -> int:
    """One ``missed`` run per fire the server was down for; the flow's mark moves to ``through``."""
    now = utcnow()
    count = 0
    with open_session(db) as s:
        for fire in fires:
            s.add(FlowRunRecord(flow_name=name, trigger="schedule", scheduled_for=fire, started_at=now,
                                finished_at=now, outcome=Outcome.MISSED.value,
                                error="cao-server was not running at the scheduled time"))
            count += 1
        s.exec(sa.update(FlowRecord).where(col(FlowRecord.name) == name).values(fired_through=through))
        s.commit()
    prune(db, name, keep)
    return count


def interrupt_unfinished(db: sa.Engine) -> int:
    """Runs still marked working when the server starts were cut short (SIGKILL, a crash): say so."""
    with open_session(db) as s:
        result = s.exec(sa.update(FlowRunRecord).where(col(FlowRunRecord.outcome).is_(None)).values(
            outcome=Outcome.INTERRUPTED.value, finished_at=utcnow(),
            error="cao-server stopped while this run was working (it was killed or crashed)"))
        s.commit()
        return result.rowcount or 0


def runs(db: sa.Engine, name: str, limit: int) -> list[FlowRunRecord]:
    with open_session(db) as s:
        return list(s.exec(select(FlowRunRecord).where(col(FlowRunRecord.flow_name) == name)
                           .order_by(col(FlowRunRecord.id).desc()).limit(limit)))


def run(db: sa.Engine, run_id: int) -> FlowRunRecord:
    with open_session(db) as s:
        record = s.get(FlowRunRecord, run_id)
    if record is None:
        raise NotFound(f"flow run {run_id} not found")
    return record


def last_runs(db: sa.Engine) -> dict[str, FlowRunRecord]:
    """Each flow's newest run that was not a missed fire, in one query (for listings)."""
    with open_session(db) as s:
        newest = (select(FlowRunRecord.flow_name, func.max(FlowRunRecord.id).label("id"))
                  .where(col(FlowRunRecord.outcome).is_distinct_from(Outcome.MISSED.value))
                  .group_by(FlowRunRecord.flow_name).subquery())
        rows = s.exec(select(FlowRunRecord).join(newest, col(FlowRunRecord.id) == newest.c.id))
        return {r.flow_name: r for r in rows}
