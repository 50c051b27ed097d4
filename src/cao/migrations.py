"""Numbered schema migrations. Each runs once, in order, and is recorded in ``cao_migrations``.

Never edit a released migration: add the next one. A user's database is upgraded in place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "sessions", meta,
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("working_directory", sa.String, nullable=False),
        sa.Column("conductor_id", sa.String),
        sa.Column("env_json", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "terminals", meta,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("session_name", sa.String, nullable=False, index=True),
        sa.Column("window_name", sa.String, nullable=False),
        sa.Column("provider", sa.String, nullable=False),
        sa.Column("agent_profile", sa.String),
        sa.Column("working_directory", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("exit_reason", sa.Text),
        sa.Column("caller_id", sa.String),
        sa.Column("allowed_tools_json", sa.Text),
        sa.Column("model", sa.String),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("status_changed_at", sa.DateTime, nullable=False),
        sa.Column("last_active", sa.DateTime, nullable=False),
    )
    sa.Table(
        "inbox_messages", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String, nullable=False),
        sa.Column("receiver_id", sa.String, nullable=False, index=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime),
        sa.Column("delivered_at", sa.DateTime),
    )
    meta.create_all(conn)


@migration
def m002_terminal_tokens(conn: Connection) -> None:
    # Each terminal's MCP capability token (the file holding the store is the owner's alone, 0600).
    conn.execute(sa.text("ALTER TABLE terminals ADD COLUMN mcp_token VARCHAR"))


@migration
def m003_flows(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "flows", meta,
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("file_path", sa.String, nullable=False),
        sa.Column("spec_json", sa.Text, nullable=False),  # the validated definition, as it was added
        sa.Column("enabled", sa.Boolean, nullable=False),
        # The scheduled instant of the last fire handled (or when the flow was enabled): fires after it,
        # and before the server's start, were missed while the server was down.
        sa.Column("fired_through", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "flow_runs", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow_name", sa.String, nullable=False, index=True),
        sa.Column("trigger", sa.String, nullable=False),
        sa.Column("scheduled_for", sa.DateTime),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("outcome", sa.String),  # NULL while the run works
        sa.Column("script_output_json", sa.Text),
        sa.Column("prompt", sa.Text),
        sa.Column("reply", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("session_name", sa.String),
        sa.Column("terminal_id", sa.String),
    )
    meta.create_all(conn)


@migration
def m004_memory(conn: Connection) -> None:
    # What agents remember (cao.services.memory): one row per (scope, scope_id, key).
    meta = sa.MetaData()
    sa.Table(
        "memories", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String, nullable=False),  # global | project | session | agent
        sa.Column("scope_id", sa.String, nullable=False),  # "" | project id | session name | profile name
        sa.Column("key", sa.String, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_by", sa.String),  # terminal id, or "user"
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("scope", "scope_id", "key", name="uq_memories_scope_key"),
        sa.Index("ix_memories_scope_updated", "scope", "scope_id", "updated_at"),
    )
    meta.create_all(conn)
    if conn.dialect.name != "sqlite":
        return  # other databases search with LIKE (services/memory/search.py)
    try:
        conn.execute(sa.text("SAVEPOINT memory_fts"))
        conn.execute(sa.text(
            "CREATE VIRTUAL TABLE memories_fts USING fts5(key, content, content='memories', "
            "content_rowid='id', tokenize='porter unicode61')"))
    except sa.exc.OperationalError:  # an SQLite built without FTS5: search falls back to LIKE
        conn.execute(sa.text("ROLLBACK TO SAVEPOINT memory_fts"))
        return
    conn.execute(sa.text("RELEASE SAVEPOINT memory_fts"))
    for statement in (
        "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN "
        "INSERT INTO memories_fts(rowid, key, content) VALUES (new.id, new.key, new.content); END",
        "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN "
        "INSERT INTO memories_fts(memories_fts, rowid, key, content) VALUES ('delete', old.id, old.key, old.content); "
        "END",
        "CREATE TRIGGER memories_fts_update AFTER UPDATE OF key, content ON memories BEGIN "
        "INSERT INTO memories_fts(memories_fts, rowid, key, content) VALUES ('delete', old.id, old.key, old.content); "
        "INSERT INTO memories_fts(rowid, key, content) VALUES (new.id, new.key, new.content); END",
    ):
        conn.execute(sa.text(statement))


@migration
def m005_session_teams(conn: Connection) -> None:
    # The team a session runs (cao launch team.yaml): its loaded file, as JSON (src/cao/teams/models.py).
    conn.execute(sa.text("ALTER TABLE sessions ADD COLUMN team_json TEXT"))


def migrate(engine: sa.Engine) -> list[str]:
    """Apply pending migrations; return the names applied."""
    applied_now: list[str] = []
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS cao_migrations (name VARCHAR PRIMARY KEY, applied_at VARCHAR)"
        ))
        done = {row[0] for row in conn.execute(sa.text("SELECT name FROM cao_migrations"))}
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with engine.begin() as conn:
            fn(conn)
            conn.execute(sa.text("INSERT INTO cao_migrations (name, applied_at) VALUES (:n, :t)"),
                         {"n": name, "t": datetime.now(UTC).isoformat()})
        applied_now.append(name)
    return applied_now
