"""On server start: re-adopt the live terminals recorded in the store, mark the vanished ones."""

from __future__ import annotations

import logging

from cao.errors import CaoError
from cao.models import TerminalRecord
from cao.providers import get_provider
from cao.services import terminals
from cao.services.runtime import Runtime
from cao.status import Status
from cao.store import open_session

log = logging.getLogger(__name__)


def adopt_terminals(rt: Runtime) -> tuple[int, int]:
    """Return (adopted, vanished)."""
    panes = {(p.session, p.window): p for p in rt.tmux.list_panes()}
    adopted = vanished = 0
    for record in terminals.list_records(rt):
        pane = panes.get((record.session_name, record.window_name))
        if pane is None:
            vanished += 1
            _mark_vanished(rt, record.id)
            continue
        try:
            monitor = rt.engine.adopt(record.id, get_provider(record.provider), pane)
        except CaoError as exc:
            log.warning("could not adopt terminal %s: %s", record.id, exc)
            continue
        if pane.dead:
            rt.engine.mark_exited(monitor, f"the agent exited (status {pane.dead_status})")
        adopted += 1
    return adopted, vanished


def _mark_vanished(rt: Runtime, terminal_id: str) -> None:
    with open_session(rt.db) as db:
        record = db.get(TerminalRecord, terminal_id)
        if record is not None and record.exit_reason is None:
            record.status = Status.ERROR.value
            record.exit_reason = "the tmux window vanished while cao-server was not running"
            db.add(record)
            db.commit()
