"""Helpers shared by the command modules."""

from __future__ import annotations

import json
import shlex
from typing import Any

import click

from cao.client import ApiClient
from cao.settings import Settings


def client() -> ApiClient:
    return ApiClient(Settings.from_env())


def attach_command(session: str) -> str:
    """The command that attaches to a cao session: on cao's own tmux socket when CAO_TMUX_SOCKET is set.

    Every hint that tells a person to attach is built here, so none of them forgets the socket.
    """
    socket = Settings.from_env().tmux_socket
    return shlex.join(["tmux", *(["-L", socket] if socket else []), "attach", "-t", session])


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    click.echo("\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
                         for row in [headers, *rows]))  # one write: a thousand rows cost one echo


def info(message: str) -> None:
    """Progress and metadata go to stderr, so stdout carries only the result."""
    click.echo(message, err=True)
