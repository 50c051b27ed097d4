"""OpenCodeProvider: detect / extract_last_reply on screens recorded from OpenCode 1.18, and build_launch.

The screens under tests/screens/opencode/ come from tests/screens/record_opencode.py (the real
``opencode --mini`` in a private tmux server against cao's scripted model server, ``capture-pane -p``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cao.profiles import McpServerConfig, load_profile
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.providers.opencode import AGENT, CAO_TOOL_TIMEOUT_MS, OpenCodeProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "opencode"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\n  indented code line\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
PROVIDER = OpenCodeProvider()


def screen(name: str) -> list[str]:
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize(("name", "status", "reply"), [
    ("idle", Status.IDLE, None),
    ("idle_typed", Status.IDLE, None),  # a person's text in the input row is no answer
    ("completed_multiline", Status.COMPLETED, MULTI),
    ("processing", Status.PROCESSING, MULTI),  # the previous answer is still the last one
    ("completed_after_slow", Status.COMPLETED, "finally done"),
    ("permission_shell", Status.WAITING_USER_ANSWER, "finally done"),
    ("completed_after_tool", Status.COMPLETED, "The file is made."),
    ("completed_yolo_tool", Status.COMPLETED, "The file is made."),
    ("error", Status.ERROR, "scripted failure"),
    ("completed_after_error", Status.COMPLETED, MULTI),
    ("interrupted", Status.IDLE, None),  # Esc: "Aborted", no answer
    ("error_fresh_offline", Status.ERROR,  # no provider configured, no network: "1m 6s" of retries
     "Cannot connect to API: Unable to connect. Is the computer able to access the url?"),
    ("error_fresh_offline_busy", Status.PROCESSING,  # OpenCode works on after the error (its spinner)
     "Cannot connect to API: Unable to connect. Is the computer able to access the url?"),
    ("completed_typed", Status.COMPLETED, LONG.split("\n", 37)[37]),  # the visible tail of the long reply
])
def test_recorded_screens(name: str, status: Status, reply: str | None) -> None:
    lines = screen(name)
    assert PROVIDER.detect(lines) is status
    assert PROVIDER.extract_last_reply(lines) == reply


def test_a_reply_longer_than_the_screen() -> None:
    visible = screen("completed_long")
    assert not any("Top of a long reply." in line or line.startswith("› long") for line in visible)  # scrolled off
    assert PROVIDER.detect(visible) is Status.COMPLETED
    assert PROVIDER.extract_last_reply(screen("completed_long_scrollback")) == LONG  # tmux history: whole


def test_the_answer_after_a_shell_command_without_its_output() -> None:
    lines = screen("completed_after_tool_scrollback")
    assert "$ touch made.txt" in lines and "(no output)" in lines
    assert PROVIDER.extract_last_reply(lines) == "The file is made."


def test_a_shell_line_inside_the_answer_is_part_of_it() -> None:
    lines = screen("completed_after_tool_scrollback")
    end = max(i for i, line in enumerate(lines) if line.startswith("▣ "))
    reply = ["Run this:", "$ make test", "and look."]
    assert PROVIDER.extract_last_reply(lines[:end - 1] + reply + lines[end - 1:]) == "The file is made.\n" + \
        "\n".join(reply)


def test_the_answer_after_a_refused_shell_command_and_the_next_one() -> None:
    """As in tests/e2e_real/test_team_permissions.py: the refused call's end row, then the next call at once."""
    lines = ["› clean up", "", "$ rm /w/victim.txt", "bash completed · 462ms", "$ touch /w/made.txt", "",
             "(no output)", "", "Tidy: (no output)", "", "▣ Cao · Fake Model · 4.0s", "", "", "",
             " BUILD    10.3K Fake Model · ctrl+p cmd"]
    assert PROVIDER.detect(lines) is Status.COMPLETED
    assert PROVIDER.extract_last_reply(lines) == "Tidy: (no output)"


