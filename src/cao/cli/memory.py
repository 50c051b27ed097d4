"""``cao memory list | show KEY | forget KEY | clear --scope S``: what agents remembered (docs/memory.md).

Agents write memories with the MCP tool memory_store; a person reads and forgets them here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from cao.cli.common import client as make_client
from cao.cli.common import echo_json, table

SCOPES = ("session", "project", "agent", "global")  # as cao.services.memory.config (not imported: keep the CLI light)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
scope_option = click.option("--scope", type=click.Choice(SCOPES), help="Only this scope.")
scope_id_option = click.option("--scope-id", help="Only this project id, session name or profile name.")


def _when(value: str) -> str:
    return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")


def _short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[:width - 1] + "…"


def _params(scope: str | None, scope_id: str | None) -> dict[str, Any]:
    return {"scope": scope, "scope_id": scope_id}


@click.group()
def memory() -> None:
    """What agents remembered with memory_store, by scope: session, project, agent, global."""


@memory.command(name="list")
@scope_option
@scope_id_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True, help="At most this many.")
@json_option
def memory_list(scope: str | None, scope_id: str | None, limit: int, as_json: bool) -> None:
    """List memories, most recently updated first."""
    found = make_client().get("/memory", **_params(scope, scope_id), limit=limit)
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("No memories" + (f" in scope {scope}" if scope else "") + ". Agents store them with memory_store.")
        return
    table([[m["key"], m["scope"], _short(m["scope_id"], 30) or "-", _when(m["updated_at"]), _short(m["content"])]
           for m in found], ["KEY", "SCOPE", "OF", "UPDATED", "CONTENT"])


@memory.command(name="show")
@click.argument("key")
@scope_option
@scope_id_option
@json_option
def memory_show(key: str, scope: str | None, scope_id: str | None, as_json: bool) -> None:
    """Show the memory KEY in full (every scope that has it)."""
    found = make_client().get(f"/memory/{key}", **_params(scope, scope_id))
    if as_json:
        echo_json(found)
        return
    for i, m in enumerate(found):
        if i:
            click.echo("")
        of = f" ({m['scope_id']})" if m["scope_id"] else ""
        click.echo(f"{m['key']}  [{m['scope']}{of}]  updated {_when(m['updated_at'])}"
                   f"{'  by ' + m['created_by'] if m['created_by'] else ''}")
        click.echo(m["content"])


@memory.command(name="forget")
@click.argument("key")
@scope_option
@scope_id_option
def memory_forget(key: str, scope: str | None, scope_id: str | None) -> None:
    """Forget the memory KEY (when several scopes have it, --scope and --scope-id choose)."""
    result = make_client().request("DELETE", f"/memory/{key}", params=_params(scope, scope_id))
    m = result["memories"][0]
    click.echo(f"Forgot {m['key']} [{m['scope']}{' ' + m['scope_id'] if m['scope_id'] else ''}].")


@memory.command(name="clear")
@click.option("--scope", type=click.Choice(SCOPES), required=True, help="The scope to clear.")
@scope_id_option
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def memory_clear(scope: str, scope_id: str | None, yes: bool) -> None:
    """Forget every memory of a scope (of one project, session or agent with --scope-id)."""
    what = f"every {scope} memory" + (f" of {scope_id}" if scope_id else "")
    if not yes:
        click.confirm(f"Forget {what}?", abort=True)
    result = make_client().request("DELETE", "/memory", params=_params(scope, scope_id))
    click.echo(f"Forgot {result['deleted']} memor{'y' if result['deleted'] == 1 else 'ies'} ({what}).")
