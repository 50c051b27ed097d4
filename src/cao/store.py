"""The database: engine creation (SQLite in WAL mode by default) and migrations."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, create_engine

from cao.migrations import migrate
from cao.settings import Settings


def make_engine(settings: Settings) -> sa.Engine:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.db_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        engine = create_engine(url)
    migrate(engine)
    return engine


def open_session(engine: sa.Engine) -> Session:
    return Session(engine, expire_on_commit=False)
