"""Helpers shared by the command modules."""

from __future__ import annotations

import json
from typing import Any

import click

from cao.client import ApiClient
from cao.settings import Settings


def client() -> ApiClient:
    return ApiClient(Settings.from_env())


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


def info(message: str) -> None:
    """Progress and metadata go to stderr, so stdout carries only the result."""
    click.echo(message, err=True)
