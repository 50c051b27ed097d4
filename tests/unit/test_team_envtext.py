"""cagent's ${env.X} placeholders: plain, with a default, and as a ternary; undefined is empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from cao.teams.envtext import expand, names
from cao.teams.loader import parse_team

ENV = {"PROJECT": "parser", "EMPTY": ""}


@pytest.mark.parametrize(("text", "expected"), [
    ("${env.PROJECT}", "parser"),
    ("${env.MISSING}", ""),
    ("${env.MISSING || 'app'} and ${env.PROJECT||'app'}", "app and parser"),
    ("${env.PROJECT ? 'set' : 'unset'} ${env.EMPTY ? 'set' : 'unset'}", "set unset"),
    ("$env.PROJECT ${PROJECT} ${env.PROJECT", "$env.PROJECT ${PROJECT} ${env.PROJECT"),  # not placeholders
])
def test_expand(text: str, expected: str) -> None:
    assert expand(text, ENV) == expected


def test_names() -> None:
    assert names(["${env.A} ${env.B || 'x'}", "${env.C ? 'y' : 'z'} $env.D"]) == {"A", "B", "C"}


def test_a_team_expands_instructions_descriptions_welcome_and_toolset_instructions_but_not_commands() -> None:
    text = ("agents:\n  root:\n    model: mock/m\n    description: Works on ${env.PROJECT}\n"
            "    instruction: Review ${env.PROJECT || 'it'}.\n    welcome_message: Hi from ${env.PROJECT}\n"
            "    toolsets: [{type: shell, instruction: 'Run ${env.PROJECT} tests'}]\n"
            "    commands: {go: 'ship ${env.PROJECT}'}\n")
    root = parse_team(text, source="team.yaml", base_dir=Path("/nonexistent"), env=ENV).members["root"]
    assert (root.description, root.instruction, root.welcome_message) == ("Works on parser", "Review parser.",
                                                                        "Hi from parser")
    assert root.prompt_files == [("toolset 0", "Run parser tests")]
    assert root.commands == {"go": "ship ${env.PROJECT}"}  # expanded when it is run, with that moment's values
