"""Full-text search over memories: SQLite FTS5 ranked by BM25 where the database has it, else LIKE.

The user's (or agent's) query is never FTS5 syntax: it is cut into words, each quoted, joined by OR,
so any text is a valid query and a memory matching more (and rarer) words ranks higher. No numpy:
ranking is the database's own.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cao.services.memory.config import SCOPES

MAX_TERMS = 32
KEY_WEIGHT = 4.0  # a word in the key counts this many times one in the content
TYPES = {"created_at": sa.DateTime, "updated_at": sa.DateTime, "score": sa.Float}
COLUMNS = "m.id, m.scope, m.scope_id, m.key, m.content, m.created_by, m.created_at, m.updated_at"


def terms(query: str) -> list[str]:
    """The distinct words of ``query``, lowercased, in order (at most ``MAX_TERMS``)."""
    seen: dict[str, None] = {}
    for word in re.findall(r"\w+", query.lower()):
        seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def has_fts(conn: Connection) -> bool:
    if conn.dialect.name != "sqlite":
        return False
    return conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'memories_fts'")).first() is not None


def _scope_filter(pairs: list[tuple[str, str]], params: dict[str, Any]) -> str:
    clauses = []
    for i, (scope, scope_id) in enumerate(pairs):
        params[f"s{i}"], params[f"i{i}"] = scope, scope_id
        clauses.append(f"(m.scope = :s{i} AND m.scope_id = :i{i})")
    return "(" + " OR ".join(clauses) + ")" if clauses else "1 = 0"


def _precedence() -> str:
    return "CASE m.scope " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SCOPES)) + " END"


def search(conn: Connection, query_terms: list[str], pairs: list[tuple[str, str]], limit: int,
           *, fts: bool) -> list[tuple[sa.Row[Any], float]]:
    """Rows (with a score, higher is better) of the memories in ``pairs`` matching any of ``query_terms``."""
    params: dict[str, Any] = {"limit": limit}
    where = _scope_filter(pairs, params)
    if fts:
        params["match"] = " OR ".join('"' + t.replace('"', '""') + '"' for t in query_terms)
        sql = (f"SELECT {COLUMNS}, -bm25(memories_fts, {KEY_WEIGHT}, 1.0) AS score FROM memories_fts "
               f"JOIN memories m ON m.id = memories_fts.rowid WHERE memories_fts MATCH :match AND {where} "
               f"ORDER BY score DESC, {_precedence()}, m.updated_at DESC LIMIT :limit")
    else:  # substrings: words shorter than 3 letters would match nearly everything
        hits = []
        for i, term in enumerate([t for t in query_terms if len(t) >= 3] or query_terms):
            params[f"t{i}"] = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            hits.append(f"CASE WHEN lower(m.key || ' ' || m.content) LIKE :t{i} ESCAPE '\\' THEN 1 ELSE 0 END")
        score = " + ".join(hits)
        sql = (f"SELECT {COLUMNS}, ({score}) AS score FROM memories m WHERE {where} AND ({score}) > 0 "
               f"ORDER BY score DESC, {_precedence()}, m.updated_at DESC LIMIT :limit")
    return [(row, float(row.score)) for row in conn.execute(sa.text(sql).columns(**TYPES), params)]


def recent(conn: Connection, pairs: list[tuple[str, str]], limit: int) -> list[sa.Row[Any]]:
    """The memories in ``pairs``, most recently updated first (a query without words)."""
    params: dict[str, Any] = {"limit": limit}
    where = _scope_filter(pairs, params)
    sql = f"SELECT {COLUMNS} FROM memories m WHERE {where} ORDER BY m.updated_at DESC, m.id DESC LIMIT :limit"
    return list(conn.execute(sa.text(sql).columns(created_at=sa.DateTime, updated_at=sa.DateTime), params))


def recent_by_scope(conn: Connection, pairs: list[tuple[str, str]], per_scope: int) -> list[sa.Row[Any]]:
    """The ``per_scope`` most recently updated memories of each pair, in one query (pairs' order kept)."""
    params: dict[str, Any] = {"per": per_scope}
    parts = []
    for i, (scope, scope_id) in enumerate(pairs):
        params[f"s{i}"], params[f"i{i}"] = scope, scope_id
        parts.append(f"SELECT * FROM (SELECT {COLUMNS}, {i} AS part FROM memories m WHERE m.scope = :s{i} AND "
                     f"m.scope_id = :i{i} ORDER BY m.updated_at DESC, m.id DESC LIMIT :per)")
    if not parts:
        return []
    sql = " UNION ALL ".join(parts) + " ORDER BY part"
    return list(conn.execute(sa.text(sql).columns(created_at=sa.DateTime, updated_at=sa.DateTime), params))
