"""The memory store: put, get, list, search, forget and retention, over cao's database.

Plain methods over an engine (no runtime), so the server, the benchmarks and the tests use the same
code. Secrets are masked (cao.secrets) before anything is written; nothing else alters content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, func, select

from cao import secrets
from cao.models import utcnow
from cao.services.memory import scopes, search
from cao.services.memory.config import SCOPES, MemorySettings
from cao.services.memory.records import Memory, MemoryRecord, _utc
from cao.store import open_session


@dataclass(frozen=True)
class Stored:
    memory: Memory
    action: str  # created | updated | unchanged
    masked: tuple[str, ...]  # the kinds of secrets masked in the content


class MemoryStore:
    def __init__(self, engine: sa.Engine, settings: MemorySettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or MemorySettings()
        with engine.connect() as conn:
            self.fts = search.has_fts(conn)

    # --- writes -----------------------------------------------------------------------

    def put(self, scope: str, scope_id: str, content: str, key: str | None = None,
            created_by: str | None = None) -> Stored:
        """Store ``content`` under ``key`` (made from the content when None); the same key is replaced."""
        scopes.scope(scope)
        text = scopes.content(content)
        kinds = tuple(dict.fromkeys(f.kind for f in secrets.find(text)))
        text = secrets.mask(text) if kinds else text
        now = utcnow()
        with open_session(self.engine) as db:
            if key is None:
                key, row = self._free_key(db, scope, scope_id, scopes.slug(text), text)
            else:
                row = self._row(db, scope, scope_id, scopes.key(key))
            if row is None:
                row = MemoryRecord(scope=scope, scope_id=scope_id, key=key, content=text, created_by=created_by,
                                   created_at=now, updated_at=now)
                action = "created"
            elif row.content == text:
                action = "unchanged"
                row.updated_at = now  # stored again: still wanted, kept by retention
            else:
                row.content, row.updated_at, row.created_by = text, now, created_by or row.created_by
                action = "updated"
            db.add(row)
            db.commit()
            self._cap(db, scope, scope_id)
            return Stored(Memory.of(row), action, kinds)

    def _free_key(self, db: Any, scope: str, scope_id: str, base: str, text: str) -> tuple[str, MemoryRecord | None]:
        """An automatic key: the slug, or slug-2, slug-3… when another text already has it."""
        for n in range(1, 1000):
            candidate = base if n == 1 else f"{base[:55]}-{n}"
            row = self._row(db, scope, scope_id, candidate)
            if row is None or row.content == text:
                return candidate, row
        raise AssertionError("unreachable: 1000 memories with one slug")

    def delete(self, scope: str, scope_id: str, key: str) -> bool:
        with open_session(self.engine) as db:
            row = self._row(db, scopes.scope(scope), scope_id, scopes.key(key))
            if row is None:
                return False
            db.delete(row)
            db.commit()
            return True

    def clear(self, scope: str, scope_id: str | None = None) -> int:
        """Forget every memory of ``scope`` (of one project / session / agent when ``scope_id`` is given)."""
        statement = delete(MemoryRecord).where(col(MemoryRecord.scope) == scopes.scope(scope))
        if scope_id is not None:
            statement = statement.where(col(MemoryRecord.scope_id) == scope_id)
        with open_session(self.engine) as db:
            count = db.execute(statement).rowcount
            db.commit()
            return int(count or 0)

    # --- reads ------------------------------------------------------------------------

    def get(self, scope: str, scope_id: str, key: str) -> Memory | None:
        with open_session(self.engine) as db:
            row = self._row(db, scopes.scope(scope), scope_id, scopes.key(key))
            return Memory.of(row) if row else None

    def find_key(self, key: str, pairs: list[tuple[str, str]] | None = None) -> list[Memory]:
        """Every memory with ``key``: in ``pairs`` (scope, scope id) only, or anywhere; nearest scope first."""
        with open_session(self.engine) as db:
            rows = db.exec(select(MemoryRecord).where(col(MemoryRecord.key) == scopes.key(key))).all()
        found = [r for r in rows if pairs is None or (r.scope, r.scope_id) in pairs]
        return [Memory.of(r) for r in sorted(found, key=lambda r: (SCOPES.index(r.scope), r.scope_id))]

    def latest(self, scope: str | None = None, scope_id: str | None = None, limit: int = 100) -> list[Memory]:
        """Memories, most recently updated first."""
        statement = select(MemoryRecord)
        if scope is not None:
            statement = statement.where(col(MemoryRecord.scope) == scopes.scope(scope))
        if scope_id is not None:
            statement = statement.where(col(MemoryRecord.scope_id) == scope_id)
        statement = statement.order_by(col(MemoryRecord.updated_at).desc(), col(MemoryRecord.id).desc()).limit(limit)
        with open_session(self.engine) as db:
            return [Memory.of(r) for r in db.exec(statement)]

    def recall(self, query: str, pairs: list[tuple[str, str]], limit: int = 10) -> list[Memory]:
        """The memories of ``pairs`` most relevant to ``query`` (most recent ones when it has no words)."""
        words = search.terms(scopes.query(query))
        limit = scopes.limit(limit)
        with self.engine.connect() as conn:
            if not words:
                return [_memory(row) for row in search.recent(conn, pairs, limit)]
            return [_memory(row, score) for row, score in search.search(conn, words, pairs, limit, fts=self.fts)]

    def recent_by_scope(self, pairs: list[tuple[str, str]], per_scope: int) -> dict[str, list[Memory]]:
        """The ``per_scope`` most recent memories of each (scope, scope id), by scope."""
        found: dict[str, list[Memory]] = {scope: [] for scope, _ in pairs}
        with self.engine.connect() as conn:
            for row in search.recent_by_scope(conn, pairs, per_scope):
                found[row.scope].append(_memory(row))
        return found

    def count(self) -> int:
        with open_session(self.engine) as db:
            return int(db.exec(select(func.count()).select_from(MemoryRecord)).one())

    # --- retention --------------------------------------------------------------------

    def prune(self, live_sessions: set[str] | None = None) -> int:
        """Forget what retention says is too old, and (given ``live_sessions``) memories of removed sessions."""
        now = utcnow()
        removed = 0
        with open_session(self.engine) as db:
            for scope in SCOPES:
                days = self.settings.retention_of(scope).max_age_days
                if days is None:
                    continue
                removed += db.execute(delete(MemoryRecord).where(
                    col(MemoryRecord.scope) == scope,
                    col(MemoryRecord.updated_at) < now - timedelta(days=days))).rowcount or 0
            if live_sessions is not None:
                removed += db.execute(delete(MemoryRecord).where(
                    col(MemoryRecord.scope) == "session",
                    col(MemoryRecord.scope_id).not_in(sorted(live_sessions)))).rowcount or 0
            db.commit()
        return removed

    def _cap(self, db: Any, scope: str, scope_id: str) -> None:
        """Keep at most the scope's ``max_count`` memories per scope id: the least recently updated go."""
        most = self.settings.retention_of(scope).max_count
        where = (col(MemoryRecord.scope) == scope, col(MemoryRecord.scope_id) == scope_id)
        if db.exec(select(func.count()).select_from(MemoryRecord).where(*where)).one() <= most:
            return
        keep = select(MemoryRecord.id).where(*where).order_by(
            col(MemoryRecord.updated_at).desc(), col(MemoryRecord.id).desc()).limit(most)
        db.execute(delete(MemoryRecord).where(*where, col(MemoryRecord.id).not_in(keep)))
        db.commit()

    @staticmethod
    def _row(db: Any, scope: str, scope_id: str, key: str) -> MemoryRecord | None:
        return db.exec(select(MemoryRecord).where(
            col(MemoryRecord.scope) == scope, col(MemoryRecord.scope_id) == scope_id,
            col(MemoryRecord.key) == key)).first()


def _memory(row: sa.Row[Any], score: float | None = None) -> Memory:
    """A search row as a Memory, without an ORM object in between (recall returns many)."""
    return Memory(key=row.key, scope=row.scope, scope_id=row.scope_id, content=row.content,
                  created_by=row.created_by, created_at=_utc(row.created_at), updated_at=_utc(row.updated_at),
                  score=None if score is None else float(f"{score:.6g}"))
