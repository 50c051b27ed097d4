"""Loading plugins (entry points ``cao.plugins``) and feeding them the server's events, isolated.

Each plugin gets its own thread with its own event loop. The server's part of an event is one
bounded hand-over (``PluginRunner.offer``: a queue put, and a wake-up when the plugin's loop sleeps)
— it never waits for a plugin.
On the plugin's thread the entry point is imported, ``setup`` is run, then the hooks, one event at a
time and in order; an async hook call is cancelled after the plugin's ``timeout``. Whatever a plugin
raises — at import, in setup, in a hook — is logged and counted, never passed on. A plugin that falls
behind (its queue is full) skips events, counted as ``skipped``. ``CAO_PLUGINS`` chooses which load:
unset loads all, ``none`` none, ``a,b`` only those.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cao.events import Event, EventBus
from cao.plugins.base import CaoPlugin, PluginContext

GROUP = "cao.plugins"
SETUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


@dataclass
class PluginInfo:
    """One plugin as ``GET /plugins`` and ``cao plugins list`` show it."""

    name: str
    target: str  # the entry point's value, module:attribute
    distribution: str | None = None
    version: str | None = None
    status: str = "starting"  # starting | running | failed | disabled | stopped
    error: str | None = None  # why it failed to load or to start
    kinds: list[str] = field(default_factory=list)
    events: int = 0  # hook calls that finished
    errors: int = 0  # hook calls that raised
    timeouts: int = 0  # async hook calls cancelled after the plugin's timeout
    skipped: int = 0  # events not given to it because its queue was full
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PluginRunner:
    """One plugin: its thread, its loop, its bounded queue and its counters."""

    def __init__(self, entry_point: Any, info: PluginInfo, context: PluginContext,
                 on_failed: Callable[[PluginRunner], None]) -> None:
        self.entry_point = entry_point
        self.info = info
        self.context = context
        self.plugin: CaoPlugin | None = None
        self.kinds: frozenset[str] | None = None  # known once loaded; until then everything is queued
        self.timeout = CaoPlugin.timeout
        self._on_failed = on_failed
        self._queue: queue.Queue[Event] = queue.Queue(CaoPlugin.queue_size)
        self._loop = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        self._asleep = False  # the plugin's loop waits (or is about to) and no one has woken it yet
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name=f"cao-plugin-{info.name}", daemon=True)

    # -- the server's side -----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def offer(self, event: Event) -> None:
        """Called by the bus for every event, on the server's loop: hand it over or skip it; never wait."""
        if self.kinds is not None and event.kind not in self.kinds:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.info.skipped += 1
            return
        if self._asleep:  # one wake-up per sleep: a plugin busy with a burst is not woken for each event
            self._asleep = False
            try:  # noqa: SIM105 (the hot path: no context manager per event)
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # its loop has ended
                pass

    def close(self) -> None:
        """The bus closes (the server stops); ``stop`` does the rest."""

    def signal_stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wake.set)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("plugin %s did not stop within %.0f s; leaving its thread behind", self.info.name, timeout)

    # -- the plugin's thread -----------------------------------------------------------------
    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # nothing of a plugin may end more than its own thread
            log.exception("plugin %s stopped unexpectedly", self.info.name)
            self._fail(f"stopped unexpectedly: {_why(exc)}")
        finally:
            self._loop.close()

    def _fail(self, why: str) -> None:
        self.info.status, self.info.error = "failed", why
        self._on_failed(self)

    async def _serve(self) -> None:
        plugin = self._load()
        if plugin is None:
            return
        plugin.context = self.context  # also when its setup does not call super().setup
        try:
            await asyncio.wait_for(plugin.setup(self.context), SETUP_TIMEOUT_S)
        except BaseException as exc:
            log.error("plugin %s: setup failed: %s", self.info.name, _why(exc))
            self._fail(f"setup failed: {_why(exc)}" if not isinstance(exc, TimeoutError)
                       else f"setup took longer than {SETUP_TIMEOUT_S:g} s")
            return
        self.info.status = "running"
        while not self._stopping:
            while not self._stopping:
                try:
                    event = self._queue.get_nowait()
                except queue.Empty:
                    break
                if event.kind in (self.kinds or ()):
                    await self._call(plugin, event)
            if not self._stopping:
                self._asleep = True
                if self._queue.empty():  # checked again: an event put before _asleep was set woke no one
                    await self._wake.wait()
                self._asleep = False
                self._wake.clear()
        self.info.skipped += self._queue.qsize()
        try:
            await asyncio.wait_for(plugin.teardown(), STOP_TIMEOUT_S)
        except BaseException as exc:
            log.warning("plugin %s: teardown failed: %s", self.info.name, _why(exc))
        self.info.status = "stopped"

    def _load(self) -> CaoPlugin | None:
        try:
            obj = self.entry_point.load()
        except BaseException as exc:
            log.error("plugin %s (%s) could not be imported: %s", self.info.name, self.info.target, _why(exc))
            self._fail(f"import failed: {_why(exc)}")
            return None
        try:
            if isinstance(obj, type) and issubclass(obj, CaoPlugin):
                plugin = obj()
            elif isinstance(obj, CaoPlugin):
                plugin = obj
            else:
                raise TypeError(f"{self.info.target} is {obj!r}, not a cao.plugins.CaoPlugin subclass")
            kinds = plugin.wanted_kinds()
            if not kinds:
                raise TypeError("it has no hooks: write on_event(event) or on_<kind>(event) methods")
            timeout, size = float(plugin.timeout), int(plugin.queue_size)
            if timeout <= 0 or size < 1:
                raise ValueError(f"timeout ({timeout}) and queue_size ({size}) must be positive")
        except BaseException as exc:
            log.error("plugin %s could not be started: %s", self.info.name, _why(exc))
            self._fail(f"not a usable plugin: {_why(exc)}")
            return None
        if size != self._queue.maxsize:
            self._queue.maxsize = size  # queue.Queue reads maxsize at every put
        self.plugin, self.timeout, self.kinds = plugin, timeout, kinds
        self.info.kinds = sorted(kinds)
        return plugin

    async def _call(self, plugin: CaoPlugin, event: Event) -> None:
        began = time.monotonic()
        try:
            result = plugin.on_event(event)
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, self.timeout)
        except TimeoutError:
            self.info.timeouts += 1
            self.info.last_error = f"{event.kind} #{event.id}: took longer than {self.timeout:g} s (cancelled)"
            log.warning("plugin %s: %s", self.info.name, self.info.last_error)
        except BaseException as exc:
            self.info.errors += 1
            self.info.last_error = f"{event.kind} #{event.id}: {_why(exc)}"
            log.warning("plugin %s failed on %s #%d", self.info.name, event.kind, event.id, exc_info=exc)
        else:
            self.info.events += 1
            if time.monotonic() - began > self.timeout:  # a plain def hook that blocked its thread
                log.warning("plugin %s took %.1f s on %s", self.info.name, time.monotonic() - began, event.kind)


