"""Test isolation: every test gets its own CAO_HOME, tmux socket and API port.

Nothing here touches the user's home, their default tmux server or port 9889.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cao.client import ApiClient
from cao.settings import Settings

T = TypeVar("T")
_counter = itertools.count()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def retry_until(fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, message: str = "") -> T:
    """Poll ``fn`` until it returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s: {message} (last value: {last!r})")


@pytest.fixture(autouse=True)
def cao_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    socket_name = f"cao_test_{os.getpid()}_{next(_counter)}"
    tmux = shutil.which("tmux") or "tmux"  # resolved now: a test may change PATH
    env = {
        "CAO_HOME": str(tmp_path / "cao-home"),
        "CAO_TMUX_SOCKET": socket_name,
        "CAO_API_PORT": str(free_port()),
        "CAO_AUTO_START": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("CAO_TERMINAL_ID", raising=False)
    yield env
    with contextlib.suppress(OSError):
        subprocess.run([tmux, "-L", socket_name, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def settings(cao_env: dict[str, str]) -> Settings:
    return Settings.from_env()


class ServerProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = ApiClient(settings)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = settings.home / "test-server.log"

    def start(self) -> None:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "cao.server.main"], stdout=log, stderr=log,
                                            env=os.environ.copy())
        retry_until(lambda: self.client.is_up() or self.process.poll() is not None, 20, message="server start")
        if self.process.poll() is not None:
            raise AssertionError(f"cao-server exited: {self.log.read_text()}")

    def stop(self, sig: str = "term") -> None:
        if self.process is None:
            return
        if sig == "kill":
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(15)
        self.process = None


@pytest.fixture
def server(settings: Settings) -> Iterator[ServerProcess]:
    srv = ServerProcess(settings)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def api(server: ServerProcess) -> ApiClient:
    return server.client


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path
