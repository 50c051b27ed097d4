"""``cao terminal restore ID``."""

from __future__ import annotations

import click

from cao.cli.common import attach_command
from cao.cli.common import client as make_client


@click.group()
def terminal() -> None:
    """Work with single terminals."""


@terminal.command(name="restore")
@click.argument("terminal_id")
def terminal_restore(terminal_id: str) -> None:
    """Reopen a deleted terminal's saved scrollback in a window of its session."""
    result = make_client().request("POST", f"/terminals/{terminal_id}/restore")
    click.echo(f"Restored into window {result['window_name']}; see it with: "
               f"{attach_command(result['session_name'])}")
