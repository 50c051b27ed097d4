"""The session tree people see includes removed terminals (a finished handoff worker) under their caller."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cao.cli import tree
from cao.services.snapshots import removed_terminals

LIVE = [{"id": "aaaa0001", "agent_profile": "code_supervisor", "status": "completed", "children": [
    {"id": "aaaa0002", "agent_profile": "developer", "status": "completed", "children": []}]}]


def test_removed_worker_is_drawn_under_its_caller() -> None:
    removed = [{"id": "bbbb0001", "agent_profile": "reviewer", "status": "error", "caller_id": "aaaa0001",
                "exit_reason": "the agent exited (status 0)"},
               {"id": "bbbb0003", "agent_profile": "developer", "status": "waiting_user_answer",
                "caller_id": "aaaa0002"},
               {"id": "aaaa0002", "agent_profile": "developer", "status": "idle", "caller_id": "aaaa0001"},
               {"id": "bbbb0002", "agent_profile": "developer", "status": "error", "caller_id": "bbbb0001",
                "exit_reason": "the agent exited (status 3)"}]
    assert tree.lines(tree.with_removed(LIVE, removed)) == [
        "code_supervisor aaaa0001 (completed)",
        "  └ developer aaaa0002 (completed)",
        "    └ developer bbbb0003 (waiting_user_answer, removed)",
        "  └ reviewer bbbb0001 (exited, removed)",
        "    └ developer bbbb0002 (exited, removed)",
    ]
    assert len(LIVE[0]["children"]) == 1  # the server's tree is not changed


def test_removed_terminals_of_one_session_since_a_time(tmp_path: Path) -> None:
    now = datetime.now(UTC)

    def snapshot(terminal_id: str, session: str, deleted_at: datetime) -> None:
        (tmp_path / f"{terminal_id}.snapshot.json").write_text(json.dumps(
            {"id": terminal_id, "session_name": session, "deleted_at": deleted_at.isoformat()}))

    snapshot("00000001", "cao-demo", now + timedelta(seconds=2))
    snapshot("00000002", "cao-demo", now + timedelta(seconds=1))
    snapshot("00000003", "cao-other", now + timedelta(seconds=1))
    snapshot("00000004", "cao-demo", now - timedelta(days=1))
    (tmp_path / "00000005.snapshot.json").write_text("{broken")
    found = removed_terminals(tmp_path, "cao-demo", since=now)
    assert [meta["id"] for meta in found] == ["00000002", "00000001"]
    assert removed_terminals(tmp_path / "missing", "cao-demo") == []
