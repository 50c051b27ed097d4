"""A team member's ``permissions``: cagent's allow/deny tool patterns → Claude Code's settings rules,
Gemini CLI's policy rules, Qwen Code's settings rules and OpenCode's agent permission; patterns cao
cannot map are errors naming the line and the fix."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from cao.errors import InvalidTeam
from cao.profiles import parse_profile
from cao.providers.base import LaunchContext
from cao.providers.claude_code import ClaudeCodeProvider
from cao.providers.gemini_cli import GeminiCliProvider
from cao.providers.opencode import AGENT, OpenCodeProvider
from cao.providers.qwen_code import QwenCodeProvider, qwen_rule
from cao.teams.loader import parse_team
from cao.teams.members import profile
from cao.teams.models import Team


def team(model: str, permissions: str) -> Team:
    text = f"agents:\n  root:\n    model: {model}\n    instruction: hi\n    permissions: {permissions}\n"
    return parse_team(text, source="team.yaml", base_dir=Path("/nonexistent"))


def rules(permissions: str, model: str = "anthropic/sonnet") -> dict[str, list[dict]] | None:
    return team(model, permissions).members["root"].permissions


def test_patterns_become_cao_tools_and_commands() -> None:
    assert rules("{allow: [read_*, 'shell:cmd=git status*'], deny: ['shell:cmd=rm -rf /', fetch]}") == {
        "allow": [{"tool": "fs_read", "command": None, "prefix": False},
                  {"tool": "execute_bash", "command": "git status", "prefix": True}],
        "deny": [{"tool": "execute_bash", "command": "rm -rf /", "prefix": False},
                 {"tool": "web_fetch", "command": None, "prefix": False}]}
    assert {rule["tool"] for rule in rules("{deny: ['*']}")["deny"]} == {
        "execute_bash", "fs_read", "fs_write", "fs_list", "web_fetch"}
    write = {"tool": "fs_write", "command": None, "prefix": False}
    assert rules("{deny: [fs_write, edit_file]}")["deny"] == [write, write]


@pytest.mark.parametrize(("permissions", "expected"), [
    ("{allow: [frob]}", "agents.root.permissions.allow[0]: 'frob' names no tool cao knows (valid: shell,"),
    ("{allow: ['read_file:cmd=x']}", "only the shell tool takes :cmd="),
    ("{deny: ['shell:cmd=a*b']}", ":cmd= takes a command, or a command and a final *"),
    ("{deny: ['shell:cmd=echo \"x\"']}", ":cmd= takes a command"),
    ("{deny: ['shell:cmd=*']}", ":cmd= takes a command"),
    ("{deny: ['shell(rm)']}", "is not a tool pattern"),
    ("{deny: shell}", "agents.root.permissions.deny: must be a list of tool patterns"),
    ("{ask: [shell]}", "agents.root.permissions.ask: unknown permissions field; remove it, or use one of: allow, deny"),
])
def test_what_cao_cannot_map_is_an_error_with_its_line(permissions: str, expected: str) -> None:
    with pytest.raises(InvalidTeam) as caught:
        team("anthropic/sonnet", permissions)
    assert "team.yaml:5: " in str(caught.value) and expected in str(caught.value)


def test_a_provider_without_an_allow_deny_list_gets_a_warning_not_a_silent_pass() -> None:
    loaded = team("mock/echo", "{deny: [shell]}")
    assert loaded.members["root"].permissions is None
    assert any("mock has no allow/deny list cao can write" in w and "toolsets" in w for w in loaded.warnings)


def test_a_profile_file_cannot_carry_permissions() -> None:
    text = "---\nname: dev\npermissions: {allow: ['*']}\n---\nbody\n"
    assert parse_profile(text, source="dev.md").permissions is None


def launch_context(tmp_path: Path, member_team: Team, yolo: bool) -> LaunchContext:
    member = member_team.members["root"]
    return LaunchContext(terminal_id="abcd1234", working_directory=tmp_path, runtime_dir=tmp_path / "run",
                         profile=profile(member_team, member), yolo=yolo, mcp_token="tok")


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_claude_code_gets_them_in_its_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   yolo: bool) -> None:
    monkeypatch.setattr(ClaudeCodeProvider, "resolve_binary", lambda self: "/opt/bin/claude")
    loaded = team("anthropic/sonnet", "{allow: ['shell:cmd=git status*', read_file], deny: ['shell:cmd=rm*', shell]}")
    spec = ClaudeCodeProvider().build_launch(launch_context(tmp_path, loaded, yolo))
    settings = json.loads(spec.files[Path(spec.argv[spec.argv.index("--settings") + 1])])
    assert settings["permissions"] == {
        "allow": ["Bash(git status:*)", "Read"],
        "deny": ["Bash(rm:*)", "Bash", "BashOutput", "KillShell", "TaskOutput", "TaskStop", "Task", "Agent",
                 "Monitor"]}
    assert ("--dangerously-skip-permissions" in spec.argv) is yolo  # Claude checks deny in bypass mode too


def gemini_policy(tmp_path: Path, permissions: str, yolo: bool = False) -> list[dict]:
    loaded = team("google/gemini-2.5-pro", permissions)
    spec = GeminiCliProvider().build_launch(launch_context(tmp_path, loaded, yolo))
    return tomllib.loads(spec.files[Path(spec.argv[spec.argv.index("--policy") + 1])])["rule"]


def gemini_matches(rule: dict, command: str) -> bool:
    """How Gemini CLI 0.61 matches a shell rule: a regex searched in the call's JSON arguments."""
    args = json.dumps({"command": command}, separators=(",", ":"))
    if "commandPrefix" in rule:
        return re.search(re.escape('"command":' + json.dumps(rule["commandPrefix"])[:-1]) + r'(?:[\s"]|\\")',
                         args) is not None
    return re.search('"command":"' + rule["commandRegex"], args) is not None