def test_the_answer_after_an_mcp_tool_without_its_result() -> None:
    """Captured from tests/e2e_real/test_opencode.py (the MCP call needs cao-server, not the recorder)."""
    lines = screen("completed_after_mcp_tool_scrollback")
    assert any(line.startswith("⚙ cao_send_message [") for line in lines)
    assert PROVIDER.detect(lines) is Status.COMPLETED
    assert PROVIDER.extract_last_reply(lines) == "Sent: Message 1 queued for terminal 6037a17c."


def test_a_screen_before_the_footer_is_not_ready() -> None:
    lines = screen("idle")
    footer = next(i for i, line in enumerate(lines) if "ctrl+p cmd" in line)
    assert PROVIDER.detect(lines[:footer]) is Status.UNKNOWN


def test_a_task_taken_and_not_answered_yet_is_processing_without_the_spinner() -> None:
    lines = screen("completed_after_slow")
    echo = max(i for i, line in enumerate(lines) if line.startswith("› "))
    footer = next(i for i, line in enumerate(lines) if "ctrl+p cmd" in line)
    assert PROVIDER.detect(lines[:echo + 1] + [""] * (footer - echo - 1) + lines[footer:]) is Status.PROCESSING


def test_registered() -> None:
    assert isinstance(get_provider("opencode"), OpenCodeProvider)
    assert OpenCodeProvider.tested_versions == ("1.18.33",)


TOKEN = "tok-abcd1234-secret"


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".config" / "opencode").mkdir(parents=True)
    (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps({"provider": {"p": {
        "options": {"apiKey": "{env:MY_OPENCODE_KEY}", "baseURL": "{env:UNSET_BASE}"}}}}))
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "UNSET_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MY_OPENCODE_KEY", "sk-user")
    monkeypatch.setattr(OpenCodeProvider, "resolve_binary", lambda self: "/opt/bin/opencode")
    return home


def context(tmp_path: Path, **kwargs: object) -> LaunchContext:
    values: dict = {"terminal_id": "abcd1234", "working_directory": tmp_path / "work", "runtime_dir": tmp_path / "run",
                    "profile": load_profile("developer", tmp_path / "cao-home"),
                    "allowed_tools": ("@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"),
                    "api_url": "http://127.0.0.1:9", "mcp_token": TOKEN}
    values.update(kwargs)
    return LaunchContext(**values)


def agent_of(spec_env: dict[str, str]) -> dict:
    return json.loads(spec_env["OPENCODE_CONFIG_CONTENT"])["agent"][f"{AGENT}-abcd1234"]


def test_skills_are_a_folder_of_the_terminal_in_skills_paths(fake_home: Path, tmp_path: Path) -> None:
    store = tmp_path / "cao-home" / "skills"
    ctx = context(tmp_path, skills=(store / "cao-flows",))
    spec = PROVIDER.build_launch(ctx)
    root = ctx.runtime_dir / "skills"
    assert PROVIDER.native_skills and spec.copies == {root / "cao-flows": store / "cao-flows"}
    assert json.loads(spec.files[ctx.runtime_dir / "opencode.json"])["skills"] == {"paths": [str(root)]}
    plain = PROVIDER.build_launch(context(tmp_path))
    assert plain.copies == {} and "skills" not in json.loads(plain.files[ctx.runtime_dir / "opencode.json"])


