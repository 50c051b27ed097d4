"""ClaudeCodeProvider: detect and extract on screens recorded from the real Claude Code 2.1.197 (screens/claude_code/)
and 2.1.332 (screens/claude_code/2.1.332/, tests/screens/record_claude_code.py), and the launch cao builds."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import NamedTuple

import pytest

from cao.profiles import ROLE_DEFAULTS, AgentProfile, McpServerConfig
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.providers.claude_code import ClaudeCodeProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "claude_code"
PROVIDER = ClaudeCodeProvider()
MULTILINE = "Line one of the reply.\nLine two, with bold text.\n\n- item a\n- item b\nFinal line."
MCP_REPLY = 'tool said: {"result":"probe echo: hi from claude"}'  # the MCP probe stands in for cao-server


LATEST = "2.1.332"
LONG = "\n".join(f"Row {n} of the long reply." for n in range(1, 201))
MULTILINE_LATEST = MULTILINE.replace("\nFinal line.", "\n  Final line.")  # 2.1.332 indents it under the list
MCP_REPLY_LATEST = MCP_REPLY


def screen(name: str, version: str | None = None) -> list[str]:
    folder = SCREENS / version if version else SCREENS
    return (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()


class ScreenCase(NamedTuple):
    test_id: str
    screen: str
    status: Status
    reply: str | None


SCREEN_CASES = [
    ScreenCase("fresh start is idle", "idle", Status.IDLE, None),
    ScreenCase("fresh start in bypass mode is idle", "idle_bypass", Status.IDLE, None),
    ScreenCase("spinner and 'esc to interrupt' is processing", "processing", Status.PROCESSING, MULTILINE),
    ScreenCase("a long silent Bash run is processing", "processing_tool", Status.PROCESSING, None),
    ScreenCase("API retry banner is processing", "processing_retry", Status.PROCESSING, MCP_REPLY),
    ScreenCase("reply then '✻ <Verb>ed for Ns' is completed", "completed", Status.COMPLETED, "OK: hello there"),
    ScreenCase("multi-line reply kept whole", "completed_multiline", Status.COMPLETED, MULTILINE),
    ScreenCase("reply after a permitted tool skips the tool block", "completed_after_tool", Status.COMPLETED,
               "tool said: first\nsecond"),
    ScreenCase("reply after a Bash run in bypass mode", "completed_after_bash", Status.COMPLETED,
               "tool said: slept"),
    ScreenCase("reply after cao's MCP tool (collapsed 'Called cao')", "completed_mcp_call", Status.COMPLETED,
               MCP_REPLY),
    ScreenCase("pasted multi-line task echoed and answered", "completed_pasted_multiline", Status.COMPLETED,
               "OK: first line of the task\nsecond line of the task\nthird line"),
    ScreenCase("Esc during a retry puts the message back: idle, not completed", "interrupted", Status.IDLE,
               MCP_REPLY),
    ScreenCase("Esc while thinking puts the message back: idle", "interrupted_thinking", Status.IDLE, None),
    ScreenCase("a reply longer than the screen is completed (its echo scrolled off)", "completed_long",
               Status.COMPLETED, None),
    ScreenCase("next turn after an interrupt", "completed_after_interrupt", Status.COMPLETED, "OK: hello again"),
    ScreenCase("'● API Error: 400' is error", "error_400", Status.ERROR, "API Error: 400 scripted failure"),
    ScreenCase("Bash permission box is waiting", "permission_bash", Status.WAITING_USER_ANSWER,
               "API Error: 400 scripted failure"),
    ScreenCase("custom API key dialog (cao does not answer it) is waiting", "dialog_api_key",
               Status.WAITING_USER_ANSWER, None),
    ScreenCase("trust dialog is answered by cao: unknown", "dialog_trust", Status.UNKNOWN, None),
    ScreenCase("bypass warning is answered by cao: unknown", "dialog_bypass", Status.UNKNOWN, None),
]


# The same scenarios on 2.1.332 ("✻ Baked for 0s · done 2:20 PM", "manual mode", unnumbered dialogs).
LATEST_CASES = [
    ScreenCase("idle", "idle", Status.IDLE, None),
    ScreenCase("idle in bypass mode", "idle_bypass", Status.IDLE, None),
    ScreenCase("processing", "processing", Status.PROCESSING, MULTILINE_LATEST),
    ScreenCase("a Bash run in bypass mode is processing", "processing_tool", Status.PROCESSING, None),
    ScreenCase("'retrying in 5s · attempt 6/10' is processing", "processing_retry", Status.PROCESSING,
               MCP_REPLY_LATEST),
    ScreenCase("'✻ <Verb>ed for 0s · done <time>' is completed", "completed", Status.COMPLETED, "OK: hello there"),
    ScreenCase("multi-line reply", "completed_multiline", Status.COMPLETED, MULTILINE_LATEST),
    ScreenCase("reply after a permitted tool ('Ran 1 shell command')", "completed_after_tool", Status.COMPLETED,
               "tool said: first\nsecond"),
    ScreenCase("reply after a Bash run in bypass mode", "completed_after_bash", Status.COMPLETED, "tool said: slept"),
    ScreenCase("reply after an MCP tool over HTTP ('Called cao')", "completed_mcp_call", Status.COMPLETED,
               MCP_REPLY_LATEST),
    ScreenCase("pasted multi-line task", "completed_pasted_multiline", Status.COMPLETED,
               "OK: first line of the task\nsecond line of the task\nthird line"),
    ScreenCase("long reply, echo scrolled off", "completed_long", Status.COMPLETED, None),
    ScreenCase("Esc during a retry: idle", "interrupted", Status.IDLE, MCP_REPLY_LATEST),
    ScreenCase("Esc while thinking: idle", "interrupted_thinking", Status.IDLE, None),
    ScreenCase("next turn after an interrupt", "completed_after_interrupt", Status.COMPLETED, "OK: hello again"),
    ScreenCase("next turn after Esc while thinking", "completed_after_interrupt_thinking", Status.COMPLETED,
               "OK: hello once more"),
    ScreenCase("'● API Error: 400' is error, its text the output (not the effort footer)", "error_400",
               Status.ERROR, "API Error: 400 scripted failure"),
    ScreenCase("Bash permission box is waiting", "permission_bash", Status.WAITING_USER_ANSWER,
               "API Error: 400 scripted failure"),
    ScreenCase("unnumbered API key dialog is waiting", "dialog_api_key", Status.WAITING_USER_ANSWER, None),
    ScreenCase("unnumbered trust dialog is answered by cao: unknown", "dialog_trust", Status.UNKNOWN, None),
    ScreenCase("unnumbered bypass warning is answered by cao: unknown", "dialog_bypass", Status.UNKNOWN, None),
]
VERSION_CASES = [(None, c) for c in SCREEN_CASES] + [(LATEST, c) for c in LATEST_CASES]


@pytest.mark.parametrize(("version", "case"), VERSION_CASES,
                         ids=[f"{v or '2.1.197'}: {c.test_id}" for v, c in VERSION_CASES])
def test_recorded_screen(version: str | None, case: ScreenCase) -> None:
    lines = screen(case.screen, version)
    assert PROVIDER.detect(lines) is case.status
    assert PROVIDER.extract_last_reply(lines) == case.reply


class ScrollbackCase(NamedTuple):
    test_id: str
    screen: str
    reply: str


SCROLLBACK_CASES = [
    ScrollbackCase("a 200-row reply whole from the history", "completed_long.scrollback", LONG),
    ScrollbackCase("2.1.332: a 200-row reply whole from the history", f"{LATEST}/completed_long.scrollback", LONG),
    ScrollbackCase("2.1.332: tool output is not the reply", f"{LATEST}/completed_after_tool.scrollback",
                   "tool said: first\nsecond"),
    ScrollbackCase("2.1.332: MCP call line is not the reply", f"{LATEST}/completed_mcp_call.scrollback",
                   MCP_REPLY_LATEST),
    ScrollbackCase("multi-line reply from the whole scrollback", "completed_multiline.scrollback", MULTILINE),
    ScrollbackCase("tool output is not the reply", "completed_after_tool.scrollback", "tool said: first\nsecond"),
    ScrollbackCase("bash output is not the reply", "completed_after_bash.scrollback", "tool said: slept"),
    ScrollbackCase("MCP call line is not the reply", "completed_mcp_call.scrollback", MCP_REPLY),
]


@pytest.mark.parametrize("case", SCROLLBACK_CASES, ids=[c.test_id for c in SCROLLBACK_CASES])
def test_extract_from_scrollback(case: ScrollbackCase) -> None:
    reply = PROVIDER.extract_last_reply(screen(case.screen))
    assert reply == case.reply
    assert "⎿" not in reply and "esc to interrupt" not in reply and "─" not in reply


class SyntheticCase(NamedTuple):
    test_id: str
    rows: list[str]
    status: Status


RULE = "─" * 60
SYNTHETIC_CASES = [
    SyntheticCase("blank screen while starting", ["", ""], Status.UNKNOWN),
    SyntheticCase("box without a rule under it is not idle", [RULE, "❯\xa0"], Status.UNKNOWN),
    SyntheticCase("effort footer '● high' is not a reply",
                  [RULE, "❯\xa0", RULE, "  ? for shortcuts                ● high · /effort"], Status.IDLE),
    SyntheticCase("echo only, no reply yet", ["❯ hi", "", RULE, "❯\xa0", RULE, ""], Status.IDLE),
    SyntheticCase("an unknown numbered dialog is waiting",
                  [RULE, " Pick one", " ❯ 1. This", "   2. That", "", " Enter to confirm · Esc to cancel"],
                  Status.WAITING_USER_ANSWER),
    SyntheticCase("reply text quoting a dialog above the box is not waiting",
                  ["❯ hi", "● ❯ 1. Yes Enter to confirm", "", "✻ Baked for 1s", RULE, "❯\xa0", RULE],
                  Status.COMPLETED),
    SyntheticCase("error from an earlier turn does not stick",
                  ["❯ a", "● API Error: 400 x", "❯ b", "● fine", "✻ Baked for 0s", RULE, "❯\xa0", RULE],
                  Status.COMPLETED),
    SyntheticCase("minutes in the summary", ["❯ a", "● ok", "✻ Cogitated for 1m 5s", RULE, "❯\xa0", RULE],
                  Status.COMPLETED),
]


@pytest.mark.parametrize("case", SYNTHETIC_CASES, ids=[c.test_id for c in SYNTHETIC_CASES])
def test_synthetic_screen(case: SyntheticCase) -> None:
    assert PROVIDER.detect(case.rows) is case.status


def test_busy_cue_matches_the_processing_screens() -> None:
    assert PROVIDER.busy_cue is not None
    for name in ("processing", "processing_tool", "processing_retry"):
        assert PROVIDER.busy_cue.search("\n".join(screen(name)))
    assert not PROVIDER.busy_cue.search("\n".join(screen("completed")))


@pytest.mark.parametrize(("version", "trust_keys", "bypass_keys"),
                         [(None, [("Enter",)], [("2",)]), (LATEST, [("Down",)], [("Down",)])],
                         ids=["2.1.197", LATEST])
def test_startup_dialogs_match_their_recorded_screens(version: str | None, trust_keys: list, bypass_keys: list) -> None:
    def answers(name: str) -> list[tuple[str, ...]]:
        return [d.keys for d in PROVIDER.startup_dialogs if d.pattern.search("\n".join(screen(name, version)))]
    assert answers("dialog_trust") == trust_keys  # 2.1.197: "1. Yes" preselected; 2.1.332: "No, exit" is
    assert answers("dialog_bypass") == bypass_keys  # the default is "No, exit" in both
    assert answers("dialog_api_key") == []  # a billing choice: left to the user


def test_trust_dialog_is_moved_down_even_when_the_highlighted_row_is_garbled() -> None:
    # cao's screen shows 2.1.332's kitty graphics query (ESC _ G…) as text over the "❯ No, exit" row.
    garbled = [" Security guide", " Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA", "   Yes, I trust this folder",
               " Enter to confirm · Esc to cancel"]
    assert [d.keys for d in PROVIDER.startup_dialogs if d.pattern.search("\n".join(garbled))] == [("Down",)]


def test_after_moving_down_only_yes_gets_enter() -> None:
    moved = ["   No, exit", " ❯ Yes, I trust this folder", " Enter to confirm · Esc to cancel"]
    assert [d.keys for d in PROVIDER.startup_dialogs if d.pattern.search("\n".join(moved))] == [("Enter",)]


# --- launch ------------------------------------------------------------------------------


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> ClaudeCodeProvider:
    monkeypatch.setattr(ClaudeCodeProvider, "resolve_binary", lambda self: "/opt/bin/claude")
    return ClaudeCodeProvider()


def context(tmp_path: Path, *, tools: tuple[str, ...] | None = None, yolo: bool = False, model: str | None = None,
            profile: AgentProfile | None = None) -> LaunchContext:
    profile = profile or AgentProfile(name="developer", system_prompt="You are a developer.")
    return LaunchContext(terminal_id="0123abcd", working_directory=tmp_path, runtime_dir=tmp_path / "run",
                         profile=profile, model=model, allowed_tools=tools, yolo=yolo,
                         api_url="http://127.0.0.1:9999", mcp_token=TOKEN)


TOKEN = "tok-0123abcd-secret"


def flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_registered() -> None:
    assert isinstance(get_provider("claude_code"), ClaudeCodeProvider)
    assert PROVIDER.binary == "claude" and PROVIDER.tested_versions == ("2.1.197", "2.1.332")


def test_launch_files_and_flags(provider: ClaudeCodeProvider, tmp_path: Path) -> None:
    ctx = context(tmp_path, tools=ROLE_DEFAULTS["developer"], model="claude-fake-1")
    spec = provider.build_launch(ctx)
    assert spec.argv[0] == "/opt/bin/claude" and spec.uses_cao_mcp
    prompt = Path(flag(spec.argv, "--append-system-prompt-file") or "")
    assert spec.files[prompt] == "You are a developer." and prompt.parent == ctx.runtime_dir
    assert flag(spec.argv, "--model") == "claude-fake-1"
    config = json.loads(spec.files[Path(flag(spec.argv, "--mcp-config") or "")])
    cao = config["mcpServers"]["cao"]
    assert cao == {"type": "http", "url": "http://127.0.0.1:9999/mcp", "headers": {"Authorization": f"Bearer {TOKEN}"},
                   "timeout": 3_900_000, "alwaysLoad": True}
    assert "--strict-mcp-config" not in spec.argv  # the user's own MCP servers stay available
    assert "--dangerously-skip-permissions" not in spec.argv
    assert spec.env == {"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                        "MCP_TOOL_TIMEOUT": "3900000", "CLAUDE_CODE_MCP_TOOL_IDLE_TIMEOUT": "3900000",
                        "CLAUDE_CODE_DISABLE_ALTERNATE_SCREEN": "1"}
    assert flag(spec.argv, "--permission-mode") == "default"  # not 2.1.332's "auto mode"
    assert all(str(path).startswith(str(ctx.runtime_dir)) for path in spec.files)  # nothing in ~/.claude*


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_the_token_is_only_in_the_mcp_config_file(provider: ClaudeCodeProvider, tmp_path: Path, yolo: bool) -> None:
    spec = provider.build_launch(context(tmp_path, tools=("*",), yolo=yolo))
    assert not any(TOKEN in arg for arg in spec.argv)  # argv is visible in ps to every local user
    assert not any(TOKEN in key or TOKEN in value for key, value in spec.env.items())
    assert [path.name for path, text in spec.files.items() if TOKEN in text] == ["mcp.json"]


def test_skills_are_copied_into_a_folder_of_the_terminal(provider: ClaudeCodeProvider, tmp_path: Path) -> None:
    store = tmp_path / "cao-home" / "skills"
    ctx = dataclasses.replace(context(tmp_path), skills=(store / "cao-flows", store / "team-notes"))
    spec = provider.build_launch(ctx)
    plugin = ctx.runtime_dir / "skills-plugin"
    assert flag(spec.argv, "--plugin-dir") == str(plugin) and provider.native_skills
    assert json.loads(spec.files[plugin / ".claude-plugin" / "plugin.json"])["name"] == "cao"
    assert spec.copies == {plugin / "skills" / "cao-flows": store / "cao-flows",
                           plugin / "skills" / "team-notes": store / "team-notes"}
    assert "--plugin-dir" not in provider.build_launch(context(tmp_path)).argv  # no skills, no plugin


def test_no_system_prompt_no_flag(provider: ClaudeCodeProvider, tmp_path: Path) -> None:
    spec = provider.build_launch(context(tmp_path, profile=AgentProfile(name="bare", system_prompt="  ")))
    assert "--append-system-prompt-file" not in spec.argv and "--model" not in spec.argv


def test_profile_mcp_servers_are_kept_and_cao_mcp_server_entries_skipped(provider: ClaudeCodeProvider,
                                                                         tmp_path: Path) -> None:
    profile = AgentProfile(name="dev", system_prompt="x", mcpServers={
        "docs": McpServerConfig(command="docs-mcp", args=["--ro"], env={"K": "V"}),
        "cao-mcp-server": McpServerConfig(command="cao-mcp-server"),
        "orchestrator": McpServerConfig(command="/usr/local/bin/cao-mcp-server")})
    spec = provider.build_launch(context(tmp_path, profile=profile))
    servers = json.loads(spec.files[tmp_path / "run" / "mcp.json"])["mcpServers"]
    assert sorted(servers) == ["cao", "docs"]
    assert servers["docs"] == {"type": "stdio", "command": "docs-mcp", "args": ["--ro"], "env": {"K": "V"}}


class ToolCase(NamedTuple):
    test_id: str
    tools: tuple[str, ...] | None
    denied: list[str]
    cao_preapproved: bool


ALL_BASH = ["Bash", "BashOutput", "KillShell", "TaskOutput", "TaskStop", "Task", "Agent", "Monitor"]
TOOL_CASES = [
    ToolCase("developer role: nothing denied", ROLE_DEFAULTS["developer"], [], True),
    ToolCase("reviewer role: no shell, no writes, no web", ROLE_DEFAULTS["reviewer"],
             [*ALL_BASH, "Edit", "Write", "NotebookEdit", "WebFetch", "WebSearch"], True),
    ToolCase("supervisor role: read and list only", ROLE_DEFAULTS["supervisor"],
             [*ALL_BASH, "Edit", "Write", "NotebookEdit", "WebFetch", "WebSearch"], True),
    ToolCase("fs_* expands to read, write and list", ("fs_*", "@cao-mcp-server"),
             [*ALL_BASH, "WebFetch", "WebSearch"], True),
    ToolCase("'*' denies nothing", ("*",), [], True),
    ToolCase("no list denies nothing", None, [], True),
    ToolCase("without @cao-mcp-server cao's tools are denied", ("execute_bash", "fs_*", "web_fetch"),
             ["mcp__cao"], False),
]


@pytest.mark.parametrize("case", TOOL_CASES, ids=[c.test_id for c in TOOL_CASES])
def test_tool_restrictions(provider: ClaudeCodeProvider, tmp_path: Path, case: ToolCase) -> None:
    spec = provider.build_launch(context(tmp_path, tools=case.tools))
    denied = flag(spec.argv, "--disallowedTools")
    assert (denied.split(",") if denied else []) == case.denied
    assert (flag(spec.argv, "--allowedTools") == "mcp__cao") is case.cao_preapproved


def test_a_profile_server_left_out_of_the_list_is_denied(provider: ClaudeCodeProvider, tmp_path: Path) -> None:
    profile = AgentProfile(name="dev", system_prompt="x", mcpServers={"docs": McpServerConfig(command="d")})
    spec = provider.build_launch(context(tmp_path, profile=profile, tools=("fs_*", "@cao-mcp-server", "execute_bash",
                                                                            "web_fetch")))
    assert flag(spec.argv, "--disallowedTools") == "mcp__docs"


@pytest.mark.parametrize("root", [True, False], ids=["as root", "as a user"])
def test_yolo(provider: ClaudeCodeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: bool) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0 if root else 1000)
    spec = provider.build_launch(context(tmp_path, tools=("*",), yolo=True))
    assert "--dangerously-skip-permissions" in spec.argv
    assert json.loads(flag(spec.argv, "--settings") or "") == {"skipDangerousModePermissionPrompt": True}
    assert ("IS_SANDBOX" in spec.env) is root
    assert "--allowedTools" not in spec.argv and "--disallowedTools" not in spec.argv


def test_a_profiles_tool_hooks_become_claude_settings_hooks(provider: ClaudeCodeProvider, tmp_path: Path) -> None:
    profile = AgentProfile(name="dev", system_prompt="x", hooks={
        "pre_tool_use": [{"command": "./check.sh --strict", "args": ["a b"], "matcher": "Bash", "timeout": 5,
                          "env": {"LEVEL": "x y"}}],
        "post_tool_use": [{"command": "log-tool"}]})
    spec = provider.build_launch(context(tmp_path, profile=profile, yolo=True))
    path = Path(flag(spec.argv, "--settings") or "")
    settings = json.loads(spec.files[path])
    assert settings == {"skipDangerousModePermissionPrompt": True, "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [
            {"type": "command", "command": "env 'LEVEL=x y' ./check.sh --strict 'a b'", "timeout": 5}]}],
        "PostToolUse": [{"matcher": "", "hooks": [{"type": "command", "command": "log-tool"}]}]}}
