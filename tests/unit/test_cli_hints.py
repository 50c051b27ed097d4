"""Hints the CLI prints for people: attaching names cao's tmux socket, from one place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cao.cli.common import attach_command

SRC = Path(__file__).resolve().parents[2] / "src" / "cao"


def test_attach_hint_names_the_socket_when_one_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAO_TMUX_SOCKET", "my sock")
    assert attach_command("cao-team") == "tmux -L 'my sock' attach -t cao-team"
    monkeypatch.delenv("CAO_TMUX_SOCKET")
    assert attach_command("cao-team") == "tmux attach -t cao-team"


def test_no_attach_hint_is_written_by_hand() -> None:
    """A hand-written `tmux attach` forgets `-L <socket>`; every hint must come from attach_command."""
    by_hand = re.compile(r"tmux( -L \S+)? attach")
    offenders = [f"{path.relative_to(SRC)}:{number}"
                 for path in SRC.rglob("*.py") if path.name != "common.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if by_hand.search(line)]
    assert offenders == []
