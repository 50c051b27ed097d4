"""``cao session list | status | send``."""

from __future__ import annotations

import time

import click

from cao import validation
from cao.cli.common import client as make_client
from cao.cli.common import echo_json, table
from cao.cli.launch import remove_session, run_task
from cao.cli.progress import Spinner
from cao.client import ApiClient
from cao.errors import AgentTimeout, CaoError, Conflict, NotFound
from cao.settings import Settings


@click.group()
def session() -> None:
    """Inspect and talk to running sessions."""


@session.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def session_list(as_json: bool) -> None:
    """List cao sessions."""
    sessions = make_client().get("/sessions")
    if as_json:
        echo_json(sessions)
        return
    if not sessions:
        click.echo("No cao sessions. Start one with: cao launch --agents developer")
        return
    table([[s["name"], s["conductor_id"] or "-", s["conductor_status"] or "-", str(s["terminals"]), s["status"]]
           for s in sessions], ["SESSION", "CONDUCTOR", "STATUS", "TERMINALS", "CLIENT"])


@session.command(name="status")
@click.argument("name")
@click.option("--workers", is_flag=True, help="Also list every other terminal of the session.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def session_status(name: str, workers: bool, as_json: bool) -> None:
    """Show a session's conductor, its status and its last reply."""
    validation.session_name(name)
    client = make_client()
    detail = client.get(f"/sessions/{name}")
    conductor_id = detail["session"]["conductor_id"]
    conductor = next((t for t in detail["terminals"] if t["id"] == conductor_id), None)
    last = None
    if conductor:
        try:
            last = client.get(f"/terminals/{conductor_id}/output", mode="last")["output"]
        except CaoError:
            last = None
    if as_json:
        echo_json({**detail, "last_reply": last})
        return
    click.echo(f"Session:   {detail['session']['name']} ({detail['session']['status']})")
    if conductor:
        click.echo(f"Conductor: {conductor['id']} {conductor['name']} [{conductor['provider']}] "
                   f"{conductor['status']}")
    if last:
        lines = last.splitlines()
        click.echo("Last reply:\n  " + "\n  ".join(lines[:20]) + ("\n  …" if len(lines) > 20 else ""))
    if workers:
        others = [t for t in detail["terminals"] if t["id"] != conductor_id]
        click.echo("Workers:" if others else "Workers: none")
        if others:
            table([[t["id"], t["name"], t["provider"], t["status"], t["caller_id"] or "-"] for t in others],
                  ["  ID", "WINDOW", "PROVIDER", "STATUS", "CALLER"])


@session.command(name="send")
@click.argument("name")
@click.argument("message")
@click.option("--async", "is_async", is_flag=True, help="Return right after sending.")
@click.option("--rm", "remove", is_flag=True, help="Remove the session once the reply is printed.")
@click.option("--timeout", type=click.FloatRange(min=1), default=600.0, show_default=True)
def session_send(name: str, message: str, is_async: bool, remove: bool, timeout: float) -> None:
    """Send MESSAGE to the session's conductor and print its reply."""
    if remove and is_async:
        raise click.UsageError("--rm waits for the reply; it cannot be used with --async")
    validation.session_name(name)
    client = make_client()
    detail = client.get(f"/sessions/{name}")
    conductor_id = detail["session"]["conductor_id"]
    if conductor_id is None:
        raise CaoError(f"session {detail['session']['name']} has no terminal")
    conductor = client.get(f"/terminals/{conductor_id}")
    status = conductor["status"]
    message = _team_command(client, detail["session"]["name"], conductor["agent_profile"], message)
    if status not in ("idle", "completed"):
        raise Conflict(f"the conductor is {status}; wait until it is idle (cao session status {name})")
    try:
        reply = run_task(client, conductor_id, message, timeout=timeout, wait=not is_async)
    finally:
        if remove:
            remove_session(client, detail["session"]["name"], conductor_id)
    click.echo(reply if reply is not None else f"Sent to {conductor_id}")


def _team_command(client: ApiClient, session: str, agent: str | None, message: str) -> str:
    """``/NAME`` → the team member's named command (docs/teams.md), when the session runs a team."""
    if not message.startswith("/") or " " in message.strip():
        return message
    from cao.teams.members import expand

    try:
        team = client.get(f"/teams/sessions/{session}")
    except NotFound:
        return _profile_command(agent, message)
    member = team["members"].get(agent or "")
    return expand(agent or "", member["commands"], message) if member else message


def _profile_command(agent: str | None, message: str) -> str:
    """``/NAME`` → the named command of the conductor's profile, when its frontmatter has ``commands``;
    otherwise the CLI's own slash command."""
    from cao.teams.members import expand_command
    from cao.teams.profile_spec import profile_member

    try:
        member = profile_member(agent, Settings.from_env().home) if agent else None
    except CaoError:
        return message
    return expand_command(member, message) if member is not None and member.commands else message


@session.command(name="wait")
@click.argument("name")
@click.option("--timeout", type=click.FloatRange(min=1), default=600.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the session (with its tree) as JSON.")
def session_wait(name: str, timeout: float, as_json: bool) -> None:
    """Wait until every agent of the session is done and no message is pending; print the conductor's reply."""
    validation.session_name(name)
    client = make_client()
    detail = wait_until_quiet(client, name, timeout)
    if as_json:
        echo_json(detail)
        return
    conductor_id = detail["session"]["conductor_id"]
    click.echo(client.get(f"/terminals/{conductor_id}/output", mode="last")["output"])


def wait_until_quiet(client: ApiClient, name: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    with Spinner(f"Waiting for session {name}") as spinner:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AgentTimeout(f"session {name} is still busy after {timeout:g}s; inspect it with: "
                                   f"cao session status {name} --workers")
            try:
                return client.request("GET", f"/sessions/{name}/wait", params={"timeout": min(2.0, remaining)},
                                      timeout=min(2.0, remaining) + 10)
            except AgentTimeout:
                busy = [t for t in client.get(f"/sessions/{name}")["terminals"] if t["status"] == "processing"]
                spinner.status = f"{len(busy)} working"
