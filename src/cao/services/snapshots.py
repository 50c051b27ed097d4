"""Snapshots of removed terminals (scrollback + metadata under logs/terminal/), and restoring them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cao import validation
from cao.errors import NotFound
from cao.private_files import write_private

if TYPE_CHECKING:  # the CLI reads snapshots too; it must not pay for importing the store
    from cao.models import TerminalRecord
    from cao.services.runtime import Runtime


def save(rt: Runtime, record: TerminalRecord, scrollback: str) -> None:
    from cao.teams import policy  # the server's side only (the CLI reads snapshots without it)

    scrollback = policy.redact(rt, record.session_name, scrollback, record.agent_profile)  # redact_secrets
    logs = rt.settings.terminal_logs_dir
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(logs / f"{record.id}.scrollback", scrollback)
    meta = record.model_dump(exclude={"mcp_token"})  # a secret: never in the logs
    meta["deleted_at"] = datetime.now(UTC)
    write_private(logs / f"{record.id}.snapshot.json",
                  json.dumps(meta, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v), indent=2))


def removed_terminals(logs_dir: Path, session_name: str, since: datetime | None = None) -> list[dict]:
    """The saved metadata of the session's removed terminals (e.g. a finished handoff worker), oldest first."""
    found = []
    for path in logs_dir.glob("*.snapshot.json") if logs_dir.is_dir() else ():
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            deleted_at = datetime.fromisoformat(meta["deleted_at"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a damaged snapshot hides nothing else
        if meta.get("session_name") == session_name and (since is None or deleted_at >= since):
            found.append(meta)
    return sorted(found, key=lambda meta: meta["deleted_at"])


async def restore(rt: Runtime, terminal_id: str) -> tuple[str, str]:
    """Reopen a deleted terminal's saved scrollback in a shell window of its session.

    When the session is gone too (``cao shutdown`` removes the session and saves every terminal's
    scrollback), a new tmux session of the same name is started to hold the window.
    """
    validation.terminal_id(terminal_id)
    logs = rt.settings.terminal_logs_dir
    snapshot, scrollback = logs / f"{terminal_id}.snapshot.json", logs / f"{terminal_id}.scrollback"
    if not snapshot.exists() or not scrollback.exists():
        raise NotFound(f"no saved scrollback for terminal {terminal_id} in {logs}")
    meta = json.loads(snapshot.read_text(encoding="utf-8"))
    session = validation.session_name(meta["session_name"])
    window = f"restored-{meta['window_name']}"[:64]
    cwd = Path(meta["working_directory"])
    if not cwd.is_dir():
        cwd = rt.settings.home
    # The path is an argument of the script, never part of it.
    argv = ["sh", "-c", 'cat -- "$1"; exec "${SHELL:-/bin/sh}" -l', "cao-restore", str(scrollback)]
    if session in await asyncio.to_thread(rt.tmux.list_sessions):
        where = ["new-window", "-d", "-t", f"{session}:"]
    else:
        where = ["new-session", "-d", "-s", session]
    await asyncio.to_thread(rt.tmux.run, *where, "-n", window, "-c", str(cwd), "--", *argv)
    if where[0] == "new-session":
        _record_session(rt, session, cwd)  # a cao session again: listed, and `cao shutdown` removes it
    return session, window


def _record_session(rt: Runtime, name: str, cwd: Path) -> None:
    from cao.models import SessionRecord
    from cao.store import open_session

    with open_session(rt.db) as db:
        if db.get(SessionRecord, name) is None:
            db.add(SessionRecord(name=name, working_directory=str(cwd)))
            db.commit()
