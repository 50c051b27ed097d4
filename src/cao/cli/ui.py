"""``cao ui``: open the web UI (docs/web-ui.md), signing the browser in with a one-time URL."""

from __future__ import annotations

import click

from cao.cli.common import client as make_client


@click.command()
@click.option("--no-browser", is_flag=True, help="Only print the URL.")
def ui(no_browser: bool) -> None:
    """Open the web UI: print a one-time login URL (valid two minutes) and open it in the browser."""
    api = make_client()
    api.ensure_server(auto_start=api.settings.auto_start)
    url = api.request("POST", "/auth/login-url")["url"]
    click.echo(url)
    if not no_browser:
        import webbrowser

        if not webbrowser.open(url):
            click.echo("(no browser found here: open the URL yourself; it works once)", err=True)
