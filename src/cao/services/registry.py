"""The server's in-memory view of the store's sessions and terminals, and of tmux's sessions.

Reads (``GET /sessions``, ``GET /terminals/{id}``, every service's record lookup) are served from
here: no query per terminal and no ``tmux`` subprocess per request. It cannot drift from the
store because it is fed by the ORM itself: every committed insert, update or delete of a
``TerminalRecord`` or ``SessionRecord`` (by any code, through any ``Session`` on this engine) is
applied here after the commit; a rolled-back change is dropped. Only cao-server writes the store,
and only on its event loop, so these dicts need no lock.

Which tmux sessions exist (and whether a client is attached) comes from the reconciliation pass's
one ``list-panes`` for all terminals; sessions cao creates or removes in between are applied at
once, so a listing never lags behind cao's own changes.

Rendered answers (e.g. the ``GET /sessions`` body) are cached here until anything they could show
changes: a store change, a different tmux listing, or a terminal's status (``invalidate``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import select

from cao.models import SessionRecord, TerminalRecord
from cao.store import open_session
from cao.tmux import PaneInfo

_PENDING = "cao_registry_pending"
WRITE_BEHIND_S = 0.05
_REGISTRIES: weakref.WeakKeyDictionary[sa.Engine, Registry] = weakref.WeakKeyDictionary()


class Registry:
    def __init__(self, engine: sa.Engine) -> None:
        self.terminals: dict[str, TerminalRecord] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.by_session: dict[str, dict[str, TerminalRecord]] = {}
        # tmux session name → a client is attached, as of the last listing (plus cao's changes since).
        self.tmux_sessions: dict[str, bool] = {}
        self._seq = 0
        self._recent: dict[str, tuple[int, bool]] = {}  # session name → (seq, exists) since a listing began
        self._rendered: dict[str, bytes] = {}
        self._engine = engine
        self._unwritten: dict[str, dict[str, Any]] = {}  # terminal id → fields to store (write_behind)
        self._flush_handle: asyncio.TimerHandle | None = None
        with open_session(engine) as db:
            for session in db.exec(select(SessionRecord)):
                self.sessions[session.name] = session
            for terminal in db.exec(select(TerminalRecord)):
                self._put_terminal(terminal)
        _REGISTRIES[engine] = self

    # --- reads ----------------------------------------------------------------------

    def terminals_of(self, session_name: str | None = None) -> list[TerminalRecord]:
        """The terminals (of one session, or all) in creation order."""
        found: Iterable[TerminalRecord] = (
            self.terminals.values() if session_name is None else self.by_session.get(session_name, {}).values())
        return sorted(found, key=lambda r: r.created_at)

    def session_names(self) -> list[str]:
        """Sessions tmux has (as of the last listing, with cao's own changes since)."""
        return sorted(self.tmux_sessions)

    def rendered(self, key: str, render: Callable[[], bytes]) -> bytes:
        """``render()``'s result, cached until the next change (see ``invalidate``)."""
        body = self._rendered.get(key)
        if body is None:
            body = self._rendered[key] = render()
        return body

    def invalidate(self, *_args: object) -> None:
        """Something a rendered answer may show has changed (also a status listener of the engine)."""
        self._rendered.clear()

    # --- writes that may wait a moment -------------------------------------------------

    def write_behind(self, terminal_id: str, **fields: Any) -> None:
        """Set these fields of a terminal now (in memory) and store them within ``WRITE_BEHIND_S``,
        coalesced with the others into one transaction. For frequent, small facts (status changes,
        ``last_active``): a commit each on the event loop made independent terminals wait for one
        another's commits. A crash can lose the last moment's; re-adoption recomputes statuses."""
        record = self.terminals.get(terminal_id)
        if record is None:
            return
        for name, value in fields.items():
            setattr(record, name, value)
        self._unwritten.setdefault(terminal_id, {}).update(fields)
        self.invalidate()
        if self._flush_handle is None:
            try:
                self._flush_handle = asyncio.get_running_loop().call_later(WRITE_BEHIND_S, self.flush)
            except RuntimeError:  # no event loop (a script, a test): store at once
                self.flush()

    def flush(self) -> None:
        """Store what ``write_behind`` holds (also called at shutdown)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        unwritten, self._unwritten = self._unwritten, {}
        if not unwritten:
            return
        with open_session(self._engine) as db:
            for terminal_id, fields in unwritten.items():
                row = db.get(TerminalRecord, terminal_id)
                if row is not None:  # else removed meanwhile
                    for name, value in fields.items():
                        setattr(row, name, value)
                    db.add(row)
            db.commit()

    # --- the tmux side (fed by the reconciliation pass) -------------------------------

    def mark(self) -> int:
        """Call before listing tmux; pass the result to ``observe``."""
        return self._seq

    def observe(self, panes: list[PaneInfo], mark: int) -> None:
        listed: dict[str, bool] = {}
        for pane in panes:
            listed[pane.session] = listed.get(pane.session, False) or pane.attached
        for name, (seq, exists) in list(self._recent.items()):
            if seq <= mark:
                del self._recent[name]  # the listing started after this change: it already shows it
            elif exists:
                listed.setdefault(name, False)
            else:
                listed.pop(name, None)
        if listed != self.tmux_sessions:
            self.tmux_sessions = listed
            self.invalidate()

    def _session_changed(self, name: str, exists: bool) -> None:
        self._seq += 1
        self._recent[name] = (self._seq, exists)
        if exists:
            self.tmux_sessions.setdefault(name, False)
        else:
            self.tmux_sessions.pop(name, None)
        self.invalidate()

    # --- the store side (fed by the ORM) ----------------------------------------------

    def _put_terminal(self, record: TerminalRecord) -> None:
        old = self.terminals.get(record.id)
        if old is not None and old.session_name != record.session_name:
            self.by_session.get(old.session_name, {}).pop(record.id, None)
        self.terminals[record.id] = record
        self.by_session.setdefault(record.session_name, {})[record.id] = record

    def _drop_terminal(self, terminal_id: str) -> None:
        old = self.terminals.pop(terminal_id, None)
        if old is not None:
            members = self.by_session.get(old.session_name, {})
            members.pop(terminal_id, None)
            if not members:
                self.by_session.pop(old.session_name, None)

    def _apply(self, changes: list[tuple[str, object]]) -> None:
        self.invalidate()
        for op, obj in changes:
            if isinstance(obj, TerminalRecord):
                if op == "delete":
                    self._drop_terminal(obj.id)
                else:
                    self._put_terminal(obj)
            elif isinstance(obj, SessionRecord):
                if op == "delete":
                    self.sessions.pop(obj.name, None)
                    self._session_changed(obj.name, exists=False)
                else:
                    if op == "insert":
                        self._session_changed(obj.name, exists=True)
                    self.sessions[obj.name] = obj


def _registry_of(session: Session) -> Registry | None:
    bind = session.bind
    return _REGISTRIES.get(bind) if isinstance(bind, sa.Engine) else None


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context: object) -> None:
    if _registry_of(session) is None:
        return
    pending = session.info.setdefault(_PENDING, [])
    for op, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        pending += [(op, obj) for obj in objs if isinstance(obj, TerminalRecord | SessionRecord)]


@event.listens_for(Session, "after_commit")
def _apply(session: Session) -> None:
    changes = session.info.pop(_PENDING, None)
    registry = _registry_of(session)
    if changes and registry is not None:
        registry._apply(changes)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)
