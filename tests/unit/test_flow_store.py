"""The flows' tables: an older database is upgraded in place; history is pruned; restarts are accounted for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from cao.migrations import MIGRATIONS, migrate
from cao.models import TerminalRecord
from cao.services.flows import store
from cao.services.flows.records import Outcome, as_utc
from cao.services.flows.spec import FlowSpec
from cao.settings import Settings
from cao.store import make_engine, open_session

SPEC = FlowSpec(name="f", schedule="0 * * * *", agent_profile="developer", prompt_template="hi", keep_runs=3)


def test_a_database_from_before_flows_keeps_its_data(settings: Settings, tmp_path: Path) -> None:
    old = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    for name, fn in MIGRATIONS[:2]:  # the schema as it was before m003
        with old.begin() as conn:
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS cao_migrations (name VARCHAR PRIMARY KEY, "
                                 "applied_at VARCHAR)"))
            fn(conn)
            conn.execute(sa.text("INSERT INTO cao_migrations VALUES (:n, 'then')"), {"n": name})
    with open_session(old) as db:
        db.add(TerminalRecord(id="0123abcd", session_name="cao-x", window_name="w", provider="mock",
                              working_directory="/tmp"))
        db.commit()
    assert migrate(old) == [name for name, _ in MIGRATIONS[2:]]  # m003_flows and every later one
    with open_session(old) as db:
        assert db.get(TerminalRecord, "0123abcd") is not None
    store.insert(old, SPEC, "/f.flow.md", replace=False)
    assert store.get(old, "f").spec == SPEC


def test_history_is_pruned_to_keep_runs_but_never_a_working_run(settings: Settings) -> None:
    db = make_engine(settings)
    store.insert(db, SPEC, "/f.flow.md", replace=False)
    working = store.start_run(db, "f", "manual", None)
    for _ in range(5):
        run = store.start_run(db, "f", "manual", None)
        store.finish_run(db, run.id, Outcome.COMPLETED, SPEC.keep_runs, reply="ok")
    ids = [r.id for r in store.runs(db, "f", 100)]
    assert len(ids) == 4 and working.id in ids  # three finished ones, and the working one
    assert store.last_runs(db)["f"].id == max(ids)


def test_a_scheduled_fire_moves_the_mark_and_restart_accounting(settings: Settings) -> None:
    db = make_engine(settings)
    store.insert(db, SPEC, "/f.flow.md", replace=False)
    due = datetime.now(UTC) + timedelta(hours=1)
    store.start_run(db, "f", "schedule", due)
    assert as_utc(store.get(db, "f").fired_through) == due
    store.start_run(db, "f", "schedule", due - timedelta(hours=2))  # never moves back
    assert as_utc(store.get(db, "f").fired_through) == due
    assert store.interrupt_unfinished(db) == 2
    assert {r.outcome for r in store.runs(db, "f", 10)} == {"interrupted"}
    store.record_missed(db, "f", [due + timedelta(hours=1)], due + timedelta(hours=1, minutes=5), SPEC.keep_runs)
    assert store.runs(db, "f", 1)[0].outcome == "missed"
    assert "f" in store.last_runs(db) and store.last_runs(db)["f"].outcome == "interrupted"  # missed is not a run


def test_enabling_again_forgets_the_fires_while_disabled(settings: Settings) -> None:
    db = make_engine(settings)
    store.insert(db, SPEC, "/f.flow.md", replace=False)
    store.set_enabled(db, "f", False)
    before = datetime.now(UTC)
    store.set_enabled(db, "f", True)
    assert as_utc(store.get(db, "f").fired_through) >= before
