"""``cao demo``: a whole orchestration offline with the built-in mock agent.

A supervisor assigns three developers in parallel, hands one task off to a reviewer, collects the
developers' callbacks from its inbox and answers with every worker's result. The tree printed at the
end includes the workers that finished and were removed (the reviewer of a handoff), read from their
saved snapshots.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from importlib import resources

import click

from cao.cli import tree
from cao.cli.common import attach_command, info
from cao.cli.common import client as make_client
from cao.cli.launch import start_agent
from cao.cli.session import wait_until_quiet
from cao.services import snapshots
from cao.settings import Settings

TASK = "Review the cao repository and report what to improve."


@click.command()
@click.option("--task", default=TASK, show_default=True, help="The task to give the supervisor.")
@click.option("--keep", is_flag=True, help="Keep the session (and a server started here) running.")
@click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True)
def demo(task: str, keep: bool, timeout: float) -> None:
    """Run a supervisor and four mock workers on a task, offline; print the final answer."""
    client = make_client()
    started_server = client.ensure_server(auto_start=True)
    script = resources.files("cao").joinpath("demo_team.json")
    started, since = time.monotonic(), datetime.now(UTC)
    with resources.as_file(script) as script_path:
        supervisor = start_agent(client, agent="code_supervisor", provider="mock", session_name=f"demo-{os.getpid()}",
                                 cwd=os.getcwd(), env={"CAO_MOCK_SCRIPT": str(script_path)})
        session = supervisor["session_name"]
        if keep:
            info(f"Supervisor {supervisor['id']} started in tmux session {session} "
                 f"(watch: {attach_command(session)})")
        else:
            info(f"Supervisor {supervisor['id']} started in tmux session {session}; it is removed when the demo "
                 "ends, so to attach and look around run the demo with --keep")
        info(f"Task: {task}")
        try:
            client.request("POST", f"/terminals/{supervisor['id']}/input", body={"message": task})
            detail = wait_until_quiet(client, session, timeout)
            removed = snapshots.removed_terminals(Settings.from_env().terminal_logs_dir, session, since)
            for line in tree.lines(tree.with_removed(detail["tree"], removed)):
                info(line)
            click.echo(client.get(f"/terminals/{supervisor['id']}/output", mode="last")["output"])
            info(f"Done in {time.monotonic() - started:.1f}s")
        finally:
            if keep:
                info(f"Kept session {session}: attach with {attach_command(session)}; "
                     f"remove it with: cao shutdown --session {session}")
            else:
                client.request("DELETE", f"/sessions/{session}", timeout=60)
                info(f"Removed session {session}")
                if started_server is not None:
                    started_server.terminate()
                    started_server.wait(15)
                    info("Stopped cao-server")


