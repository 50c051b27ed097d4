"""``cao terminal restore ID``."""

from __future__ import annotations

import click

from cao.cli.common import attach_command, info
from cao.cli.common import client as make_client


@click.group()
def terminal() -> None:
    """Work with single terminals."""


@terminal.command(name="restore")
@click.argument("terminal_id")
def terminal_restore(terminal_id: str) -> None:
    """Reopen a deleted terminal's saved scrollback in a window of its session.

    When the session was shut down too, a new session of the same name holds the window.
    """
    result = make_client().request("POST", f"/terminals/{terminal_id}/restore")
    session = result["session_name"]
    click.echo(f"Restored into window {result['window_name']} of session {session}; "
               f"see it with: {attach_command(session)}")
    info("It is a shell showing the scrollback: type exit in it to close it (and a session that held only it)")
