"""Terminals: create an agent in a tmux window, talk to it, read it, remove it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import secrets
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from cao import validation
from cao.errors import AgentTimeout, CaoError, Conflict, NotFound
from cao.models import SessionRecord, Terminal, TerminalRecord, utcnow
from cao.monitor import TerminalMonitor
from cao.private_files import copy_private, write_private
from cao.profiles import load_profile, resolve_allowed_tools
from cao.providers import DEFAULT_PROVIDER, LaunchContext, get_provider
from cao.services import identity, prompt_parts, snapshots
from cao.services.environment import agent_environment, env_argv
from cao.services.runtime import Runtime
from cao.services.skills import catalog as skill_catalog
from cao.status import Status
from cao.store import open_session
from cao.teams import policy as team_policy
from cao.tmux import WINDOW_SIZE

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 60.0
MCP_READY_TIMEOUT_S = 30.0
DIALOG_TIMEOUT_S = 5.0


def get_record(rt: Runtime, terminal_id: str) -> TerminalRecord:
    validation.terminal_id(terminal_id)
    record = rt.registry.terminals.get(terminal_id)  # the store, in memory (services/registry.py)
    if record is None:
        raise NotFound(f"terminal {terminal_id} not found")
    return record


def list_records(rt: Runtime, session_name: str | None = None) -> list[TerminalRecord]:
    return rt.registry.terminals_of(session_name)


def to_public(rt: Runtime, record: TerminalRecord) -> Terminal:
    monitor = rt.engine.monitors.get(record.id)
    status = monitor.status if monitor else Status(record.status)
    return Terminal(
        id=record.id, name=record.window_name, session_name=record.session_name, provider=record.provider,
        agent_profile=record.agent_profile, working_directory=record.working_directory, status=status,
        exit_reason=monitor.exit_reason if monitor else record.exit_reason, caller_id=record.caller_id,
        allowed_tools=record.allowed_tools, model=record.model,
        turn=monitor.turn if monitor else 0, turns_finished=monitor.turns_finished if monitor else 0,
        last_turn_interrupted=monitor.turn_interrupted if monitor else False,
        created_at=record.created_at, last_active=record.last_active, status_changed_at=record.status_changed_at,
    )


def persist_status(rt: Runtime, monitor: TerminalMonitor, _previous: Status) -> None:
    rt.registry.write_behind(monitor.terminal_id, status=monitor.status.value, exit_reason=monitor.exit_reason,
                             status_changed_at=utcnow())  # one transaction for many (services/registry.py)


def _new_terminal_id(rt: Runtime) -> str:
    while True:
        candidate = secrets.token_hex(4)
        with open_session(rt.db) as db:
            if db.get(TerminalRecord, candidate) is None:
                return candidate


async def create_terminal(
    rt: Runtime, *, session_name: str, new_session: bool, agent_profile: str, provider: str | None = None,
    default_provider: str = DEFAULT_PROVIDER,
    working_directory: str | None = None, env: dict[str, str] | None = None, model: str | None = None,
    yolo: bool = False, caller_id: str | None = None, allowed_tools: list[str] | None = None,
    wait: bool = True, on_start_failure: Callable[[TerminalRecord, Exception], Awaitable[None]] | None = None,
) -> TerminalRecord:
    """Start an agent in a new window and (unless ``wait`` is false) wait until it is ready.

    A failure leaves nothing behind. With ``wait=False`` the record is returned as soon as the
    window exists; a failure to start is then reported to ``on_start_failure``.
    """
    session_name = validation.session_name(session_name)
    validation.name(agent_profile, "agent profile name")
    env = validation.env_vars(env)
    if caller_id is not None:
        validation.terminal_id(caller_id)
    # A member of the team the session runs (cao launch team.yaml) comes first, then installed profiles.
    profile = team_policy.member_profile(rt, session_name, agent_profile) or load_profile(agent_profile,
                                                                                          rt.settings.home)
    prov = get_provider(provider or profile.provider or default_provider)
    prov.resolve_binary()
    await asyncio.to_thread(rt.tmux.check)
    # yolo only skips the CLI's permission prompts: the profile's restrictions stay (each provider keeps both).
    tools = allowed_tools or resolve_allowed_tools(profile)

    async with rt.create_lock:
        existing = await asyncio.to_thread(rt.tmux.list_sessions)
        with open_session(rt.db) as db:
            session = db.get(SessionRecord, session_name)
        if new_session:
            if session_name in existing or session is not None:
                raise Conflict(f"session {session_name} already exists; pick another --session-name "
                               f"or remove it with: cao shutdown --session {session_name}")
            cwd = validation.working_directory(working_directory)
            team = team_policy.pending(rt).get(session_name)
            session = SessionRecord(name=session_name, working_directory=str(cwd), env_json=json.dumps(env),
                                    team_json=team.to_json() if team else None)
        else:
            if session_name not in existing or session is None:
                raise NotFound(f"session {session_name} not found")
            cwd = validation.working_directory(working_directory or session.working_directory)
        terminal_id = _new_terminal_id(rt)
        window = f"{profile.name}-{secrets.token_hex(2)}"[-64:]
        runtime_dir = rt.settings.run_dir / terminal_id
        token = identity.new_token()
        ctx = LaunchContext(terminal_id=terminal_id, working_directory=cwd, runtime_dir=runtime_dir,
                            profile=profile, model=model or profile.model, allowed_tools=tuple(tools),
                            yolo=yolo, api_url=rt.settings.api_url, mcp_token=token,
                            prompt_parts=prompt_parts.compose(prompt_parts.Starting(
                                rt, terminal_id, session_name, profile, prov.name, cwd, caller_id)),
                            skills=skill_catalog.native_folders(rt.settings.home, profile, prov))
        spec = prov.build_launch(ctx)
        environment = agent_environment(
            terminal_id=terminal_id, api_url=rt.settings.api_url, term=rt.tmux.default_terminal(),
            session_env={**session.env, **env}, provider_env=spec.env, passthrough=prov.env_passthrough)
        record = TerminalRecord(
            id=terminal_id, session_name=session_name, window_name=window, provider=prov.name,
            agent_profile=profile.name, working_directory=str(cwd), caller_id=caller_id,
            allowed_tools_json=json.dumps(tools), model=ctx.model, mcp_token=token)
        monitor = None
        try:
            rt.identities.add_terminal(terminal_id, token)
            await asyncio.to_thread(_write_files, runtime_dir, spec.files, spec.copies)  # skills: many files
            monitor = rt.engine.open(terminal_id, prov, WINDOW_SIZE)
            monitor.needs_mcp = spec.uses_cao_mcp
            monitor.pane_id, pid = await asyncio.to_thread(
                rt.tmux.create_window, session=session_name, window=window, cwd=cwd,
                argv=[*env_argv(environment), *spec.argv], fifo=monitor.fifo, new_session=new_session)
            if pid:
                rt.engine.watch_pid(monitor, pid)
            with open_session(rt.db) as db:
                if new_session:
                    session.conductor_id = terminal_id
                    db.add(session)
                db.add(record)
                db.commit()
        except BaseException:
            await _discard(rt, terminal_id, monitor, session_name if new_session else None, runtime_dir)
            raise
    if new_session:
        rt.bus.publish("session.created", session=session_name, working_directory=str(cwd))
    rt.bus.publish("terminal.created", terminal_id=terminal_id, session=session_name, provider=prov.name,
                   profile=profile.name, caller_id=caller_id)

    async def watch_start() -> None:
        try:
            await _wait_until_started(rt, monitor)
        except BaseException as exc:
            await _discard(rt, terminal_id, monitor, session_name if new_session else None, runtime_dir)
            rt.bus.publish("terminal.removed", terminal_id=terminal_id, session=session_name,
                           reason=f"did not start: {exc}")
            if new_session:
                rt.bus.publish("session.removed", session=session_name)
            if wait or on_start_failure is None or not isinstance(exc, Exception):
                raise
            await on_start_failure(record, exc)

    if wait:
        await watch_start()
        return get_record(rt, terminal_id)
    rt.background(watch_start())
    return record


def _write_files(runtime_dir: Path, files: dict[Path, str], copies: dict[Path, Path] | None = None) -> None:
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path, content in files.items():
        write_private(path, content)  # they may hold the terminal's token: never readable by others
    for target, source in (copies or {}).items():
        copy_private(source, target)


async def _wait_until_started(rt: Runtime, monitor: TerminalMonitor) -> None:
    """Wait until the agent shows a readable state, answering the startup dialogs cao knows.

    An agent that uses cao's MCP server is ready only once its MCP client has listed cao's tools
    (some CLIs draw their prompt first and connect MCP servers afterwards).
    """
    answered: set[str] = set()
    deadline = rt.engine.loop.time() + READY_TIMEOUT_S
    while True:
        def started(m: TerminalMonitor) -> bool:
            return m.status is not Status.UNKNOWN or m.exit_reason is not None

        await rt.engine.wait(monitor, started, min(1.0, max(0.0, deadline - rt.engine.loop.time())))
        if monitor.exit_reason:
            screen = "\n".join(line for line in monitor.screen.rows() if line)[-600:]
            raise CaoError(f"the agent stopped while starting ({monitor.exit_reason}); its screen:\n{screen}")
        if await _answer_startup_dialog(rt, monitor, answered):
            continue
        if monitor.status is not Status.UNKNOWN:
            break
        if rt.engine.loop.time() >= deadline:
            raise AgentTimeout(f"the agent did not become ready within {READY_TIMEOUT_S:.0f}s")
        await rt.engine.reconcile()
    if monitor.needs_mcp and monitor.status.ready and not await rt.engine.wait(
            monitor, lambda m: m.mcp_ready or m.exit_reason is not None, MCP_READY_TIMEOUT_S):
        log.warning("terminal %s: its MCP client did not list cao's tools within %ss",
                    monitor.terminal_id, MCP_READY_TIMEOUT_S)


async def _answer_startup_dialog(rt: Runtime, monitor: TerminalMonitor, answered: set[str]) -> bool:
    """Answer one known startup dialog on screen (once each); wait until it is gone."""
    text = "\n".join(monitor.screen.rows())
    for dialog in monitor.provider.startup_dialogs:
        if dialog.pattern.pattern in answered or not dialog.pattern.search(text):
            continue
        answered.add(dialog.pattern.pattern)
        await asyncio.to_thread(rt.tmux.send_keys, monitor.pane_id, *dialog.keys)
        await rt.engine.wait(monitor, functools.partial(_dialog_gone, dialog.pattern), DIALOG_TIMEOUT_S)
        return True
    return False


def _dialog_gone(pattern: re.Pattern[str], monitor: TerminalMonitor) -> bool:
    return monitor.exit_reason is not None or not pattern.search("\n".join(monitor.screen.rows()))


async def _discard(rt: Runtime, terminal_id: str, monitor: TerminalMonitor | None, new_session: str | None,
                   runtime_dir: Path) -> None:
    rt.identities.remove_terminal(terminal_id)
    rt.engine.close(terminal_id)
    if new_session:
        await asyncio.to_thread(rt.tmux.kill_session, new_session)
    elif monitor is not None and monitor.pane_id:
        await asyncio.to_thread(rt.tmux.kill_window, monitor.pane_id)
    with open_session(rt.db) as db:
        for model, key in ((TerminalRecord, terminal_id), (SessionRecord, new_session)):
            row = db.get(model, key) if key else None
            if row is not None:
                db.delete(row)
        db.commit()
    shutil.rmtree(runtime_dir, ignore_errors=True)


def live_monitor(rt: Runtime, terminal_id: str) -> TerminalMonitor:
    record = get_record(rt, terminal_id)
    monitor = rt.engine.monitors.get(terminal_id)
    if monitor is None or monitor.pane_id is None:
        raise Conflict(f"terminal {terminal_id} is not running ({record.exit_reason or 'not tracked'})")
    if monitor.exit_reason:
        raise Conflict(f"terminal {terminal_id} is not running: {monitor.exit_reason}")
    return monitor


def _touch(rt: Runtime, terminal_id: str) -> None:
    rt.registry.write_behind(terminal_id, last_active=utcnow())


async def send_input(rt: Runtime, terminal_id: str, message: str, *, new_turn: bool = True) -> int:
    """Paste ``message`` into the agent and submit it. Returns the turn number it starts."""
    validation.message(message)
    monitor = live_monitor(rt, terminal_id)
    refuse_if_asking(monitor)
    provider = monitor.provider
    await monitor.input_lock.acquire()
    try:
        turn = rt.engine.begin_turn(monitor) if new_turn else monitor.turn
        immediate_enter = provider.enter_delay <= 0
        await asyncio.to_thread(rt.tmux.paste, monitor.pane_id, validation.typeable(message),
                                bracketed=provider.bracketed_paste,
                                enter=immediate_enter)
    except BaseException:
        monitor.input_lock.release()
        raise
    if immediate_enter:
        monitor.input_lock.release()
    else:
        rt.engine.loop.create_task(_press_enter_later(rt, monitor, provider.enter_delay))
    _touch(rt, terminal_id)
    return turn


def refuse_if_asking(monitor: TerminalMonitor) -> None:
    """Text typed into an open dialog would answer it (an Enter picks the highlighted choice): never do that."""
    if monitor.status is not Status.WAITING_USER_ANSWER:
        return
    question = " / ".join(row.strip() for row in monitor.screen.rows() if row.strip())[-300:]
    raise Conflict(f"terminal {monitor.terminal_id} is waiting for an answer, so nothing is typed into it: "
                   f"…{question}. Answer it yourself (cao terminal answer {monitor.terminal_id} KEY..., "
                   "or in its tmux window), then send again")


async def _press_enter_later(rt: Runtime, monitor: TerminalMonitor, delay: float) -> None:
    try:
        await asyncio.sleep(delay)
        await asyncio.to_thread(rt.tmux.send_keys, monitor.pane_id, "Enter")
    except CaoError:
        log.warning("could not press Enter", extra={"terminal_id": monitor.terminal_id})
    finally:
        monitor.input_lock.release()


async def send_key(rt: Runtime, terminal_id: str, key: str, *, until_drawn: bool = False) -> None:
    """Press ``key``. ``until_drawn``: return only once the CLI has drawn its response (or 0.5 s
    passed), so what is read or typed next meets the screen the key made — a message typed right
    after ``C-u`` must not see the redraw of the cleared box as its answer."""
    validation.key(key)
    monitor = live_monitor(rt, terminal_id)
    if key in monitor.provider.interrupt_keys and monitor.status in (Status.PROCESSING, Status.WAITING_USER_ANSWER):
        monitor.interrupting = True  # the CLI's own interrupt key, pressed by hand: read the turn's end so
    async with monitor.input_lock:
        pressed = rt.engine.loop.time()
        await asyncio.to_thread(rt.tmux.send_keys, monitor.pane_id, key)
        if until_drawn:
            await rt.engine.drawn(monitor, pressed)
    _touch(rt, terminal_id)


async def exit_terminal(rt: Runtime, terminal_id: str) -> None:
    monitor = live_monitor(rt, terminal_id)
    await send_input(rt, terminal_id, monitor.provider.exit_command, new_turn=False)


async def get_output(rt: Runtime, terminal_id: str, mode: str) -> str:
    """The pane's text (``full``) or the agent's last reply (``last``); secrets masked for a team member with
    ``redact_secrets`` (the live pane itself is the CLI's)."""
    record = get_record(rt, terminal_id)
    text = await _output(rt, record, mode)
    return team_policy.redact(rt, record.session_name, text, record.agent_profile)


async def _output(rt: Runtime, record: TerminalRecord, mode: str) -> str:
    terminal_id = record.id
    monitor = rt.engine.monitors.get(terminal_id)
    if monitor is None or monitor.pane_id is None:
        raise Conflict(f"terminal {terminal_id} is not running ({record.exit_reason or 'not tracked'})")
    text = await asyncio.to_thread(rt.tmux.capture, monitor.pane_id, history=True)
    if mode == "full":
        return text
    if monitor.turn_interrupted:  # the reply on screen, if any, answered an earlier turn
        raise NotFound(f"terminal {terminal_id} was interrupted in turn {monitor.turns_finished} before it replied")
    lines = text.splitlines()
    reply = monitor.provider.extract_last_reply(lines)
    if reply is None:
        raise NotFound(f"terminal {terminal_id} has not replied yet")
    recorded = await asyncio.to_thread(monitor.provider.recorded_reply, rt.settings.run_dir / terminal_id, lines, reply)
    return reply if recorded is None else recorded


async def wait_terminal(rt: Runtime, terminal_id: str, *, turn: int | None, statuses: set[Status],
                        timeout: float) -> Terminal:
    """Wait until turn ``turn`` has finished, or until the status is one of ``statuses``."""
    record = get_record(rt, terminal_id)
    monitor = rt.engine.monitors.get(terminal_id)
    if monitor is None:
        return to_public(rt, record)

    def done(m: TerminalMonitor) -> bool:
        if m.exit_reason:
            return True
        if turn is not None:  # error and waiting_user_answer end a started turn too
            return m.turns_finished >= turn
        return m.status in statuses or m.status in (Status.ERROR, Status.WAITING_USER_ANSWER)

    if not await rt.engine.wait(monitor, done, timeout) and not done(monitor):
        raise AgentTimeout(f"terminal {terminal_id} is still {monitor.status.value} after {timeout:g}s")
    return to_public(rt, record)


async def delete_terminal(rt: Runtime, terminal_id: str) -> None:
    """Save the terminal's scrollback and metadata, then remove its window and record."""
    record = get_record(rt, terminal_id)
    monitor = rt.engine.monitors.get(terminal_id)
    if monitor is not None and monitor.pane_id:
        with contextlib.suppress(CaoError):
            text = await asyncio.to_thread(rt.tmux.capture, monitor.pane_id, history=True)
            snapshots.save(rt, record, text)
    rt.identities.remove_terminal(terminal_id)
    rt.engine.close(terminal_id)
    if monitor is not None and monitor.pane_id:
        await asyncio.to_thread(rt.tmux.kill_window, monitor.pane_id)
    with open_session(rt.db) as db:
        row = db.get(TerminalRecord, terminal_id)
        if row is not None:
            db.delete(row)
        db.commit()
    shutil.rmtree(rt.settings.run_dir / terminal_id, ignore_errors=True)
    rt.bus.publish("terminal.removed", terminal_id=terminal_id, session=record.session_name)
