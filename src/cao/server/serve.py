"""uvicorn's server, told to end the event streams when asked to stop."""

from __future__ import annotations

from types import FrameType

import uvicorn


class Server(uvicorn.Server):
    """uvicorn waits for every open response to finish before it stops, and an event stream never
    finishes by itself: a stop request ends the streams first (from the signal handler, thread-safely)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        runtime = getattr(self.config.app.state, "runtime", None)
        if runtime is not None:
            runtime.engine.loop.call_soon_threadsafe(runtime.bus.close)
