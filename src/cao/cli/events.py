"""``cao events``: follow the server's event stream (for scripts: one JSON object per line)."""

from __future__ import annotations

import json
import time

import click

from cao.cli.common import client as make_client
from cao.events import KINDS


def _line(event: dict) -> str:
    data = event["data"]
    at = time.strftime("%H:%M:%S", time.localtime(event["time"]))
    who = data.get("terminal_id") or data.get("session") or data.get("flow") or ""
    rest = " ".join(f"{k}={v}" for k, v in data.items() if v is not None and v != who)
    return f"{at} #{event['id']} {event['kind']:<18} {who} {rest}".rstrip()


@click.command()
@click.option("--session", "session", metavar="NAME", help="Only this session's events.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(sorted(KINDS)), help="Only these kinds (repeatable).")
@click.option("--after", type=int, metavar="ID", help="Replay what came after this event id first.")
@click.option("--count", type=int, metavar="N", help="Stop after N events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events(session: str | None, kinds: tuple[str, ...], after: int | None, count: int | None, as_json: bool) -> None:
    """Print status changes, terminals, messages, handoffs, assigns and flow runs as they happen."""
    api = make_client()
    api.ensure_server(auto_start=api.settings.auto_start)
    seen = 0
    while True:
        for kind, payload in api.events(after=after, kinds=list(kinds) or None, session=session):
            if kind == "dropped":  # this reader fell behind: reconnect where it stopped
                after = payload["resume_after"]
                break
            if kind == "gap":
                click.echo(f"(events after #{payload['after']} are no longer kept; some were missed)", err=True)
                continue
            after = payload["id"]
            click.echo(json.dumps(payload) if as_json else _line(payload))
            seen += 1
            if count is not None and seen >= count:
                return
        else:
            return  # the server closed the stream
