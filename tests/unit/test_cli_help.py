"""The lazy command table: every entry loads, and `cao --help` shows them all without importing them."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

from cao.cli import COMMANDS, cli


def test_every_command_loads() -> None:
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert isinstance(command, click.Command), name


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, (_, help_text) in COMMANDS.items():
        assert f"{name}" in result.output and help_text[:30] in result.output


def test_help_imports_no_command_module() -> None:
    code = "import sys; from cao.cli import cli; cli.main(['--help'], standalone_mode=False); " \
           "print(sorted(m for m in sys.modules if m.startswith(('cao.cli.', 'fastapi', 'sqlmodel'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
