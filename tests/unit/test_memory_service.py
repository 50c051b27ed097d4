"""What a terminal may do with memory: its own scopes only, forget without a scope, upkeep.

The runtime here holds only what the memory service reads (settings, the database, the registry's
terminals and sessions); the store and the database are real.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cao.errors import Conflict, InvalidInput, NotFound
from cao.models import SessionRecord, TerminalRecord
from cao.services.memory import service
from cao.settings import Settings
from cao.store import make_engine


@pytest.fixture
def rt(settings: Settings, tmp_path: Path) -> Any:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    terminals = {
        "aaaa0001": TerminalRecord(id="aaaa0001", session_name="cao-one", window_name="w", provider="mock",
                                   agent_profile="developer", working_directory=str(tmp_path / "a")),
        "bbbb0002": TerminalRecord(id="bbbb0002", session_name="cao-two", window_name="w", provider="mock",
                                   agent_profile="reviewer", working_directory=str(tmp_path / "b")),
    }
    sessions = {name: SessionRecord(name=name, working_directory="/") for name in ("cao-one", "cao-two")}
    return SimpleNamespace(settings=settings, db=make_engine(settings),
                           registry=SimpleNamespace(terminals=terminals, sessions=sessions))


def test_each_terminal_writes_and_reads_its_own_scopes(rt: Any, tmp_path: Path) -> None:
    stored = service.remember(rt, "aaaa0001", "Build with make", None, None)
    assert (stored.memory.scope, stored.memory.scope_id, stored.memory.created_by) == (
        "project", str(tmp_path / "a"), "aaaa0001")
    service.remember(rt, "aaaa0001", "Reviewing the parser", "focus", "session")
    service.remember(rt, "aaaa0001", "Write tests first", "habit", "agent")
    service.remember(rt, "aaaa0001", "The user likes short answers", "style", "global")
    assert [m.key for m in service.recall(rt, "aaaa0001", "", None, 10)] == [
        "style", "habit", "focus", "build-with-make"]
    # Another terminal (other session, project and profile) sees only the global memory.
    assert [m.key for m in service.recall(rt, "bbbb0002", "", None, 10)] == ["style"]
    assert service.recall(rt, "bbbb0002", "parser", "session", None) == []
    with pytest.raises(NotFound, match="no memory 'focus' in your scopes"):
        service.forget(rt, "bbbb0002", "focus", None)
    with pytest.raises(NotFound, match="terminal 0badcafe not found"):
        service.recall(rt, "0badcafe", "", None, None)


def test_forget_without_scope_needs_one_holder(rt: Any) -> None:
    service.remember(rt, "aaaa0001", "project version", "notes", "project")
    service.remember(rt, "aaaa0001", "session version", "notes", "session")
    with pytest.raises(Conflict, match=r"memory 'notes' is in several scopes \(session, project\): give the scope"):
        service.forget(rt, "aaaa0001", "notes", None)
    assert service.forget(rt, "aaaa0001", "notes", "session").scope == "session"
    assert service.forget(rt, "aaaa0001", "notes", None).scope == "project"
    with pytest.raises(NotFound, match="no memory 'notes' in project scope"):
        service.forget(rt, "aaaa0001", "notes", "project")
    with pytest.raises(InvalidInput, match="invalid memory scope"):
        service.forget(rt, "aaaa0001", "notes", "everywhere")


def test_upkeep_drops_memories_of_sessions_cao_no_longer_has(rt: Any) -> None:
    service.remember(rt, "bbbb0002", "about two", "two", "session")
    service.remember(rt, "aaaa0001", "about one", "one", "session")
    del rt.registry.sessions["cao-two"]
    service._STATES[rt.db].pruned_at = float("-inf")  # as if the interval had passed
    assert [m.key for m in service.store_of(rt).latest("session")] == ["one"]
