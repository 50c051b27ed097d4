"""cao's permission guard: a team's shell denies as a pre-tool hook (for Codex CLI), matched per simple command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cao import permission_guard

RULES = [{"command": "rm", "prefix": True}, {"command": "git push", "prefix": False}]


def run(event: object, rules: object = RULES, mode: str = "deny") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cao.permission_guard", mode, json.dumps(rules)],
                          input=json.dumps(event), text=True, capture_output=True, timeout=30)


@pytest.mark.parametrize("line", [
    "rm victim.txt", "rm -rf build", "touch a && rm b", "ls|rm q", "a; rm x", "(cd y; rm z)", "FOO=1 rm x",
    "echo $(rm x)", "echo `rm x`", "git push", "true || git push",
])
def test_a_denied_command_anywhere_in_the_line_is_stopped(line: str) -> None:
    done = run({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": line}})
    assert done.returncode == permission_guard.BLOCK, line
    assert done.stderr.startswith("cao stopped this command: this agent's team permissions deny `")


@pytest.mark.parametrize("line", [
    "rmdir build", "echo rm", "echo 'a && rm b'", "git push --force", "git status", "sh -c 'rm x'",
])
def test_other_commands_go_on(line: str) -> None:
    """As the CLIs' own rules: the line as written (an exact rule is that command with no more arguments)."""
    done = run({"tool_name": "Bash", "tool_input": {"command": line}})
    assert (done.returncode, done.stderr) == (0, ""), line


def test_a_call_without_a_command_goes_on_and_argv_commands_are_read_too() -> None:
    assert permission_guard.verdict({"tool_name": "apply_patch", "tool_input": {"patch": "rm x"}}, RULES) is None
    assert permission_guard.verdict({"tool_input": {"command": ["rm", "-f", "x"]}}, RULES) is not None


@pytest.mark.parametrize(("event", "rules"), [("not json", RULES), ({"tool_input": {}}, "not json")])
def test_unreadable_input_or_rules_stop_the_call(event: object, rules: object) -> None:
    done = subprocess.run([sys.executable, "-m", "cao.permission_guard", "deny", rules if isinstance(rules, str)
                           else json.dumps(rules)], input=event if isinstance(event, str) else json.dumps(event),
                          text=True, capture_output=True, timeout=30)
    assert done.returncode == permission_guard.BLOCK and "not JSON" in done.stderr


def test_a_line_that_cannot_be_split_is_stopped() -> None:
    reason = permission_guard.verdict({"tool_input": {"command": "echo 'unclosed"}}, RULES)
    assert reason is not None and "cannot be read as shell words" in reason


def test_an_unknown_mode_stops_the_call() -> None:
    done = run({"tool_input": {"command": "ls"}}, mode="maybe")
    assert done.returncode == permission_guard.BLOCK and "unknown mode 'maybe'" in done.stderr


ALLOWS = [{"command": "git status", "prefix": True}, {"command": "touch", "prefix": True},
          {"command": "make", "prefix": False}]


@pytest.mark.parametrize("line", ["git status", "git status --short", "touch a && git status", "make",
                                  "FOO=1 touch x"])
def test_an_allowed_line_is_answered_allow(line: str) -> None:
    done = run({"hook_event_name": "PermissionRequest", "tool_name": "Bash", "tool_input": {"command": line}},
               ALLOWS, "allow")
    assert done.returncode == 0 and json.loads(done.stdout) == permission_guard.ALLOW, line


@pytest.mark.parametrize("line", ["git push", "git status && rm x", "make install", "touch 'unclosed", "",
                                  "git statusx"])
def test_any_other_line_is_left_to_the_person(line: str) -> None:
    """Every simple command must be an allowed one: an allowed prefix does not carry ``&& rm x`` along."""
    done = run({"tool_name": "Bash", "tool_input": {"command": line}}, ALLOWS, "allow")
    assert (done.returncode, done.stdout) == (0, ""), line
