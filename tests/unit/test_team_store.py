"""Migration m005: a session row keeps the team it runs; a database from before it keeps its sessions."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from cao.migrations import MIGRATIONS, migrate
from cao.models import SessionRecord
from cao.store import open_session


def test_a_database_from_before_teams_keeps_its_sessions(tmp_path: Path) -> None:
    old = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with old.begin() as conn:
        conn.execute(sa.text("CREATE TABLE cao_migrations (name VARCHAR PRIMARY KEY, applied_at VARCHAR)"))
    for name, fn in MIGRATIONS:
        if name == "m005_session_teams":
            continue
        with old.begin() as conn:
            fn(conn)
            conn.execute(sa.text("INSERT INTO cao_migrations VALUES (:n, 'then')"), {"n": name})
    with old.begin() as conn:
        conn.execute(sa.text("INSERT INTO sessions (name, working_directory, env_json, created_at) "
                             "VALUES ('cao-x', '/tmp', '{}', '2026-01-01 00:00:00')"))
    assert migrate(old) == ["m005_session_teams"]
    with open_session(old) as db:
        row = db.get(SessionRecord, "cao-x")
        assert row is not None and row.team_json is None
        row.team_json = '{"source": "t.yaml"}'
        db.add(row)
        db.commit()
    with open_session(old) as db:
        assert db.get(SessionRecord, "cao-x").team_json == '{"source": "t.yaml"}'
