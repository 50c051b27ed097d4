"""Sessions: a tmux session ``cao-<name>`` holding one window per terminal."""

from __future__ import annotations

import asyncio

from pydantic import TypeAdapter
from sqlmodel import col, select

from cao import validation
from cao.errors import AgentTimeout, NotFound
from cao.models import (
    DeleteResult,
    InboxMessageRecord,
    SessionDetail,
    SessionRecord,
    SessionSummary,
    Terminal,
    TreeNode,
)
from cao.services import terminals
from cao.services.runtime import Runtime
from cao.status import Status
from cao.store import open_session


def _summary(rt: Runtime, name: str) -> SessionSummary:
    record = rt.registry.sessions.get(name)
    members = rt.registry.terminals_of(name)
    conductor = next((t for t in members if record and t.id == record.conductor_id),
                     members[0] if members else None)
    monitor = rt.engine.monitors.get(conductor.id) if conductor else None
    return SessionSummary(
        id=name, name=name, status="active" if rt.registry.tmux_sessions.get(name) else "detached",
        working_directory=record.working_directory if record else None,
        agent_profile=conductor.agent_profile if conductor else None,
        conductor_id=conductor.id if conductor else None, terminals=len(members),
        conductor_status=(monitor.status if monitor else Status(conductor.status)) if conductor else None,
    )


_SUMMARIES = TypeAdapter(list[SessionSummary])


def _summaries(rt: Runtime) -> list[SessionSummary]:
    return [_summary(rt, name) for name in rt.registry.session_names()
            if name.startswith(validation.SESSION_PREFIX)]


async def list_sessions(rt: Runtime) -> list[SessionSummary]:
    """Served from memory (services/registry.py): no tmux subprocess, no query per session."""
    return _summaries(rt)


async def list_sessions_json(rt: Runtime) -> bytes:
    """``list_sessions`` as JSON, rendered once per change of anything it shows."""
    return rt.registry.rendered("sessions", lambda: _SUMMARIES.dump_json(_summaries(rt)))


def _known(rt: Runtime, name: str) -> str:
    name = validation.session_name(name)
    if name not in rt.registry.tmux_sessions and name not in rt.registry.sessions:
        raise NotFound(f"session {name} not found")
    return name


async def get_session(rt: Runtime, name: str) -> SessionDetail:
    name = _known(rt, name)
    terminal_list = [terminals.to_public(rt, r) for r in terminals.list_records(rt, name)]
    return SessionDetail(session=_summary(rt, name), terminals=terminal_list, tree=build_tree(terminal_list))


def build_tree(terminal_list: list[Terminal]) -> list[TreeNode]:
    nodes = {t.id: TreeNode(id=t.id, agent_profile=t.agent_profile, status=t.status) for t in terminal_list}
    roots = []
    for t in terminal_list:
        parent = nodes.get(t.caller_id or "")
        (parent.children if parent else roots).append(nodes[t.id])
    return roots


async def delete_session(rt: Runtime, name: str) -> DeleteResult:
    name = _known(rt, name)
    errors = []
    for terminal in terminals.list_records(rt, name):
        try:
            await terminals.delete_terminal(rt, terminal.id)
        except Exception as exc:  # keep going: the session must still be removed
            errors.append(f"{terminal.id}: {exc}")
    await asyncio.to_thread(rt.tmux.kill_session, name)
    with open_session(rt.db) as db:
        row = db.get(SessionRecord, name)
        if row is not None:
            db.delete(row)
            db.commit()
    rt.bus.publish("session.removed", session=name)
    return DeleteResult(success=not errors, deleted=[name], errors=errors)


QUIET_POLL_S = 0.1
QUIET_CONFIRM_S = 0.3


def _is_quiet(rt: Runtime, name: str) -> bool:
    ids = [r.id for r in terminals.list_records(rt, name)]
    for terminal_id in ids:
        monitor = rt.engine.monitors.get(terminal_id)
        if monitor is None or monitor.exit_reason:
            continue
        if not monitor.status.settled or monitor.turns_finished < monitor.turn or monitor.input_lock.locked():
            return False
        if terminal_id in rt.inbox.in_flight:
            return False
    with open_session(rt.db) as db:
        pending = db.exec(select(InboxMessageRecord.id).where(
            InboxMessageRecord.status == "pending", col(InboxMessageRecord.receiver_id).in_(ids))).first()
    return pending is None


async def wait_quiet(rt: Runtime, name: str, timeout: float) -> SessionDetail:
    """Wait until no agent in the session is working and no message to any of them is pending."""
    name = validation.session_name(name)
    await get_session(rt, name)
    deadline = rt.engine.loop.time() + timeout
    quiet_since: float | None = None
    while True:
        now = rt.engine.loop.time()
        if _is_quiet(rt, name):
            quiet_since = quiet_since if quiet_since is not None else now
            if now - quiet_since >= QUIET_CONFIRM_S:
                return await get_session(rt, name)
        else:
            quiet_since = None
        if now >= deadline:
            raise AgentTimeout(f"session {name} is still busy after {timeout:g}s")
        await asyncio.sleep(QUIET_POLL_S)
