"""Snapshots of removed terminals (scrollback + metadata under logs/terminal/), and restoring them."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

from cao import validation
from cao.errors import NotFound
from cao.models import TerminalRecord, utcnow
from cao.private_files import write_private
from cao.services.runtime import Runtime


def save(rt: Runtime, record: TerminalRecord, scrollback: str) -> None:
    logs = rt.settings.terminal_logs_dir
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(logs / f"{record.id}.scrollback", scrollback)
    meta = record.model_dump(exclude={"mcp_token"})  # a secret: never in the logs
    meta["deleted_at"] = utcnow()
    write_private(logs / f"{record.id}.snapshot.json",
                  json.dumps(meta, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v), indent=2))


async def restore(rt: Runtime, terminal_id: str) -> tuple[str, str]:
    """Reopen a deleted terminal's saved scrollback in a shell window of its session."""
    validation.terminal_id(terminal_id)
    logs = rt.settings.terminal_logs_dir
    snapshot, scrollback = logs / f"{terminal_id}.snapshot.json", logs / f"{terminal_id}.scrollback"
    if not snapshot.exists() or not scrollback.exists():
        raise NotFound(f"no saved scrollback for terminal {terminal_id} in {logs}")
    meta = json.loads(snapshot.read_text(encoding="utf-8"))
    session = validation.session_name(meta["session_name"])
    if session not in await asyncio.to_thread(rt.tmux.list_sessions):
        raise NotFound(f"session {session} of terminal {terminal_id} is gone; start it again to restore into it")
    window = f"restored-{meta['window_name']}"[:64]
    cwd = Path(meta["working_directory"])
    if not cwd.is_dir():
        cwd = rt.settings.home
    # The path is an argument of the script, never part of it.
    argv = ["sh", "-c", 'cat -- "$1"; exec "${SHELL:-/bin/sh}" -l', "cao-restore", str(scrollback)]
    await asyncio.to_thread(rt.tmux.run, "new-window", "-d", "-t", f"{session}:", "-n", window, "-c", str(cwd),
                            "--", *argv)
    return session, window