@pytest.fixture
def gemini_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)
    monkeypatch.setattr(GeminiCliProvider, "resolve_binary", lambda self: "/opt/bin/gemini")


@pytest.mark.usefixtures("gemini_home")
def test_gemini_cli_gets_policy_rules_a_deny_above_yolo_an_allow_below_the_toolsets(tmp_path: Path) -> None:
    deny, allow = gemini_policy(tmp_path, "{deny: ['shell:cmd=rm*'], allow: [write_file]}", yolo=True)
    # A command rule names its one tool as a string: Gemini 0.61 reports an array there as a policy file error.
    assert deny == {"toolName": "run_shell_command", "commandPrefix": "rm", "decision": "deny", "priority": 950}
    assert allow == {"toolName": ["write_file", "replace"], "decision": "allow", "priority": 800}


@pytest.mark.usefixtures("gemini_home")
@pytest.mark.parametrize(("pattern", "matched", "not_matched"), [
    ("shell:cmd=git status*", ["git status", "git status --short"], ["git statusx", "git push", "ls; git status"]),
    ("shell:cmd=cat a.txt", ["cat a.txt"], ["cat a.txt b", "cat a.txtx", "cat a?txt", "cat abtxt"]),
    ("shell:cmd=ls -la {x}|y.$", ["ls -la {x}|y.$"], ["ls -la x|y", "ls -la {x}|yz$", "ls -la {x}"]),
])
def test_gemini_shell_rules_match_the_command_as_gemini_reads_it(tmp_path: Path, pattern: str, matched: list[str],
                                                                 not_matched: list[str]) -> None:
    (rule,) = gemini_policy(tmp_path, f"{{deny: ['{pattern}']}}")
    assert all(gemini_matches(rule, command) for command in matched), rule
    assert not any(gemini_matches(rule, command) for command in not_matched), rule



