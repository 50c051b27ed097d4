"""On server start: re-adopt the live terminals recorded in the store, mark the vanished ones.

This runs before the server answers its first request, so no request ever finds a live terminal
"not running" because it has not been adopted yet. It is fast because it is batched: one
``list-panes``, one tmux run that re-pipes and captures every pane, screens loaded from the plain
captures, and one transaction for all their statuses — whatever their number.
"""

from __future__ import annotations

import logging

from cao.errors import CaoError
from cao.models import TerminalRecord, utcnow
from cao.monitor import TerminalMonitor
from cao.providers import get_provider
from cao.services import terminals
from cao.services.runtime import Runtime
from cao.status import Status
from cao.store import open_session

log = logging.getLogger(__name__)
VANISHED = "the tmux window vanished while cao-server was not running"


def adopt_terminals(rt: Runtime) -> tuple[int, int]:
    """Return (adopted, vanished)."""
    mark = rt.registry.mark()
    listed = rt.tmux.list_panes()
    rt.registry.observe(listed, mark)
    panes = {(p.session, p.window): p for p in listed}
    found, gone = [], []
    for record in terminals.list_records(rt):
        pane = panes.get((record.session_name, record.window_name))
        if pane is None:
            gone.append(record.id)
            continue
        try:
            found.append((record.id, get_provider(record.provider), pane))
        except CaoError as exc:
            log.warning("could not adopt terminal %s: %s", record.id, exc)
    monitors = rt.engine.adopt_all(found)
    for terminal_id, _provider, pane in found:
        monitor = monitors.get(terminal_id)
        if monitor is not None and pane.dead:
            rt.engine.mark_exited(monitor, f"the agent exited (status {pane.dead_status})")
    _persist(rt, monitors, gone)
    return len(monitors), len(gone)


def _persist(rt: Runtime, monitors: dict[str, TerminalMonitor], gone: list[str]) -> None:
    """Store every adopted terminal's status and mark the vanished ones, in one transaction
    (the status listener is attached only after adoption: a commit per terminal cost ~3 ms each)."""
    with open_session(rt.db) as db:
        for terminal_id, monitor in monitors.items():
            record = db.get(TerminalRecord, terminal_id)
            if record is not None and (record.status, record.exit_reason) != (monitor.status.value,
                                                                               monitor.exit_reason):
                record.status, record.exit_reason = monitor.status.value, monitor.exit_reason
                record.status_changed_at = utcnow()
                db.add(record)
        for terminal_id in gone:
            record = db.get(TerminalRecord, terminal_id)
            if record is not None and record.exit_reason is None:
                record.status = Status.ERROR.value
                record.exit_reason = VANISHED
                db.add(record)
        db.commit()
