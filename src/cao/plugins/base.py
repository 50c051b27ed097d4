"""The plugin base class: what a plugin writes, and what cao hands it.

A plugin observes the server's event bus (``cao.events.KINDS``); it cannot change or veto what
happened. Subclass ``CaoPlugin`` and write either ``on_event(event)`` (every kind it subscribes to)
or per-kind hooks named ``on_<kind with dots as underscores>``::

    class Notify(CaoPlugin):
        async def on_terminal_status(self, event):      # kind "terminal.status"
            if event.data["status"] == "waiting_user_answer":
                ...
        async def on_flow_run_finished(self, event):    # kind "flow.run.finished"
            ...

Without ``kinds`` a plugin receives just the kinds it has hooks for (all of them when it overrides
``on_event``). Hooks may be ``async def`` (time-limited by ``timeout``) or plain ``def`` functions;
either runs on the plugin's own thread and event loop, never on the server's, so a slow or blocking
plugin delays only itself.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cao.events import KINDS, Event

Hook = Callable[[Event], "Awaitable[None] | None"]


def hook_name(kind: str) -> str:
    """``terminal.status`` → ``on_terminal_status``."""
    return "on_" + kind.replace(".", "_")


@dataclass
class PluginContext:
    """What a plugin gets at ``setup``: its name, cao's home, a logger, and a session lookup."""

    name: str
    home: Path
    log: logging.Logger
    session_of: Callable[[Event], str | None] = field(default=lambda _event: None)


class CaoPlugin:
    """Base class of a cao plugin (entry point group ``cao.plugins``).

    Class attributes a plugin may set:

    - ``kinds``: the event kinds to receive (a set of ``cao.events.KINDS``); None means "the kinds I
      have hooks for".
    - ``timeout``: seconds one async hook call may take before it is cancelled (and counted).
    - ``queue_size``: events waiting for this plugin at most; beyond it new events are skipped for it
      (and counted), the server never waits.
    """

    kinds: frozenset[str] | set[str] | None = None
    timeout: float = 5.0
    queue_size: int = 1000

    context: PluginContext

    async def setup(self, context: PluginContext) -> None:
        """Called once on the plugin's thread before any event; raise to refuse to run (say why)."""
        self.context = context

    async def teardown(self) -> None:
        """Called once when the server stops."""

    async def on_event(self, event: Event) -> None:
        """One event. The default calls the per-kind hook ``on_<kind>``, if the plugin has one."""
        method = getattr(self, hook_name(event.kind), None)
        if method is not None:
            result = method(event)
            if inspect.isawaitable(result):
                await result

    # -- used by the host -------------------------------------------------------------------
    def wanted_kinds(self) -> frozenset[str]:
        """The kinds this plugin is given: ``kinds``, else those it has hooks for (all if it overrides on_event)."""
        if self.kinds is not None:
            wanted = frozenset(self.kinds)
            if unknown := wanted - KINDS:
                raise ValueError(f"unknown event kind(s) in kinds: {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(sorted(KINDS))}")
            return wanted
        if type(self).on_event is not CaoPlugin.on_event:
            return KINDS
        return frozenset(kind for kind in KINDS if callable(getattr(self, hook_name(kind), None)))


def describe(obj: Any) -> str:
    """``module:qualname`` of a plugin class, for listings."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"
