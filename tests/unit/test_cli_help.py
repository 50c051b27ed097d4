"""The lazy command table: every entry loads, and `cao --help` shows them all without importing them."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
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


def _help(columns: int, *, through_click: bool) -> str:
    code = ("from cao.cli import cli; cli.main(['--help'], prog_name='cao')" if through_click
            else "import sys; sys.argv = ['cao', '--help']; from cao.cli import main; main()")
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout


@pytest.mark.parametrize("columns", [120, 80, 60])
def test_fast_help_is_what_click_prints(columns: int) -> None:
    assert _help(columns, through_click=False) == _help(columns, through_click=True)


def test_fast_help_wraps_like_click() -> None:
    runner = CliRunner()
    long_help = ("A deliberately long line of help text, so that the second column has to wrap "
                 "twice at least, as click does it.")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(COMMANDS, "zz-a-very-long-command-name-over-thirty", ("cao.cli.demo:demo", long_help))
        patch.setitem(COMMANDS, "aa", ("cao.cli.demo:demo", long_help))
        from cao.cli import root_help

        for width in (78, 58):
            result = runner.invoke(cli, ["--help"], prog_name="cao", terminal_width=width)
            assert result.output == root_help(width)


def test_help_and_version_do_not_import_click() -> None:
    code = ("import sys; sys.argv = ['cao', '{}']; from cao.cli import main; main(); "
            "print('click' in sys.modules)")
    for flag in ("--help", "-V"):
        out = subprocess.run([sys.executable, "-c", code.format(flag)], capture_output=True, text=True,
                             env={**os.environ, "COLUMNS": "100"}, check=True).stdout
        assert out.splitlines()[-1] == "False", flag
    version = subprocess.run([sys.executable, "-m", "cao", "--version"], capture_output=True, text=True).stdout
    assert version == CliRunner().invoke(cli, ["--version"], prog_name="cao").output
