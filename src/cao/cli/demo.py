"""``cao demo``: the whole loop offline with the built-in mock agent."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import click

from cao.cli.common import client as make_client
from cao.cli.common import info
from cao.cli.launch import run_task, start_agent
from cao.settings import Settings

TASK = "Summarise what cao does in one sentence."


@click.command()
@click.option("--task", default=TASK, show_default=True, help="The task to give the agent.")
@click.option("--keep", is_flag=True, help="Keep the session (and a server started here) running.")
def demo(task: str, keep: bool) -> None:
    """Launch a mock agent headless, give it a task, print its reply, and clean up."""
    settings = Settings.from_env()
    client = make_client()
    started_server = client.ensure_server(auto_start=True)
    session = f"demo-{os.getpid()}"
    terminal = start_agent(client, agent="developer", provider="mock", session_name=session, cwd=os.getcwd(),
                           env={})
    info(f"Started agent {terminal['name']} in tmux session {terminal['session_name']} "
         f"(watch it: tmux{' -L ' + settings.tmux_socket if settings.tmux_socket else ''} "
         f"attach -t {terminal['session_name']})")
    info(f"Task: {task}")
    try:
        reply = run_task(client, terminal["id"], task, timeout=60)
        click.echo(reply)
    finally:
        if not keep:
            client.request("DELETE", f"/sessions/{terminal['session_name']}", timeout=60)
            info(f"Removed session {terminal['session_name']}")
            if started_server:
                _stop_server(settings)


def _stop_server(settings: Settings) -> None:
    pid_file = settings.run_dir / "server.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.05)
    info("Stopped cao-server")
