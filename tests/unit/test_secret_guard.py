"""cao's pre-tool hook for redact_secrets: a tool call whose arguments hold a secret is stopped (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cao import secret_guard
from cao.errors import InvalidTeam
from cao.teams.loader import parse_team
from cao.teams.members import profile
from cao.teams.models import Team

TOKEN = "ghp_" + "Zq7" * 12
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n" \
      "-----END RSA PRIVATE KEY-----"


def run(event: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cao.secret_guard"], input=json.dumps(event), text=True,
                          capture_output=True, timeout=30)


@pytest.mark.parametrize("tool_input", [
    {"command": f"curl -H 'Authorization: token {TOKEN}' https://api.github.com"},
    {"file_path": "id_rsa", "content": KEY},  # scanned as written, not JSON-escaped
    {"edits": [{"new_string": f"password = 'Tr0ub4dor&3xyz'  # {TOKEN}"}]},
])
def test_a_call_holding_a_secret_is_stopped_and_the_reason_is_masked(tool_input: dict) -> None:
    done = run({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": tool_input})
    assert done.returncode == secret_guard.BLOCK
    assert done.stderr.startswith("cao stopped this Bash call: its arguments hold what looks like a secret (")
    assert TOKEN not in done.stderr and "MIIEow" not in done.stderr


@pytest.mark.parametrize("tool_input", [
    {"command": "git status --short"},
    {"command": "export GITHUB_TOKEN=$GITHUB_TOKEN && echo ${API_KEY}"},  # placeholders, not secrets
    {"file_path": "README.md", "content": "Set api_key = <your key> in the config."},
    {},
])
def test_a_call_without_a_secret_goes_on(tool_input: dict) -> None:
    done = run({"tool_name": "run_shell_command", "tool_input": tool_input})
    assert (done.returncode, done.stderr) == (0, "")


def test_input_that_is_not_json_stops_the_call() -> None:
    done = subprocess.run([sys.executable, "-m", "cao.secret_guard"], input="not json", text=True,
                          capture_output=True, timeout=30)
    assert done.returncode == secret_guard.BLOCK and "not JSON" in done.stderr


def team(agent: str) -> Team:
    text = "agents:\n  root:\n    model: anthropic/claude-sonnet-4-5\n    instruction: hi\n"
    text += textwrap.indent(agent, "    ")
    return parse_team(text, source="team.yaml", base_dir=Path("/nonexistent"))


def test_redact_secrets_puts_the_guard_first_among_the_members_tool_hooks() -> None:
    loaded = team("redact_secrets: true\nhooks:\n  pre_tool_use: [{command: ./check.sh, matcher: Bash}]\n")
    hooks = profile(loaded, loaded.members["root"]).hooks
    assert hooks is not None
    assert [h["args"] for h in hooks["pre_tool_use"]] == [["-m", "cao.secret_guard"], []]
    assert hooks["pre_tool_use"][0]["matcher"] == ".*"
    assert profile(team(""), team("").members["root"]).hooks is None


def test_the_redact_secrets_builtin_hook_is_the_guard_on_pre_tool_use() -> None:
    loaded = team("hooks:\n  pre_tool_use: [{type: builtin, command: redact_secrets, matcher: Bash|Write}]\n")
    assert loaded.members["root"].tool_hooks["pre_tool_use"] == [secret_guard.tool_hook("Bash|Write")]
    assert loaded.warnings == []
    with pytest.raises(InvalidTeam, match=r"hooks.pre_tool_use\[0\].command: unknown builtin hook; cao has one: "
                                        r"command: redact_secrets"):
        team("hooks:\n  pre_tool_use: [{type: builtin, command: shout}]\n")
