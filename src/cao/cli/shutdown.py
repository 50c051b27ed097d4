"""``cao shutdown --session NAME | --all``."""

from __future__ import annotations

import click

from cao import validation
from cao.cli.common import client as make_client
from cao.errors import NotFound, ServerUnavailable


@click.command()
@click.option("--session", "session_name", help="Session to remove (with or without 'cao-').")
@click.option("--all", "all_sessions", is_flag=True, help="Remove every cao session.")
def shutdown(session_name: str | None, all_sessions: bool) -> None:
    """Stop agents: kill their tmux session(s), keeping each terminal's scrollback in the logs."""
    if bool(session_name) == all_sessions:
        raise click.UsageError("give exactly one of --session NAME or --all")
    if session_name:
        validation.session_name(session_name)
    client = make_client()
    if all_sessions:
        try:
            names = [s["name"] for s in client.get("/sessions")]
        except ServerUnavailable:
            click.echo("cao-server is not running; nothing to shut down")
            return
    else:
        names = [session_name]
    if not names:
        click.echo("No cao sessions")
    for name in names:
        try:
            result = client.request("DELETE", f"/sessions/{name}", timeout=120)
        except NotFound:
            if session_name:
                raise
            click.echo(f"{name}: already removed")
            continue
        click.echo(f"Removed {result['deleted'][0]}")
        for error in result["errors"]:
            click.echo(f"  warning: {error}", err=True)
