"""Reads come from the server's memory; restarts re-adopt every live terminal before answering;
inputs to different terminals do not wait for one another. Real server, real tmux, the mock agent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from cao.client import ApiClient
from cao.server.app import create_app
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import launch, send_and_wait, tmux


def names(api: ApiClient) -> list[str]:
    return [s["name"] for s in api.get("/sessions")]


def tmux_server_pid(settings: Settings) -> int:
    return int(tmux(settings, "display-message", "-p", "#{pid}").stdout.strip())


def test_reads_need_no_tmux_run(api: ApiClient, settings: Settings, workdir: Path) -> None:
    tid = launch(api, workdir)["id"]
    pid = tmux_server_pid(settings)
    os.kill(pid, signal.SIGSTOP)  # any tmux command would now hang until SIGCONT
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            reads = pool.submit(lambda: (api.get("/sessions"), api.get("/sessions/t1"), api.get(f"/terminals/{tid}"),
                                         api.get("/health")))
            sessions, detail, terminal, health = reads.result(timeout=20)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert [s["name"] for s in sessions] == ["cao-t1"] and sessions[0]["conductor_id"] == tid
    assert sessions[0]["conductor_status"] == "idle" and sessions[0]["terminals"] == 1
    assert [t["id"] for t in detail["terminals"]] == [tid]
    assert terminal["status"] == "idle"
    assert health["terminals"] == 1 and health["tmux_version"].startswith("tmux ")


def test_session_list_follows_tmux_and_cao_changes(api: ApiClient, settings: Settings, workdir: Path) -> None:
    first = launch(api, workdir, session="t1")["id"]
    launch(api, workdir, session="t2")
    assert names(api) == ["cao-t1", "cao-t2"]  # cao's own changes show at once
    tmux(settings, "kill-session", "-t", "=cao-t2")
    tmux(settings, "new-session", "-d", "-s", "cao-outside", "--", "sleep", "300")
    retry_until(lambda: names(api) == ["cao-outside", "cao-t1"], 15, message="reconciled with tmux")
    outside = next(s for s in api.get("/sessions") if s["name"] == "cao-outside")
    assert outside["terminals"] == 0 and outside["conductor_id"] is None
    send_and_wait(api, first, "still here")
    retry_until(lambda: api.get("/sessions")[1]["conductor_status"] == "completed", message="status shown")
    api.request("DELETE", "/sessions/t1")
    assert names(api) == ["cao-outside"]


def test_restart_readopts_every_live_terminal_before_answering(
    server: ServerProcess, settings: Settings, workdir: Path
) -> None:
    api = server.client
    ids = [launch(api, workdir, session=f"r{i}")["id"] for i in range(6)]
    for tid in ids:
        send_and_wait(api, tid, f"before {tid}")
    server.stop("kill")
    tmux(settings, "kill-session", "-t", "=cao-r5")  # vanishes while the server is down
    agent = int(tmux(settings, "list-panes", "-t", "=cao-r4", "-F", "#{pane_pid}").stdout.split()[0])
    os.kill(agent, signal.SIGKILL)  # exits while the server is down; its pane stays (remain-on-exit)
    retry_until(lambda: tmux(settings, "list-panes", "-t", "=cao-r4", "-F", "#{pane_dead}").stdout.strip() == "1",
                message="the pane is dead")
    server.start()
    # No waiting: the first answers already know every terminal.
    assert api.get("/health")["terminals"] == 5
    for tid in ids[:4]:
        terminal = api.get(f"/terminals/{tid}")
        assert terminal["status"] == "completed" and terminal["exit_reason"] is None, terminal
    exited = api.get(f"/terminals/{ids[4]}")
    assert exited["status"] == "error" and "the agent exited" in exited["exit_reason"], exited
    assert "vanished" in api.get(f"/terminals/{ids[5]}")["exit_reason"]
    assert [s["name"] for s in api.get("/sessions")] == [f"cao-r{i}" for i in range(5)]
    for tid in ids[:4]:
        assert send_and_wait(api, tid, f"after {tid}")["status"] == "completed"
    assert api.get(f"/terminals/{ids[0]}/output", mode="last")["output"].endswith(f"after {ids[0]}")


class ThreadedServer:
    """cao's app under uvicorn in this process, so a test can reach the runtime's own locks."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=settings.api_port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        retry_until(lambda: self.server.started, 20, message="uvicorn starts")

    def on_loop(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.app.state.runtime.engine.loop).result(10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@pytest.fixture
def threaded(settings: Settings) -> Iterator[ThreadedServer]:
    settings.home.mkdir(parents=True, exist_ok=True)
    srv = ThreadedServer(settings)
    yield srv
    srv.stop()


def test_input_to_one_terminal_does_not_wait_for_another(
    threaded: ThreadedServer, settings: Settings, workdir: Path
) -> None:
    api = ApiClient(settings)
    busy = launch(api, workdir, session="busy")["id"]
    free = launch(api, workdir, session="free")["id"]
    lock = threaded.app.state.runtime.engine.monitors[busy].input_lock
    threaded.on_loop(lock.acquire())  # as while a long paste into `busy` is under way
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        waiting = pool.submit(api.request, "POST", f"/terminals/{busy}/input", body={"message": "queued"})
        assert send_and_wait(api, free, "not blocked")["status"] == "completed"  # while `busy` is held
        assert not waiting.done()  # the busy terminal's own input does wait for its lock
        threaded.on_loop(_release(lock))
        assert waiting.result(20)["turn"] == 1


async def _release(lock: asyncio.Lock) -> None:
    lock.release()
