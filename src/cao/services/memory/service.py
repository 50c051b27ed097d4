"""Memory in the server: one store per runtime, the scopes of a terminal, and upkeep.

A terminal reads and writes only its own scopes (its session, its project, its profile, and
global): the caller comes from its MCP token (cao.mcp.memory_tools), never from a parameter.
Session memories go when their session is removed (``start`` follows the event bus); retention
by age runs at start and then at most every ``PRUNE_INTERVAL_S`` on use.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass

import sqlalchemy as sa

from cao.errors import Conflict, NotFound
from cao.services.memory import scopes
from cao.services.memory.records import Memory
from cao.services.memory.store import MemoryStore, Stored
from cao.services.runtime import Runtime

log = logging.getLogger(__name__)
PRUNE_INTERVAL_S = 600.0


@dataclass
class _State:
    store: MemoryStore
    pruned_at: float = float("-inf")


_STATES: weakref.WeakKeyDictionary[sa.Engine, _State] = weakref.WeakKeyDictionary()


def store_of(rt: Runtime) -> MemoryStore:
    """The runtime's memory store; forgets what retention says is too old, at most every few minutes."""
    state = _STATES.get(rt.db)
    if state is None:
        state = _STATES[rt.db] = _State(MemoryStore(rt.db, rt.settings.memory))
    now = time.monotonic()
    if now - state.pruned_at >= PRUNE_INTERVAL_S:
        state.pruned_at = now
        removed = state.store.prune(live_sessions=set(rt.registry.sessions))
        if removed:
            log.info("memory retention: forgot %d memories", removed)
    return state.store


def start(rt: Runtime) -> None:
    """At server start: upkeep now, then drop a session's memories as soon as the session is removed
    (also with ``CAO_MEMORY=off``: what is stored still follows retention)."""
    store_of(rt)
    rt.background(_follow_sessions(rt))


async def _follow_sessions(rt: Runtime) -> None:
    while True:
        subscription = rt.bus.subscribe(["session.removed"])
        try:
            while (event := await subscription.next()) is not None:
                try:
                    store_of(rt).clear("session", event.data["session"])
                except Exception:  # the next upkeep pass drops them instead
                    log.exception("could not drop the memories of session %s", event.data.get("session"))
        finally:
            rt.bus.unsubscribe(subscription)
        if subscription.closed:  # the server stops
            return
        _STATES[rt.db].pruned_at = float("-inf")  # fell behind: the next use catches up on what it missed


def scopes_of(rt: Runtime, terminal_id: str) -> scopes.TerminalScopes:
    record = rt.registry.terminals.get(terminal_id)
    if record is None:
        raise NotFound(f"terminal {terminal_id} not found")
    return scopes.TerminalScopes(session=record.session_name, project=scopes.project_id(record.working_directory),
                                 agent=record.agent_profile or "")


# --- what a terminal may do (the MCP tools call these) ------------------------------------


def remember(rt: Runtime, terminal_id: str, content: str, key: str | None, scope: str | None) -> Stored:
    mine = scopes_of(rt, terminal_id)
    scope = scopes.scope(scope or "project")
    return store_of(rt).put(scope, mine.id_of(scope), content, key=key, created_by=terminal_id)


def recall(rt: Runtime, terminal_id: str, query: str, scope: str | None, limit: int | None) -> list[Memory]:
    mine = scopes_of(rt, terminal_id)
    return store_of(rt).recall(query, mine.pairs(scopes.scope(scope) if scope else None), scopes.limit(limit))


def forget(rt: Runtime, terminal_id: str, key: str, scope: str | None) -> Memory:
    """Forget ``key`` in ``scope``, or (without one) in the only scope of the terminal's that has it."""
    mine = scopes_of(rt, terminal_id)
    found = store_of(rt).find_key(scopes.key(key), mine.pairs(scopes.scope(scope) if scope else None))
    if not found:
        where = f"{scope} scope" if scope else "your scopes (session, project, agent, global)"
        raise NotFound(f"no memory {key!r} in {where}; memory_recall lists what there is")
    if len(found) > 1:
        raise Conflict(f"memory {key!r} is in several scopes ({', '.join(m.scope for m in found)}): "
                       "give the scope to forget")
    memory = found[0]
    store_of(rt).delete(memory.scope, memory.scope_id, memory.key)
    return memory
