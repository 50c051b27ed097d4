"""``cao ui``: sign your browser in to cao-server with a one-time URL."""

from __future__ import annotations

import click

from cao.cli.common import client as make_client


@click.command()
@click.option("--no-browser", is_flag=True, help="Only print the URL.")
def ui(no_browser: bool) -> None:
    """Print a one-time login URL for the browser (valid two minutes) and open it."""
    api = make_client()
    api.ensure_server(auto_start=api.settings.auto_start)
    url = api.request("POST", "/auth/login-url")["url"]
    click.echo(url)
    if not no_browser:
        import webbrowser

        if not webbrowser.open(url):
            click.echo("(no browser found here: open the URL yourself; it works once)", err=True)
