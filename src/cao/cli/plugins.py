"""``cao plugins list``: what cao-server loaded (entry points ``cao.plugins``), what failed to, and why."""

from __future__ import annotations

import click

from cao.cli.common import client as make_client
from cao.cli.common import echo_json, table


@click.group()
def plugins() -> None:
    """Plugins that observe cao-server's events (docs/plugins.md)."""


@plugins.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_list(as_json: bool) -> None:
    """List the plugins the running server found: status, counters, and why one failed."""
    api = make_client()
    api.ensure_server(auto_start=api.settings.auto_start)
    found = api.get("/plugins")
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo('No plugins installed. A plugin is a package with an entry point in group "cao.plugins", '
                   "installed where cao-server runs; see docs/plugins.md.")
        return
    table([[p["name"], p["status"], f"{p['distribution'] or '-'} {p['version'] or ''}".strip(),
            str(p["events"]), str(p["errors"]), str(p["timeouts"]), str(p["skipped"])] for p in found],
          ["PLUGIN", "STATUS", "PACKAGE", "EVENTS", "ERRORS", "TIMEOUTS", "SKIPPED"])
    for p in found:
        if p["error"]:
            click.echo(f"{p['name']}: {p['error']}")
        elif p["last_error"]:
            click.echo(f"{p['name']}: last error: {p['last_error']}")
