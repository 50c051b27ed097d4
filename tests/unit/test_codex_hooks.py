"""A Codex CLI member's tool hooks and shell denies as ``-c`` overrides, trusted for the run only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cao.providers import codex_hooks
from cao.providers.base import LaunchContext
from cao.providers.codex import CodexProvider
from cao.teams.loader import parse_team
from cao.teams.members import profile
from tests.unit.test_tool_restriction_launch import overrides as codex_overrides


def test_the_trust_hash_is_the_one_codex_saves() -> None:
    """Recorded from Codex 0.169.0: "Trust all and continue" saved this hash for the hook
    ``{matcher = "", hooks = [{type = "command", command = "/tmp/cx/hook.sh"}]}`` (no timeout: 600)."""
    assert codex_hooks.trust_hash("pre_tool_use", "", {"command": "/tmp/cx/hook.sh"}) == \
        "sha256:27f025fd95e66608b91f506f2007ffd12734a03a30e426b06a07cc978efc3c86"


def launch_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, agent: str,
                     yolo: bool = True) -> dict[str, object]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.setattr(CodexProvider, "resolve_binary", lambda self: "/opt/bin/codex")
    text = "agents:\n  root:\n    model: openai/gpt-5\n    instruction: hi\n" + agent
    team = parse_team(text, source="team.yaml", base_dir=tmp_path)
    ctx = LaunchContext(terminal_id="abcd1234", working_directory=tmp_path, runtime_dir=tmp_path / "run",
                        profile=profile(team, team.members["root"]), yolo=yolo, mcp_token="tok")
    argv = CodexProvider().build_launch(ctx).argv
    return {**codex_overrides(argv), "argv": argv[argv.index("/opt/bin/codex"):]}


def test_tool_hooks_go_into_codex_hooks_each_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = launch_overrides(tmp_path, monkeypatch, "    hooks:\n"
                           "      pre_tool_use: [{command: ./check.sh, args: [a b], matcher: Bash, timeout: 20}]\n"
                           "      post_tool_use: [{command: ./log.sh}]\n")
    assert got["hooks.PreToolUse"] == [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": "./check.sh 'a b'", "timeout": 20}]}]
    assert got["hooks.PostToolUse"][0]["matcher"] == ""
    state = got["hooks.state"]
    layer = "/<session-flags>/config.toml"  # Codex's name for the -c layer
    assert set(state) == {f"{layer}:pre_tool_use:0:0", f"{layer}:post_tool_use:0:0"}
    assert state["/<session-flags>/config.toml:pre_tool_use:0:0"]["trusted_hash"] == codex_hooks.trust_hash(
        "pre_tool_use", "Bash", {"command": "./check.sh 'a b'", "timeout": 20})


def test_no_hooks_no_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = launch_overrides(tmp_path, monkeypatch, "")
    assert not [key for key in got if key.startswith("hooks")]


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_shell_rules_become_the_permission_guard_before_the_teams_own_hooks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yolo: bool) -> None:
    got = launch_overrides(tmp_path, monkeypatch, "    permissions: {allow: ['shell:cmd=git status*'], "
                           "deny: ['shell:cmd=rm*', 'shell:cmd=git push']}\n"
                           "    hooks: {pre_tool_use: [{command: ./check.sh}]}\n", yolo)
    guard, own = got["hooks.PreToolUse"]
    assert guard["matcher"] == "Bash" and "-m cao.permission_guard" in guard["hooks"][0]["command"]
    assert json.dumps([{"command": "rm", "prefix": True}, {"command": "git push", "prefix": False}]) in \
        guard["hooks"][0]["command"].replace("'", "")
    assert own["hooks"][0]["command"] == "./check.sh"
    assert "features.shell_tool" not in got  # the shell stays: only the denied commands are stopped
    if yolo:  # nothing is asked: no permission request to answer
        assert "hooks.PermissionRequest" not in got and len(got["hooks.state"]) == 2
    else:
        (allow,) = got["hooks.PermissionRequest"]
        assert "-m cao.permission_guard allow" in allow["hooks"][0]["command"]
        assert "/<session-flags>/config.toml:permission_request:0:0" in got["hooks.state"]


def test_whole_tool_denies_take_the_tools_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = launch_overrides(tmp_path, monkeypatch, "    permissions: {deny: [shell, write_file, fetch]}\n")
    assert got["features.shell_tool"] is False and got["features.unified_exec"] is False
    assert got["web_search"] == "disabled"
    argv = got["argv"]
    assert "--dangerously-bypass-approvals-and-sandbox" not in argv  # yolo keeps the read-only sandbox
    assert argv[argv.index("--sandbox") + 1] == "read-only"
    assert "hooks.PreToolUse" not in got
