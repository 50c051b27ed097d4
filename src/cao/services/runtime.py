"""Everything the services share, created once per server process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from cao.engine import StatusEngine
from cao.errors import TmuxError
from cao.events import EventBus
from cao.private_files import precreate_private
from cao.services.identity import Identities
from cao.services.registry import Registry
from cao.settings import Settings
from cao.store import make_engine
from cao.tmux import TmuxBackend

if TYPE_CHECKING:
    from cao.services.flows.service import Flows
    from cao.services.inbox import Inbox

log = logging.getLogger(__name__)
TMUX_THREADS = 64


@dataclass
class Runtime:
    settings: Settings
    db: sa.Engine
    tmux: TmuxBackend
    bus: EventBus
    engine: StatusEngine
    # Terminal creation holds this so two requests cannot create the same session at once.
    create_lock: asyncio.Lock
    identities: Identities
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    registry: Registry = field(init=False)  # the store's sessions and terminals, in memory
    # The services built on the runtime, set by whoever assembles them (cao/server/app.py): they import
    # this module, so it must not import them.
    inbox: Inbox = field(init=False)
    flows: Flows = field(init=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.db)
        self.engine.observers.append(self.registry)
        self.engine.listeners.append(self.registry.invalidate)

    def background(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` in the background, keeping a reference until it ends; log its failure."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    @classmethod
    def start(cls, settings: Settings, identities: Identities) -> Runtime:
        settings.ensure_dirs()
        if settings.effective_database_url.startswith("sqlite:///"):
            precreate_private(Path(settings.effective_database_url.removeprefix("sqlite:///")))
        # tmux runs happen in threads (asyncio.to_thread): enough of them that inputs to different
        # terminals never queue behind one another (the default pool has cores + 4 = 6 here).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=TMUX_THREADS, thread_name_prefix="cao-tmux"))
        tmux = TmuxBackend(settings.tmux_socket)
        with contextlib.suppress(TmuxError):
            tmux.check()  # read tmux's version once, so /health never runs tmux
        bus = EventBus()
        return cls(
            settings=settings,
            db=make_engine(settings),
            tmux=tmux,
            bus=bus,
            engine=StatusEngine(tmux, bus, settings.run_dir / "fifos"),
            create_lock=asyncio.Lock(),
            identities=identities,
        )
