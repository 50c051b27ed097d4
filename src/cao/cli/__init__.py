"""The ``cao`` command. Subcommands load lazily so ``cao --help`` stays fast."""

from __future__ import annotations

import importlib
import sys

import click

from cao import __version__
from cao.errors import CaoError

COMMANDS = {
    "launch": "cao.cli.launch:launch",
    "session": "cao.cli.session:session",
    "shutdown": "cao.cli.shutdown:shutdown",
    "info": "cao.cli.info:info",
    "install": "cao.cli.install:install",
    "demo": "cao.cli.demo:demo",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CaoError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="cao")
def cli() -> None:
    """Run real AI coding CLIs as one team in tmux.

    Start with `cao launch --agents developer`, or try everything offline with `cao demo`.
    """


def main() -> None:
    sys.exit(cli.main(prog_name="cao"))
