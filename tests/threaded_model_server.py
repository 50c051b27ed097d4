"""cao's scripted model server app under real uvicorn in a thread, for the API modules' unit tests."""

from __future__ import annotations

import threading
from pathlib import Path

import uvicorn

from cao.model_server.app import create_app
from tests.conftest import free_port, retry_until


class ThreadedModelServer:
    def __init__(self, script: Path, log: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(create_app(script, log), host="127.0.0.1", port=port,
                                                     log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        retry_until(lambda: self._server.started, 10, message="uvicorn starts")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
