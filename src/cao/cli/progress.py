"""Waiting for an agent: a spinner with the current status on a terminal, silence when piped."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from types import TracebackType

from cao import errors
from cao.cli.common import attach_command
from cao.client import ApiClient

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Spinner:
    def __init__(self, label: str) -> None:
        self.label = label
        self.status = "starting"
        self.enabled = sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Spinner:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()

    def _run(self) -> None:
        started = time.monotonic()
        for frame in itertools.cycle(FRAMES):
            if self._stop.wait(0.1):
                return
            sys.stderr.write(f"\r\x1b[2K{frame} {self.label} · {self.status} · {time.monotonic() - started:.0f}s")
            sys.stderr.flush()


def wait_for(client: ApiClient, terminal_id: str, *, label: str, timeout: float, turn: int | None = None,
             statuses: str = "idle,completed") -> dict:
    """Long-poll the server in short slices so the spinner can show the live status."""
    deadline = time.monotonic() + timeout
    with Spinner(label) as spinner:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                session = client.get(f"/terminals/{terminal_id}")["session_name"]
                raise errors.AgentTimeout(f"terminal {terminal_id} did not finish within {timeout:g}s "
                                          f"(status: {spinner.status}); inspect it with: {attach_command(session)}")
            try:
                return client.request("GET", f"/terminals/{terminal_id}/wait",
                                      params={"turn": turn, "status": statuses, "timeout": min(1.0, remaining)},
                                      timeout=min(1.0, remaining) + 10)
            except errors.AgentTimeout:
                spinner.status = client.get(f"/terminals/{terminal_id}")["status"]
