"""GeminiCliProvider: detect / extract_last_reply on screens recorded from Gemini CLI 0.61, and build_launch.

The screens under tests/screens/gemini_cli/ come from tests/screens/record_gemini_cli.py (the real
``gemini`` in a private tmux server against cao's scripted model server, ``capture-pane -p``).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from cao.profiles import McpServerConfig, load_profile
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.providers.gemini_cli import CAO_TOOL_TIMEOUT_MS, GeminiCliProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "gemini_cli"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\n  indented code line\nLast line."
PROVIDER = GeminiCliProvider()


def screen(name: str) -> list[str]:
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize(("name", "status", "reply"), [
    ("starting", Status.UNKNOWN, None),  # input box drawn, banner not yet: typed text can be lost
    ("idle", Status.IDLE, None),
    ("idle_yolo", Status.IDLE, None),
    ("idle_policy_error", Status.IDLE, None),  # "✕ [USER] Policy file error in …" at startup: no turn failed
    ("processing", Status.PROCESSING, MULTI),  # the previous answer is still the last one
    # Its AfterTool hooks still run; the spinner's "(esc to cancel" is past the window's edge.
    ("executing_hooks_after_the_answer", Status.PROCESSING, "Done: <untrusted_context"),
    ("completed_multiline", Status.COMPLETED, MULTI),
    ("completed_after_slow", Status.COMPLETED, "finally done"),
    ("permission_shell", Status.WAITING_USER_ANSWER, "finally done"),
    ("completed_after_tool", Status.COMPLETED, "The file is made."),
    ("error", Status.ERROR, "The file is made."),
    ("completed_after_error", Status.COMPLETED, MULTI),
    ("completed_long", Status.COMPLETED, None),  # the answer's ✦ line scrolled off: cao reads it from history
    ("trust_dialog", Status.WAITING_USER_ANSWER, None),
    ("auth_dialog", Status.WAITING_USER_ANSWER, None),
])
def test_recorded_screens(name: str, status: Status, reply: str | None) -> None:
    lines = screen(name)
    assert PROVIDER.detect(lines) is status
    assert PROVIDER.extract_last_reply(lines) == reply


def test_text_typed_into_the_box_keeps_no_status() -> None:
    lines = [line.replace("Type your message or @path/to/file", "half typed task") for line in screen("idle")]
    assert PROVIDER.detect(lines) is Status.UNKNOWN  # the engine keeps the last known status


def test_a_user_message_without_an_answer_yet_is_idle_not_completed() -> None:
    lines = screen("completed_multiline")
    cut = next(i for i, line in enumerate(lines) if line.startswith("✦ "))
    rule = next(i for i, line in enumerate(lines) if line.startswith("────"))
    assert PROVIDER.detect(lines[:cut] + [""] * (rule - cut) + lines[rule:]) is Status.IDLE


def test_registered() -> None:
    assert isinstance(get_provider("gemini_cli"), GeminiCliProvider)
    assert GeminiCliProvider.tested_versions == ("0.61.0",)


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    dot = home / ".gemini"
    dot.mkdir(parents=True)
    (dot / "settings.json").write_text(json.dumps({"mcpServers": {"mine": {"command": "my-server"}},
                                                   "ui": {"theme": "Dracula"}}))
    (dot / "oauth_creds.json").write_text("{}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    monkeypatch.setattr(GeminiCliProvider, "resolve_binary", lambda self: "/opt/bin/gemini")
    return home


TOKEN = "tok-abcd1234-secret"


def context(tmp_path: Path, **kwargs: object) -> LaunchContext:
    profile = load_profile("developer", tmp_path / "cao-home")
    values: dict = {"terminal_id": "abcd1234", "working_directory": tmp_path, "runtime_dir": tmp_path / "run",
                    "profile": profile, "allowed_tools": ("@builtin", "fs_*", "execute_bash", "web_fetch",
                                                          "@cao-mcp-server"), "api_url": "http://127.0.0.1:9",
                    "mcp_token": TOKEN}
    values.update(kwargs)
    return LaunchContext(**values)


def test_build_launch_per_terminal_home_keeps_the_users_settings(fake_home: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path, model="gemini-2.5-pro")
    spec = PROVIDER.build_launch(ctx)
    assert spec.argv == ["/opt/bin/gemini", "-m", "gemini-2.5-pro"]
    assert spec.uses_cao_mcp
    home = ctx.runtime_dir / "gemini-home"
    assert spec.env["GEMINI_CLI_HOME"] == str(home)
    assert spec.env["GEMINI_CLI_TRUSTED_FOLDERS_PATH"] == str(fake_home / ".gemini" / "trustedFolders.json")
    settings = json.loads(spec.files[home / ".gemini" / "settings.json"])
    assert settings["ui"] == {"theme": "Dracula"}
    assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert settings["mcpServers"]["cao"] == {
        "type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": f"Bearer {TOKEN}"},
        "timeout": CAO_TOOL_TIMEOUT_MS, "trust": True}
    assert CAO_TOOL_TIMEOUT_MS >= 3600 * 1000
    assert settings["mcpServers"]["mine"] == {"command": "my-server"}
    assert "cao-mcp-server" not in settings["mcpServers"]  # the profile's entry is cao's own server
    assert (home / ".gemini" / "oauth_creds.json").resolve() == fake_home / ".gemini" / "oauth_creds.json"
    assert json.loads((fake_home / ".gemini" / "settings.json").read_text())["mcpServers"] == {
        "mine": {"command": "my-server"}}  # the user's file is untouched
    prompt = spec.files[ctx.runtime_dir / "system.md"]
    assert spec.env["GEMINI_SYSTEM_MD"] == str(ctx.runtime_dir / "system.md")
    assert prompt.startswith("# Developer") and "${AvailableTools}" in prompt


def test_the_working_folder_is_trusted_for_the_run_unless_the_user_distrusts_it(fake_home: Path,
                                                                              tmp_path: Path) -> None:
    ctx = context(tmp_path)
    assert PROVIDER.build_launch(ctx).env["GEMINI_CLI_TRUST_WORKSPACE"] == "true"  # no file is written for it
    trust_file = fake_home / ".gemini" / "trustedFolders.json"
    trust_file.write_text(json.dumps({str(ctx.working_directory): "DO_NOT_TRUST"}))
    assert "GEMINI_CLI_TRUST_WORKSPACE" not in PROVIDER.build_launch(ctx).env
    assert json.loads(trust_file.read_text()) == {str(ctx.working_directory): "DO_NOT_TRUST"}


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_the_token_is_only_in_the_settings_file(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo))
    assert not any(TOKEN in arg for arg in spec.argv)  # argv is visible in ps to every local user
    assert not any(TOKEN in key or TOKEN in value for key, value in spec.env.items())
    assert [path.name for path, text in spec.files.items() if TOKEN in text] == ["settings.json"]


def test_build_launch_yolo_and_no_model(fake_home: Path, tmp_path: Path) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=True, allowed_tools=("*",)))
    assert spec.argv == ["/opt/bin/gemini", "--approval-mode", "yolo"]  # no -m: Gemini's router picks


def test_build_launch_restrictions_become_a_deny_policy(fake_home: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path, allowed_tools=("@cao-mcp-server", "fs_read", "fs_list"))
    spec = PROVIDER.build_launch(ctx)
    policy_path = ctx.runtime_dir / "policy.toml"
    assert spec.argv[-2:] == ["--policy", str(policy_path)]
    rule = tomllib.loads(spec.files[policy_path])["rule"][0]
    assert rule["decision"] == "deny"
    assert set(rule["toolName"]) == {"run_shell_command", "list_background_processes", "read_background_output",
                                     "write_file", "replace", "web_fetch", "google_web_search"}


def test_skills_go_into_the_terminal_home_and_activate_unasked(fake_home: Path, tmp_path: Path) -> None:
    store = tmp_path / "cao-home" / "skills"
    ctx = context(tmp_path, allowed_tools=("@cao-mcp-server", "fs_read"), skills=(store / "team-notes", store / "a.b"))
    spec = PROVIDER.build_launch(ctx)
    agents = ctx.runtime_dir / "gemini-home" / ".agents" / "skills"
    assert PROVIDER.native_skills
    assert spec.copies == {agents / "team-notes": store / "team-notes", agents / "a.b": store / "a.b"}
    rules = tomllib.loads(spec.files[ctx.runtime_dir / "policy.toml"])["rule"]
    assert [r["decision"] for r in rules] == ["deny", "allow"]
    allow = rules[1]
    assert allow["toolName"] == "activate_skill"
    pattern = re.compile(allow["argsPattern"])  # matched against the call's JSON arguments
    assert pattern.search('{"name":"team-notes"}') and pattern.search('{"name":"a.b"}')
    assert not pattern.search('{"name":"users-own"}') and not pattern.search('{"name":"team-notes-2"}')
    assert not pattern.search('{"name":"axb"}')
    assert "${AgentSkills}" in spec.files[ctx.runtime_dir / "system.md"]
    plain = PROVIDER.build_launch(context(tmp_path, allowed_tools=("*",)))
    assert plain.copies == {} and "--policy" not in plain.argv


def test_build_launch_without_cao_server_does_not_wait_for_it(fake_home: Path, tmp_path: Path) -> None:
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(
        update={"mcpServers": {"other": McpServerConfig(command="x", timeout=5000)}, "system_prompt": ""})
    ctx = context(tmp_path, profile=profile, allowed_tools=("fs_read", "@other"))
    spec = PROVIDER.build_launch(ctx)
    settings = json.loads(spec.files[ctx.runtime_dir / "gemini-home" / ".gemini" / "settings.json"])
    assert set(settings["mcpServers"]) == {"mine", "other"}
    assert settings["mcpServers"]["other"]["timeout"] == 5000
    assert not spec.uses_cao_mcp
    assert "GEMINI_SYSTEM_MD" not in spec.env  # no profile prompt: Gemini's own system prompt


def test_a_profiles_tool_hooks_follow_the_users_own_in_gemini_settings(fake_home: Path, tmp_path: Path) -> None:
    dot = fake_home / ".gemini"
    mine = {"matcher": "write_file", "hooks": [{"type": "command", "command": "my-audit"}]}
    dot.joinpath("settings.json").write_text(json.dumps({"hooks": {"BeforeTool": [mine]}}))
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(update={"hooks": {
        "pre_tool_use": [{"command": "./check.sh", "args": ["a b"], "matcher": "run_shell_command", "timeout": 5,
                          "env": {"LEVEL": "x y"}}],
        "post_tool_use": [{"command": "log-tool"}]}})
    ctx = context(tmp_path, profile=profile)
    files = PROVIDER.build_launch(ctx).files
    settings = json.loads(files[ctx.runtime_dir / "gemini-home" / ".gemini" / "settings.json"])
    assert settings["hooks"] == {
        "BeforeTool": [mine, {"matcher": "run_shell_command", "hooks": [
            {"type": "command", "command": "env 'LEVEL=x y' ./check.sh 'a b'", "timeout": 5000}]}],
        "AfterTool": [{"matcher": "", "hooks": [{"type": "command", "command": "log-tool"}]}]}
    assert json.loads(dot.joinpath("settings.json").read_text()) == {"hooks": {"BeforeTool": [mine]}}  # untouched
