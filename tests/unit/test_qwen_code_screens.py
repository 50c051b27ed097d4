"""QwenCodeProvider: detect / extract_last_reply on screens recorded from Qwen Code 0.24, and build_launch.

The screens under tests/screens/qwen_code/ come from tests/screens/record_qwen_code.py (the real
``qwen`` in a private tmux server against cao's scripted model server, ``capture-pane -p``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cao.profiles import McpServerConfig, load_profile
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.providers.qwen_code import CAO_DEFAULTS, CAO_TOOL_TIMEOUT_MS, SH_APPEND_PROMPT, QwenCodeProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "qwen_code"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\n  indented code line\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
PROVIDER = QwenCodeProvider()


def screen(name: str) -> list[str]:
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize(("name", "status", "reply"), [
    ("idle", Status.IDLE, None),
    ("idle_yolo", Status.IDLE, None),
    ("idle_typed", Status.COMPLETED, None),  # a person's text in the box under the long reply's tail
    ("processing", Status.PROCESSING, MULTI),  # the previous answer is still the last one
    ("completed_multiline", Status.COMPLETED, MULTI),
    ("completed_after_slow", Status.COMPLETED, "finally done"),
    ("permission_shell", Status.WAITING_USER_ANSWER, "finally done"),
    ("completed_after_tool", Status.COMPLETED, "The file is made."),
    ("error", Status.ERROR, "The file is made."),
    ("completed_after_error", Status.COMPLETED, MULTI),
    ("interrupted", Status.IDLE, None),  # Esc mid-turn: Qwen removes the task's echo, says so
    # Esc before the model sent anything: the turn rewound, its message back in the box; alone, this
    # screen is the previous turn's (see test_a_turn_taken_back_after_esc)
    ("interrupted_turn_taken_back", Status.COMPLETED, "Hello."),
    ("trust_dialog", Status.WAITING_USER_ANSWER, None),
    ("auth_dialog", Status.WAITING_USER_ANSWER, None),
])
def test_recorded_screens(name: str, status: Status, reply: str | None) -> None:
    lines = screen(name)
    assert PROVIDER.detect(lines) is status
    assert PROVIDER.extract_last_reply(lines) == reply


def test_a_reply_longer_than_the_screen() -> None:
    visible = screen("completed_long")
    assert not any("Top of a long reply." in line or "  > long" in line for line in visible)  # scrolled off
    assert PROVIDER.detect(visible) is Status.COMPLETED
    assert PROVIDER.extract_last_reply(screen("completed_long_scrollback")) == LONG  # tmux history: whole


@pytest.mark.parametrize(("name", "taken_back"), [
    ("interrupted_turn_taken_back", True), ("idle_typed", True),
    ("interrupted", False), ("completed_multiline", False), ("idle", False), ("idle_yolo", False),
])
def test_a_turn_taken_back_after_esc(name: str, taken_back: bool) -> None:
    """The engine asks only after cao pressed Esc in this turn: then a message in the box is the
    cancelled one Qwen put back, and the answer on screen belongs to the turn before."""
    assert PROVIDER.ended_unanswered(screen(name)) is taken_back


def test_text_typed_by_a_person_is_not_an_answer() -> None:
    typed = next(line for line in screen("idle_typed") if line.startswith("> typed by a person"))
    lines = [typed if line.startswith(">   Type your message") else line for line in screen("idle")]
    assert typed in lines
    assert PROVIDER.detect(lines) is Status.IDLE


def test_a_user_message_without_an_answer_yet_is_idle_not_completed() -> None:
    lines = screen("completed_multiline")
    cut = next(i for i, line in enumerate(lines) if line.startswith("  ◆"))
    rule = next(i for i, line in enumerate(lines) if line.startswith("────"))
    assert PROVIDER.detect(lines[:cut] + [""] * (rule - cut) + lines[rule:]) is Status.IDLE


def test_an_input_box_before_any_banner_is_not_ready_yet() -> None:
    lines = screen("idle")
    rule = next(i for i, line in enumerate(lines) if line.startswith("────"))
    assert PROVIDER.detect([""] * rule + lines[rule:]) is Status.UNKNOWN


def test_registered() -> None:
    assert isinstance(get_provider("qwen_code"), QwenCodeProvider)
    assert QwenCodeProvider.tested_versions == ("0.24.4",)


TOKEN = "tok-abcd1234-secret"


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".qwen").mkdir(parents=True)
    (home / ".qwen" / "settings.json").write_text(json.dumps({"modelProviders": {"openai": [
        {"id": "m", "baseUrl": "http://x/v1", "envKey": "MY_QWEN_KEY"}, {"id": "n", "envKey": "UNSET_KEY"}]}}))
    (home / ".qwen" / "trustedFolders.json").write_text(json.dumps({"/elsewhere": "DO_NOT_TRUST"}))
    monkeypatch.setenv("HOME", str(home))
    for name in ("QWEN_HOME", "QWEN_CODE_SYSTEM_DEFAULTS_PATH", "QWEN_CODE_TRUSTED_FOLDERS_PATH", "UNSET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MY_QWEN_KEY", "sk-user")
    monkeypatch.setattr(QwenCodeProvider, "resolve_binary", lambda self: "/opt/bin/qwen")
    return home


def context(tmp_path: Path, **kwargs: object) -> LaunchContext:
    values: dict = {"terminal_id": "abcd1234", "working_directory": tmp_path / "work", "runtime_dir": tmp_path / "run",
                    "profile": load_profile("developer", tmp_path / "cao-home"),
                    "allowed_tools": ("@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"),
                    "api_url": "http://127.0.0.1:9", "mcp_token": TOKEN}
    values.update(kwargs)
    return LaunchContext(**values)


def test_build_launch_leaves_the_users_files_alone(fake_home: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path, model="qwen3-coder")
    before = {p: p.read_bytes() for p in (fake_home / ".qwen").iterdir()}
    spec = PROVIDER.build_launch(ctx)
    run = ctx.runtime_dir
    prompt = run / "system_prompt.md"
    assert spec.argv == ["/bin/sh", "-c", SH_APPEND_PROMPT, "cao-qwen", str(prompt), "/opt/bin/qwen",
                         "--approval-mode", "default", "--mcp-config", str(run / "qwen-mcp.json"), "-m", "qwen3-coder"]
    assert spec.files[prompt].startswith("# Developer")
    assert spec.uses_cao_mcp
    assert json.loads(spec.files[run / "qwen-mcp.json"]) == {"mcpServers": {"cao": {
        "httpUrl": "http://127.0.0.1:9/mcp", "headers": {"Authorization": f"Bearer {TOKEN}"},
        "timeout": CAO_TOOL_TIMEOUT_MS, "trust": True, "alwaysLoadTools": True}}}
    assert json.loads(spec.files[run / "qwen-defaults.json"]) == CAO_DEFAULTS
    assert json.loads(spec.files[run / "qwen-trusted-folders.json"]) == {
        "/elsewhere": "DO_NOT_TRUST", str(ctx.working_directory): "TRUST_FOLDER"}
    assert spec.env == {"MY_QWEN_KEY": "sk-user", "QWEN_CODE_SYSTEM_DEFAULTS_PATH": str(run / "qwen-defaults.json"),
                        "QWEN_CODE_TRUSTED_FOLDERS_PATH": str(run / "qwen-trusted-folders.json"),
                        "QWEN_CODE_NO_RELAUNCH": "true"}
    assert {p: p.read_bytes() for p in (fake_home / ".qwen").iterdir()} == before


def test_the_users_own_trust_decision_about_the_folder_stands(fake_home: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (fake_home / ".qwen" / "trustedFolders.json").write_text(json.dumps({str(ctx.working_directory): "DO_NOT_TRUST"}))
    trust = json.loads(PROVIDER.build_launch(ctx).files[ctx.runtime_dir / "qwen-trusted-folders.json"])
    assert trust == {str(ctx.working_directory): "DO_NOT_TRUST"}


def test_system_defaults_keep_the_administrators_and_add_caos(fake_home: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    admin = tmp_path / "system-defaults.json"
    admin.write_text(json.dumps({"ui": {"theme": "Dracula"}, "privacy": {"usageStatisticsEnabled": False}}))
    monkeypatch.setenv("QWEN_CODE_SYSTEM_DEFAULTS_PATH", str(admin))
    ctx = context(tmp_path)
    defaults = json.loads(PROVIDER.build_launch(ctx).files[ctx.runtime_dir / "qwen-defaults.json"])
    assert defaults["ui"] == {"theme": "Dracula", "useTerminalBuffer": False, "enableUserFeedback": False,
                              "enableFollowupSuggestions": False}
    assert defaults["privacy"] == {"usageStatisticsEnabled": False}


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_the_token_is_only_in_the_mcp_config(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo))
    assert not any(TOKEN in arg for arg in spec.argv)  # argv is visible in ps to every local user
    assert not any(TOKEN in key or TOKEN in value for key, value in spec.env.items())
    assert [path.name for path, text in spec.files.items() if TOKEN in text] == ["qwen-mcp.json"]


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_restrictions_hold_with_and_without_yolo(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo, allowed_tools=("@cao-mcp-server", "fs_read", "fs_list")))
    assert spec.argv[spec.argv.index("--approval-mode") + 1] == ("yolo" if yolo else "default")
    excluded = next(arg for arg in spec.argv if arg.startswith("--exclude-tools="))
    assert set(excluded.split("=", 1)[1].split(",")) == {
        "run_shell_command", "monitor", "task_stop", "agent", "write_file", "edit", "notebook_edit",
        "web_fetch", "web_search"}


def test_without_cao_server_nothing_waits_for_it(fake_home: Path, tmp_path: Path) -> None:
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(
        update={"mcpServers": {"other": McpServerConfig(type="stdio", command="x", timeout=5000)},
                "system_prompt": ""})
    ctx = context(tmp_path, profile=profile, allowed_tools=("*",))
    spec = PROVIDER.build_launch(ctx)
    assert json.loads(spec.files[ctx.runtime_dir / "qwen-mcp.json"])["mcpServers"]["other"] == {
        "command": "x", "args": [], "env": {}, "timeout": 5000}
    assert spec.argv[0] == "/opt/bin/qwen"  # no profile prompt: Qwen's own system prompt, no shell
    assert not any(arg.startswith("--exclude-tools") for arg in spec.argv)
    spec = PROVIDER.build_launch(context(tmp_path, profile=profile, allowed_tools=("fs_read", "@other")))
    assert not spec.uses_cao_mcp


def test_a_members_tool_hooks_follow_the_administrators_in_the_system_defaults(fake_home: Path, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    admin = tmp_path / "system-defaults.json"
    theirs = {"matcher": "write_file", "hooks": [{"type": "command", "command": "audit"}]}
    admin.write_text(json.dumps({"hooks": {"PreToolUse": [theirs]}}))
    monkeypatch.setenv("QWEN_CODE_SYSTEM_DEFAULTS_PATH", str(admin))
    mine = {"hooks": {"PreToolUse": [{"matcher": "", "hooks": [{"type": "command", "command": "my-hook"}]}]}}
    (fake_home / ".qwen" / "settings.json").write_text(json.dumps(mine))
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(update={"hooks": {
        "pre_tool_use": [{"command": "./check.sh", "args": ["a b"], "matcher": "run_shell_command", "timeout": 5,
                          "env": {"LEVEL": "x y"}}],
        "post_tool_use": [{"command": "log-tool", "timeout": 1800}]}})
    ctx = context(tmp_path, profile=profile)
    defaults = json.loads(PROVIDER.build_launch(ctx).files[ctx.runtime_dir / "qwen-defaults.json"])
    assert defaults["hooks"] == {
        "PreToolUse": [theirs, {"matcher": "run_shell_command", "hooks": [
            {"type": "command", "command": "env 'LEVEL=x y' ./check.sh 'a b'", "timeout": 5}]}],
        # Qwen reads 1000 and more as milliseconds
        "PostToolUse": [{"matcher": "", "hooks": [{"type": "command", "command": "log-tool", "timeout": 1_800_000}]}]}
    assert json.loads((fake_home / ".qwen" / "settings.json").read_text()) == mine  # the user's own stay, untouched
