"""What agents remember: list, show, forget, clear (the owner's; agents use the MCP tools)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from cao.errors import Conflict, InvalidInput, NotFound
from cao.server.deps import RuntimeDep
from cao.services.memory import scopes, service
from cao.services.memory.records import Memory

router = APIRouter(prefix="/memory", tags=["memory"])
Key = Annotated[str, Path(description="the memory's key")]
Scope = Annotated[str | None, Query(description="session, project, agent or global")]
ScopeId = Annotated[str | None, Query(max_length=1000, description="the project id, session name or profile name")]


class Forgotten(BaseModel):
    success: bool = True
    deleted: int
    memories: list[Memory] = []


@router.get("")
async def list_memories(rt: RuntimeDep, scope: Scope = None, scope_id: ScopeId = None,
                        limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[Memory]:
    """Memories, most recently updated first."""
    return service.store_of(rt).latest(scope, scope_id, limit)


@router.delete("")
async def clear_memories(rt: RuntimeDep, scope: Scope = None, scope_id: ScopeId = None) -> Forgotten:
    """Forget every memory of a scope (of one project, session or agent with ``scope_id``)."""
    if scope is None:
        raise InvalidInput("give the scope to clear (scope=session|project|agent|global)")
    return Forgotten(deleted=service.store_of(rt).clear(scope, scope_id))


def _matching(rt: RuntimeDep, key: str, scope: str | None, scope_id: str | None) -> list[Memory]:
    if scope is not None:
        scopes.scope(scope)
    found = [m for m in service.store_of(rt).find_key(key)
             if (scope is None or m.scope == scope) and (scope_id is None or m.scope_id == scope_id)]
    if not found:
        where = "".join(f" {name}={value!r}" for name, value in (("scope", scope), ("scope_id", scope_id)) if value)
        raise NotFound(f"no memory {key!r}{' with' + where if where else ''}; `cao memory list` shows them")
    return found


@router.get("/{key}")
async def show_memory(rt: RuntimeDep, key: Key, scope: Scope = None, scope_id: ScopeId = None) -> list[Memory]:
    """Every memory with this key (a key can be in several scopes and projects)."""
    return _matching(rt, key, scope, scope_id)


@router.delete("/{key}")
async def forget_memory(rt: RuntimeDep, key: Key, scope: Scope = None, scope_id: ScopeId = None) -> Forgotten:
    """Forget the memory with this key; when several have it, ``scope`` (and ``scope_id``) say which."""
    found = _matching(rt, key, scope, scope_id)
    if len(found) > 1:
        raise Conflict(f"{len(found)} memories have the key {key!r} (" + ", ".join(
            f"{m.scope} {m.scope_id!r}" if m.scope_id else m.scope for m in found)
            + "): give --scope (and --scope-id) to choose one")
    memory = found[0]
    service.store_of(rt).delete(memory.scope, memory.scope_id, memory.key)
    return Forgotten(deleted=1, memories=found)
