"""Everything the services share, created once per server process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from cao.engine import StatusEngine
from cao.events import EventBus
from cao.private_files import precreate_private
from cao.services.identity import Identities
from cao.settings import Settings
from cao.store import make_engine
from cao.tmux import TmuxBackend

if TYPE_CHECKING:
    from cao.services.inbox import Inbox

log = logging.getLogger(__name__)


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
    inbox: Inbox = field(init=False)

    def __post_init__(self) -> None:
        from cao.services.inbox import Inbox

        self.inbox = Inbox(self)

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
        tmux = TmuxBackend(settings.tmux_socket)
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
