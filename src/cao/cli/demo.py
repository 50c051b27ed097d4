"""``cao demo``: a whole orchestration offline with the built-in mock agent.

A supervisor assigns three developers in parallel, hands one task off to a reviewer, collects the
developers' callbacks from its inbox and answers with every worker's result.
"""

from __future__ import annotations

import os
import time
from importlib import resources

import click

from cao.cli.common import attach_command, info
from cao.cli.common import client as make_client
from cao.cli.launch import start_agent
from cao.cli.session import wait_until_quiet

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
    started = time.monotonic()
    with resources.as_file(script) as script_path:
        supervisor = start_agent(client, agent="code_supervisor", provider="mock", session_name=f"demo-{os.getpid()}",
                                 cwd=os.getcwd(), env={"CAO_MOCK_SCRIPT": str(script_path)})
        session = supervisor["session_name"]
        info(f"Supervisor {supervisor['id']} started in tmux session {session} "
             f"(watch: {attach_command(session)})")
        info(f"Task: {task}")
        try:
            client.request("POST", f"/terminals/{supervisor['id']}/input", body={"message": task})
            detail = wait_until_quiet(client, session, timeout)
            for line in _tree_lines(detail["tree"]):
                info(line)
            click.echo(client.get(f"/terminals/{supervisor['id']}/output", mode="last")["output"])
            info(f"Done in {time.monotonic() - started:.1f}s")
        finally:
            if not keep:
                client.request("DELETE", f"/sessions/{session}", timeout=60)
                info(f"Removed session {session}")
                if started_server is not None:
                    started_server.terminate()
                    started_server.wait(15)
                    info("Stopped cao-server")


def _tree_lines(nodes: list[dict], depth: int = 0) -> list[str]:
    lines = []
    for node in nodes:
        lines.append(f"{'  ' * depth}{'└ ' if depth else ''}{node['agent_profile']} {node['id']} ({node['status']})")
        lines += _tree_lines(node["children"], depth + 1)
    return lines
