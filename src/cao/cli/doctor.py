"""``cao doctor``: is everything cao needs installed, at versions it was tested with?"""

from __future__ import annotations

import click

from cao.cli.common import client as make_client
from cao.cli.common import echo_json, table
from cao.doctor import all_providers, search_places
from cao.errors import CaoError
from cao.tmux import TmuxBackend


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def doctor(as_json: bool) -> None:
    """Check tmux, the server and every provider's CLI (installed? version? tested?)."""
    try:
        tmux = TmuxBackend().check()
    except CaoError as exc:
        tmux = f"problem: {exc}"
    try:
        health = make_client().get("/health")
        server = f"running, version {health['version']}"
    except CaoError as exc:
        server = f"not reachable ({exc})"
    providers = all_providers()
    places = search_places()
    if as_json:
        echo_json({"tmux": tmux, "server": server, "searched": places,
                   "providers": [p.as_dict() for p in providers]})
        return
    click.echo(f"tmux:    {tmux}")
    click.echo(f"server:  {server}")
    click.echo("")
    rows = []
    for p in providers:
        if not p.installed:
            state = f"missing — {p.install_hint}"
        elif p.tested is None:
            state = "installed" if not p.tested_versions else "installed, version unknown"
        else:
            state = "tested" if p.tested else f"untested version (cao was tested with {', '.join(p.tested_versions)})"
        if not p.verified:
            state += "; untested provider (written from the CLI's documentation, never run by cao)"
        rows.append([p.name, p.path or p.binary, p.version or "-", state])
    table(rows, ["PROVIDER", "BINARY", "VERSION", "STATE"])
    click.echo("")
    click.echo(f"Looked for each CLI on {' and in '.join(places)} "
               "(scripts/install-real-clis puts the pinned versions there).")