def test_build_launch_leaves_the_users_files_alone(fake_home: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path, model="fake/fake-model")
    before = {p: p.read_bytes() for p in (fake_home / ".config" / "opencode").iterdir()}
    spec = PROVIDER.build_launch(ctx)
    run = ctx.runtime_dir
    assert spec.argv == ["/opt/bin/opencode", "--mini", "--agent", f"{AGENT}-abcd1234", "-m", "fake/fake-model"]
    assert spec.uses_cao_mcp
    config = json.loads(spec.files[run / "opencode.json"])
    assert config["mcp"] == {"cao": {"type": "remote", "url": "http://127.0.0.1:9/mcp",
                                     "headers": {"Authorization": f"Bearer {TOKEN}"}, "oauth": False,
                                     "enabled": True, "timeout": CAO_TOOL_TIMEOUT_MS}}
    assert config["instructions"] == [str(run / "system_prompt.md")] and config["autoupdate"] is False
    assert spec.files[run / "system_prompt.md"].startswith("# Developer")
    assert spec.env["OPENCODE_CONFIG"] == str(run / "opencode.json")
    assert spec.env["MY_OPENCODE_KEY"] == "sk-user" and "UNSET_BASE" not in spec.env  # what the config names
    assert agent_of(spec.env)["permission"] == {"cao_*": "allow", "bash": "ask", "edit": "ask", "webfetch": "ask",
                                                "websearch": "ask"}
    assert {p: p.read_bytes() for p in (fake_home / ".config" / "opencode").iterdir()} == before


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_the_token_is_only_in_the_config_file(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo))
    assert not any(TOKEN in arg for arg in spec.argv)  # argv is visible in ps to every local user
    assert not any(TOKEN in key or TOKEN in value for key, value in spec.env.items())
    assert [path.name for path, text in spec.files.items() if TOKEN in text] == ["opencode.json"]


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_restrictions_hold_with_and_without_yolo(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo, allowed_tools=("@cao-mcp-server", "fs_read", "fs_list")))
    rules = agent_of(spec.env)["permission"]
    denied = ["bash", "task", "edit", "webfetch", "websearch"]
    if yolo:
        assert list(rules) == ["*", "cao_*", *denied]  # OpenCode applies the last matching rule: the denies win
    else:
        assert list(rules) == ["cao_*", *denied]
    assert {rules[key] for key in denied} == {"deny"}


def test_without_cao_server_nothing_waits_for_it(fake_home: Path, tmp_path: Path) -> None:
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(
        update={"mcpServers": {"other": McpServerConfig(type="stdio", command="x", args=["-y"], env={"A": "1"},
                                                        timeout=5000)}, "system_prompt": ""})
    ctx = context(tmp_path, profile=profile, allowed_tools=("*",))
    spec = PROVIDER.build_launch(ctx)
    config = json.loads(spec.files[ctx.runtime_dir / "opencode.json"])
    assert config["mcp"]["other"] == {"type": "local", "command": ["x", "-y"], "enabled": True,
                                      "environment": {"A": "1"}, "timeout": 5000}
    assert "instructions" not in config and list(spec.files) == [ctx.runtime_dir / "opencode.json"]
    spec = PROVIDER.build_launch(context(tmp_path, profile=profile, allowed_tools=("fs_read", "@other")))
    assert not spec.uses_cao_mcp


def test_tool_hooks_are_a_plugin_of_the_terminal_with_argv_not_a_shell_line(fake_home: Path, tmp_path: Path) -> None:
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(update={"hooks": {
        "pre_tool_use": [{"command": "./check.sh --strict", "args": ["a b; rm -rf /"], "matcher": "bash",
                          "timeout": 5, "env": {"LEVEL": "x y"}}],
        "post_tool_use": [{"command": "log-tool"}]}})
    ctx = context(tmp_path, profile=profile)
    spec = PROVIDER.build_launch(ctx)
    config = json.loads(spec.files[ctx.runtime_dir / "opencode.json"])
    plugin = ctx.runtime_dir / "cao-tool-hooks.js"
    assert config["plugin"] == [plugin.as_uri()]  # beside the user's own plugins, which OpenCode keeps
    text = spec.files[plugin]
    hooks = json.loads(text[text.index("const HOOKS = ") + len("const HOOKS = "):text.index(";\n\nfunction run")])
    assert hooks == {
        "tool.execute.before": [{"argv": ["./check.sh", "--strict", "a b; rm -rf /"], "env": {"LEVEL": "x y"},
                                 "matcher": "bash", "timeout_ms": 5000}],
        "tool.execute.after": [{"argv": ["log-tool"], "env": {}, "matcher": "", "timeout_ms": 60000}]}
    assert "spawn(hook.argv[0], hook.argv.slice(1)" in text and "shell" not in text  # no shell: an argv
    assert "plugin" not in json.loads(PROVIDER.build_launch(context(tmp_path)).files[ctx.runtime_dir / "opencode.json"])
