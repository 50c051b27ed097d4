"""``cao install NAME | ./file.md | https://…``."""

from __future__ import annotations

import click

from cao.profile_install import install_profile
from cao.settings import Settings


@click.command()
@click.argument("source")
def install(source: str) -> None:
    """Install an agent profile from a built-in name, a local .md file or an https URL."""
    result = install_profile(source, Settings.from_env().home)
    verb = "Replaced" if result.replaced else "Installed"
    click.echo(f"{verb} agent profile '{result.name}' ({result.source_kind}) at {result.path}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