@pytest.fixture
def qwen_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("QWEN_HOME", "QWEN_CODE_SYSTEM_DEFAULTS_PATH", "QWEN_CODE_TRUSTED_FOLDERS_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(QwenCodeProvider, "resolve_binary", lambda self: "/opt/bin/qwen")
    return tmp_path / "home"


def qwen_permissions(tmp_path: Path, permissions: str, yolo: bool = False) -> dict[str, list[str]]:
    loaded = team("qwen_code/qwen3-coder", permissions)
    ctx = launch_context(tmp_path, loaded, yolo)
    spec = QwenCodeProvider().build_launch(ctx)
    return json.loads(spec.files[Path(spec.env["QWEN_CODE_SYSTEM_DEFAULTS_PATH"])])["permissions"]


@pytest.mark.usefixtures("qwen_home")
@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_qwen_code_gets_them_in_its_system_defaults_layer(tmp_path: Path, yolo: bool) -> None:
    assert qwen_permissions(tmp_path, "{allow: ['shell:cmd=git status*', read_file], "
                                      "deny: ['shell:cmd=rm*', 'shell:cmd=rm -rf /', shell]}", yolo) == {
        "allow": ["run_shell_command(git status *)", "read_file", "zoom_image"],
        "deny": ["run_shell_command(rm *)", "run_shell_command(rm -rf /)", "run_shell_command", "monitor", "task_stop",
                 "agent"]}


def test_qwen_code_keeps_the_administrators_rules(tmp_path: Path, qwen_home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    admin = tmp_path / "system-defaults.json"
    admin.write_text(json.dumps({"permissions": {"deny": ["web_fetch"], "ask": ["edit"]}}))
    monkeypatch.setenv("QWEN_CODE_SYSTEM_DEFAULTS_PATH", str(admin))
    assert qwen_permissions(tmp_path, "{deny: ['shell:cmd=rm*']}") == {
        "deny": ["web_fetch", "run_shell_command(rm *)"], "ask": ["edit"]}


def test_qwen_code_cannot_allow_a_command_exactly_so_it_warns_instead() -> None:
    loaded = team("qwen_code/qwen3-coder", "{allow: ['shell:cmd=git push', 'shell:cmd=git status*'], "
                                           "deny: ['shell:cmd=rm -rf /']}")
    assert loaded.members["root"].permissions == {
        "allow": [{"tool": "execute_bash", "command": "git status", "prefix": True}],
        "deny": [{"tool": "execute_bash", "command": "rm -rf /", "prefix": False}]}
    assert any(w.startswith("team.yaml:5: agents.root.permissions.allow[0]: not applied: qwen_code cannot allow a "
                            "command exactly") and "write shell:cmd=git push* to allow it" in w
               for w in loaded.warnings), loaded.warnings


def test_qwen_code_writes_no_exact_allow_even_from_a_fallback() -> None:
    """A member of another CLI (its exact allow applied there) that falls back to Qwen Code."""
    exact = {"tool": "execute_bash", "command": "git push", "prefix": False}
    assert qwen_rule(exact, "allow") == []
    assert qwen_rule(exact, "deny") == ["run_shell_command(git push)"]


def qwen_matches(rule: str, command: str) -> bool:
    """How Qwen Code 0.24.4 matches a shell rule (``matchesCommandPattern``): without ``*`` the command or the
    command and more words; ``X *`` is ``^X( .*)?$``."""
    pattern = rule.removeprefix("run_shell_command(").removesuffix(")")
    if "*" not in pattern:
        return command == pattern or command.startswith(pattern + " ")
    return re.fullmatch(re.escape(pattern.removesuffix(" *")) + "( .*)?", command, re.S) is not None


@pytest.mark.usefixtures("qwen_home")
@pytest.mark.parametrize(("pattern", "matched", "not_matched"), [
    ("shell:cmd=git status*", ["git status", "git status --short"], ["git statusx", "git push", "xgit status"]),
    ("shell:cmd=rm -rf build", ["rm -rf build", "rm -rf build extra"], ["rm -rf buildx", "rm -rf", "rm build"]),
])
def test_qwen_shell_rules_match_the_command_as_qwen_reads_it(tmp_path: Path, pattern: str, matched: list[str],
                                                             not_matched: list[str]) -> None:
    (rule,) = qwen_permissions(tmp_path, f"{{deny: ['{pattern}']}}")["deny"]
    assert all(qwen_matches(rule, command) for command in matched), rule
    assert not any(qwen_matches(rule, command) for command in not_matched), rule


@pytest.fixture
def opencode_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setattr(OpenCodeProvider, "resolve_binary", lambda self: "/opt/bin/opencode")


def opencode_permission(tmp_path: Path, permissions: str, yolo: bool = False,
                        allowed: tuple[str, ...] | None = None) -> dict:
    ctx = launch_context(tmp_path, team("opencode/fake/model", permissions), yolo)
    if allowed is not None:
        ctx = LaunchContext(**{**ctx.__dict__, "allowed_tools": allowed})
    spec = OpenCodeProvider().build_launch(ctx)
    return json.loads(spec.env["OPENCODE_CONFIG_CONTENT"])["agent"][f"{AGENT}-abcd1234"]["permission"]


def opencode_wildcard(value: str, pattern: str) -> bool:
    """OpenCode 1.18.33's ``Wildcard.match``: ``*`` and ``?`` only, a final `` *`` also matches nothing."""
    regex = "".join({"*": ".*", "?": "."}.get(c, re.escape(c) if c != " " else c) for c in pattern)
    if regex.endswith(" .*"):
        regex = regex[:-3] + "( .*)?"
    return re.fullmatch(regex, value, re.S) is not None


def opencode_rules(permission: dict) -> list[tuple[str, str, str]]:
    """The agent's ``permission`` as OpenCode's ruleset (``Permission.fromConfig``): keys in order, a map in order."""
    return [(key, pattern, action) for key, value in permission.items()
            for pattern, action in ([("*", value)] if isinstance(value, str) else value.items())]


def opencode_decision(permission: dict, tool: str, value: str) -> str:
    """``Permission.evaluate``: the last matching rule's action (OpenCode's default: ask)."""
    return next((action for key, pattern, action in reversed(opencode_rules(permission))
                 if opencode_wildcard(tool, key) and opencode_wildcard(value, pattern)), "ask")


def opencode_offered(permission: dict, tool: str) -> bool:
    """``Permission.disabled``: a tool is not offered when the last rule about it denies it as a whole."""
    tool = "edit" if tool in ("write", "apply_patch") else tool
    last = next((rule for rule in reversed(opencode_rules(permission)) if opencode_wildcard(tool, rule[0])), None)
    return last is None or last[1:] != ("*", "deny")


@pytest.mark.usefixtures("opencode_home")
@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_opencode_gets_them_in_its_agents_permission_a_deny_after_the_allows(tmp_path: Path, yolo: bool) -> None:
    permission = opencode_permission(
        tmp_path, "{allow: ['shell:cmd=git *', 'shell:cmd=git status', read_file], "
                  "deny: ['shell:cmd=git push*', 'shell:cmd=git status', fetch]}", yolo)
    shell = {"git *": "allow", "git push *": "deny", "git status": "deny"}
    if yolo:
        assert permission == {"*": "allow", "cao_*": "allow", "bash": shell, "read": "allow",
                              "webfetch": "deny", "websearch": "deny"}
    else:
        assert permission == {"cao_*": "allow", "bash": {"*": "ask", **shell}, "edit": "ask", "webfetch": "deny",
                              "websearch": "deny", "read": "allow"}
    decide = lambda command: opencode_decision(permission, "bash", command)  # noqa: E731
    assert [decide(c) for c in ("git log", "git push origin", "git push", "git status")] == [
        "allow", "deny", "deny", "deny"]
    assert decide("git statusx") == "allow" and decide("ls") == ("allow" if yolo else "ask")
    assert not opencode_offered(permission, "webfetch") and opencode_offered(permission, "bash")


@pytest.mark.usefixtures("opencode_home")
def test_opencode_a_whole_tool_deny_drops_the_tool_and_an_allow_never_brings_back_a_withheld_one(
        tmp_path: Path) -> None:
    permission = opencode_permission(tmp_path, "{allow: ['shell:cmd=touch*', shell, write_file], deny: [shell]}")
    assert permission["bash"] == permission["task"] == "deny"  # the shell's subagents go with it
    assert not opencode_offered(permission, "bash") and opencode_decision(permission, "bash", "touch x") == "deny"
    withheld = opencode_permission(tmp_path, "{allow: ['shell:cmd=touch*', write_file]}", yolo=True,
                                   allowed=("fs_read", "fs_list", "@cao-mcp-server"))
    assert list(withheld)[-5:] == ["bash", "task", "edit", "webfetch", "websearch"]  # after every allow
    assert not any(opencode_offered(withheld, tool) for tool in ("bash", "edit", "write"))
    assert opencode_decision(withheld, "bash", "touch x") == "deny"