def discover() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=GROUP))


def _selection(value: str | None) -> set[str] | None:
    if value is None or not value.strip():
        return None
    names = {part.strip() for part in value.split(",") if part.strip()}
    return set() if names == {"none"} else names


class PluginHost:
    """Every plugin of one server: those running (or starting) and those that could not load."""

    def __init__(self) -> None:
        self.runners: list[PluginRunner] = []
        self.infos: list[PluginInfo] = []
        self.bus: EventBus | None = None
        self._server_loop: asyncio.AbstractEventLoop | None = None

    def start(self, bus: EventBus, home: Path, *, entry_points: Iterable[Any] | None = None,
              select: str | None = None, session_of: Callable[[Event], str | None] | None = None) -> None:
        """Attach a runner per entry point to ``bus`` and start their threads (imports happen there)."""
        self.bus = bus
        self._server_loop = asyncio.get_running_loop()
        wanted = _selection(select)
        seen: set[str] = set()
        for ep in discover() if entry_points is None else entry_points:
            dist = getattr(ep, "dist", None)
            info = PluginInfo(name=ep.name, target=ep.value, distribution=getattr(dist, "name", None),
                              version=getattr(dist, "version", None))
            self.infos.append(info)
            if ep.name in seen:
                info.status, info.error = "failed", f"another plugin is already named {ep.name!r}"
                continue
            seen.add(ep.name)
            if wanted is not None and ep.name not in wanted:
                info.status, info.error = "disabled", "not named in CAO_PLUGINS"
                continue
            context = PluginContext(name=ep.name, home=home, log=logging.getLogger(f"cao.plugin.{ep.name}"),
                                    session_of=session_of or (lambda _event: None))
            runner = PluginRunner(ep, info, context, self._detach_soon)
            self.runners.append(runner)
            bus.attach(runner)
            runner.start()

    def _detach_soon(self, runner: PluginRunner) -> None:
        """A plugin failed (on its thread): stop handing it events, from the server's loop."""
        if self.bus is not None and self._server_loop is not None and not self._server_loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._server_loop.call_soon_threadsafe(self.bus.unsubscribe, runner)

    async def stop(self) -> None:
        """Detach every plugin, let each finish its current hook and run ``teardown`` (time-limited)."""
        for runner in self.runners:
            if self.bus is not None:
                self.bus.unsubscribe(runner)
            runner.signal_stop()
        deadline = time.monotonic() + STOP_TIMEOUT_S + 1

        def join_all() -> None:
            for runner in self.runners:
                runner.join(max(0.0, deadline - time.monotonic()))

        await asyncio.to_thread(join_all)

    def listing(self) -> list[dict[str, Any]]:
        return [info.as_dict() for info in self.infos]
