"""``cao info``: where things are and what is running."""

from __future__ import annotations

import os
import shutil
import subprocess

import click

from cao import __version__
from cao.cli.common import client as make_client
from cao.cli.common import echo_json
from cao.errors import CaoError
from cao.settings import Settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(as_json: bool) -> None:
    """Show cao's home, database, server and tmux state."""
    settings = Settings.from_env()
    data: dict[str, object] = {
        "version": __version__, "home": str(settings.home), "database": settings.effective_database_url,
        "server": settings.api_url, "tmux_socket": settings.tmux_socket or "(default)",
        "tmux": shutil.which("tmux"),
    }
    api = make_client()
    try:
        health = api.get("/health")
        data["server_status"] = "running"
        data["tmux_version"] = health["tmux_version"]
        data["terminals"] = health["terminals"]
    except CaoError:
        data["server_status"] = "not running"
    data["api_token"] = str(settings.api_token_file)
    if data["server_status"] == "running":
        try:
            data["login_url"] = api.request("POST", "/auth/login-url")["url"]  # one-time, for the browser
        except CaoError as exc:
            data["login_url"] = f"(unavailable: {exc})"
    if os.environ.get("TMUX") and shutil.which("tmux"):
        current = subprocess.run(["tmux", "display-message", "-p", "#S"], capture_output=True, text=True)
        data["current_session"] = current.stdout.strip() or None
    data["terminal_id"] = os.environ.get("CAO_TERMINAL_ID")
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        if value is not None:
            click.echo(f"{key + ':':16}{value}")
