"""``cao terminal restore ID`` and ``cao terminal mcp-config ID``."""

from __future__ import annotations

import click

from cao.cli.common import attach_command, echo_json, info
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


@terminal.command(name="mcp-config")
@click.argument("terminal_id")
@click.option("--json", "as_json", is_flag=True, help="Print {\"url\", \"headers\"} as JSON.")
def terminal_mcp_config(terminal_id: str, as_json: bool) -> None:
    """How to connect any MCP client as this terminal (its secret token: keep it private)."""
    connection = make_client().get(f"/terminals/{terminal_id}/mcp-config")
    if as_json:
        echo_json(connection)
        return
    click.echo(f"url:     {connection['url']}  (MCP streamable HTTP)")
    for key, value in connection["headers"].items():
        click.echo(f"header:  {key}: {value}")
    click.echo("Anyone holding this token can act as the terminal; the token ends with the terminal.", err=True)


@terminal.command(name="interrupt")
@click.argument("terminal_id")
def terminal_interrupt(terminal_id: str) -> None:
    """Stop the agent's running turn, with the keys its CLI uses (Esc for most)."""
    make_client().request("POST", f"/terminals/{terminal_id}/interrupt")
    click.echo(f"Interrupted the turn of {terminal_id}")


@terminal.command(name="answer")
@click.argument("terminal_id")
@click.argument("keys", nargs=-1, required=True)
def terminal_answer(terminal_id: str, keys: tuple[str, ...]) -> None:
    """Answer the question the agent is asking: KEYS are pressed in order, e.g. `2`, `y` or `Down Enter`.

    Only a terminal that is waiting_user_answer takes an answer; messages are never typed into a dialog.
    """
    make_client().request("POST", f"/terminals/{terminal_id}/answer", body={"keys": list(keys)})
    click.echo(f"Answered {terminal_id} with {' '.join(keys)}")
