from __future__ import annotations

import sqlalchemy as sa

from cao.migrations import MIGRATIONS, migrate
from cao.models import TerminalRecord
from cao.settings import Settings
from cao.store import make_engine, open_session


def test_fresh_database_is_migrated_in_wal_mode(settings: Settings) -> None:
    engine = make_engine(settings)
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        names = [row[0] for row in conn.execute(sa.text("SELECT name FROM cao_migrations"))]
    assert names == [name for name, _ in MIGRATIONS]


def test_migrations_run_once_and_keep_data(settings: Settings) -> None:
    engine = make_engine(settings)
    with open_session(engine) as db:
        db.add(TerminalRecord(id="0123abcd", session_name="cao-x", window_name="dev-1234", provider="mock",
                              working_directory="/tmp"))
        db.commit()
    engine.dispose()
    engine = make_engine(settings)  # a second start must not re-run or drop anything
    assert migrate(engine) == []
    with open_session(engine) as db:
        assert db.get(TerminalRecord, "0123abcd").window_name == "dev-1234"


def test_settings_defaults_and_overrides() -> None:
    s = Settings.from_env({"HOME": "/h"})
    assert (s.api_host, s.api_port, s.tmux_socket) == ("127.0.0.1", 9889, None)
    s = Settings.from_env({"CAO_HOME": "/x", "CAO_API_PORT": "1234", "CAO_TMUX_SOCKET": "sock",
                           "CAO_AUTO_START": "off"})
    assert (str(s.home), s.api_port, s.tmux_socket, s.auto_start) == ("/x", 1234, "sock", False)
    assert s.effective_database_url == "sqlite:////x/db/cao.db"
