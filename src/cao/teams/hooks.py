"""Team hooks cao runs itself, from what it sees of each member's terminal (on the event bus):

``session_start`` (the terminal started), ``session_end`` (it was removed), ``on_user_input`` (a turn
began: input was submitted, by a person, cao or another agent), ``stop`` (a turn completed),
``notification`` (the agent waits for a person's answer).

A hook is a program with arguments, never a shell string; it gets the event as one JSON object on
stdin, runs in the terminal's working directory, and is killed after its timeout. Each run is
published as a ``team.hook`` event (``ok``, ``exit_code``, ``error``, the end of its output); a failure
is also logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

from cao import secrets
from cao.events import Event
from cao.services.runtime import Runtime
from cao.teams import policy

log = logging.getLogger(__name__)
OUTPUT_TAIL = 2000
_STATUS_EVENTS = {"completed": "stop", "waiting_user_answer": "notification", "processing": "on_user_input"}


async def run(rt: Runtime) -> None:
    """Follow the bus for the server's life, running the hooks of team members."""
    sub = rt.bus.subscribe({"terminal.created", "terminal.removed", "terminal.status"})
    known: dict[str, tuple[str, str, str]] = {}  # terminal id → (session, agent, working directory)
    plain: set[str] = set()  # terminals of no team member (no hooks): not looked up again
    try:
        while (event := await sub.next()) is not None:
            for hook_event, terminal_id in _hook_events(event):
                where = known.get(terminal_id) or (None if terminal_id in plain else _where(rt, terminal_id))
                if where is None:
                    plain.add(terminal_id)
                    continue
                known[terminal_id] = where
                _start(rt, hook_event, terminal_id, where, event)
                if hook_event == "session_end":
                    known.pop(terminal_id, None)
    finally:
        rt.bus.unsubscribe(sub)


def _hook_events(event: Event) -> list[tuple[str, str]]:
    terminal_id = event.data.get("terminal_id")
    if not terminal_id:
        return []
    if event.kind == "terminal.created":
        return [("session_start", terminal_id)]
    if event.kind == "terminal.removed":
        return [("session_end", terminal_id)]
    hook_event = _STATUS_EVENTS.get(event.data.get("status", ""))
    if hook_event == "on_user_input" and event.data.get("previous") == "processing":
        return []
    return [(hook_event, terminal_id)] if hook_event else []


def _where(rt: Runtime, terminal_id: str) -> tuple[str, str, str] | None:
    record = rt.registry.terminals.get(terminal_id)
    if record is None or policy.member_of(rt, record.session_name, record.agent_profile) is None:
        return None
    return record.session_name, record.agent_profile or "", record.working_directory


def _start(rt: Runtime, hook_event: str, terminal_id: str, where: tuple[str, str, str], event: Event) -> None:
    session, agent, cwd = where
    found = policy.member_of(rt, session, agent)
    if found is None:
        return
    payload = {"hook_event_name": hook_event, "session": session, "agent_name": agent, "terminal_id": terminal_id,
               "cwd": cwd, "status": event.data.get("status"), "time": event.time}
    for hook in found[1].hooks.get(hook_event, []):
        rt.background(run_hook(rt, hook, payload))


async def run_hook(rt: Runtime, hook: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Run one hook; publish and return its outcome."""
    argv, timeout = hook["argv"], float(hook["timeout"])
    env = {**os.environ, **hook.get("env", {}), "CAO_HOOK_EVENT": payload["hook_event_name"],
           "CAO_TERMINAL_ID": payload["terminal_id"]}
    outcome: dict[str, Any] = {"ok": False, "exit_code": None, "error": None, "output": ""}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=payload["cwd"] if os.path.isdir(payload["cwd"]) else None, env=env, start_new_session=True)
    except OSError as exc:
        outcome["error"] = f"cannot run {argv[0]}: {exc.strerror or exc}"
    else:
        try:
            out, _ = await asyncio.wait_for(proc.communicate(json.dumps(payload).encode()), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            await proc.wait()
            outcome["error"] = f"timed out after {timeout:g}s and was killed"
        else:
            text = out.decode(errors="replace")
            outcome.update(exit_code=proc.returncode, ok=proc.returncode == 0, output=secrets.mask(text[-OUTPUT_TAIL:]))
            if proc.returncode != 0:
                outcome["error"] = f"exited with code {proc.returncode}"
    if not outcome["ok"]:
        log.warning("team hook %s (%s) of %s failed: %s", payload["hook_event_name"], argv[0], payload["agent_name"],
                    outcome["error"])
    rt.bus.publish("team.hook", session=payload["session"], terminal_id=payload["terminal_id"],
                   agent=payload["agent_name"], hook_event=payload["hook_event_name"], command=argv, **outcome)
    return outcome
