"""Everything the services share, created once per server process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import sqlalchemy as sa

from cao.engine import StatusEngine
from cao.events import EventBus
from cao.settings import Settings
from cao.store import make_engine
from cao.tmux import TmuxBackend


@dataclass
class Runtime:
    settings: Settings
    db: sa.Engine
    tmux: TmuxBackend
    bus: EventBus
    engine: StatusEngine
    # Terminal creation holds this so two requests cannot create the same session at once.
    create_lock: asyncio.Lock

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        settings.ensure_dirs()
        tmux = TmuxBackend(settings.tmux_socket)
        bus = EventBus()
        return cls(
            settings=settings,
            db=make_engine(settings),
            tmux=tmux,
            bus=bus,
            engine=StatusEngine(tmux, bus, settings.run_dir / "fifos"),
            create_lock=asyncio.Lock(),
        )
