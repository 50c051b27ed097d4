"""CopilotCliProvider: detect / extract_last_reply on screens recorded from Copilot CLI 1.0.102, and build_launch.

The screens under tests/screens/copilot_cli/ come from tests/screens/record_copilot_cli.py (the real
``copilot`` in a private tmux server, offline against cao's scripted model server, ``capture-pane -p``).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from cao.profiles import McpServerConfig, load_profile
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.providers.copilot_cli import INSTRUCTIONS, TRUST_RE, CopilotCliProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "copilot_cli"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
PROVIDER = CopilotCliProvider()


def screen(name: str) -> list[str]:
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")


def visible_tail(name: str) -> str:
    rows = [line.rstrip().removesuffix("┃").rstrip() for line in screen(name)]
    first = next(i for i, line in enumerate(rows) if "row " in line)
    return LONG[LONG.index(rows[first].strip()):]


@pytest.mark.parametrize(("name", "status", "reply"), [
    ("trust_dialog", Status.UNKNOWN, None),  # cao answers it while the terminal starts ("1. Yes": this session)
    ("idle", Status.IDLE, None),
    ("idle_typed", Status.IDLE, None),  # a person's text in the input row is no answer
    ("completed_multiline", Status.COMPLETED, MULTI),
    ("processing", Status.PROCESSING, None),  # the task is echoed, its answer not there yet
    ("completed_after_slow", Status.COMPLETED, "finally done"),
    ("permission_shell", Status.WAITING_USER_ANSWER, None),
    ("completed_after_tool", Status.COMPLETED, "The file is made."),
    ("completed_yolo_tool", Status.COMPLETED, "The file is made."),
    ("error", Status.ERROR, "400 scripted failure"),
    ("completed_after_error", Status.COMPLETED, MULTI),
    ("interrupted", Status.IDLE, None),  # Ctrl+C: "Operation cancelled by user", no answer
    # Ctrl+C before the model sent anything, sometimes: the echo last and the footer idle, nothing said;
    # alone it reads as a task just taken (see test_a_turn_ended_unanswered_after_ctrl_c)
    ("interrupted_silently", Status.PROCESSING, None),
])
def test_recorded_screens(name: str, status: Status, reply: str | None) -> None:
    lines = screen(name)
    assert PROVIDER.detect(lines) is status
    assert PROVIDER.extract_last_reply(lines) == reply


@pytest.mark.parametrize("name", ["completed_long", "completed_typed"])
def test_a_reply_longer_than_the_screen_is_read_as_far_as_it_is_visible(name: str) -> None:
    """Copilot draws in the alternate screen: the rows that scrolled off are gone (docs/providers/copilot_cli.md)."""
    lines = screen(name)
    assert not any("Top of a long reply." in line for line in lines)
    assert PROVIDER.detect(lines) is Status.COMPLETED
    assert PROVIDER.extract_last_reply(lines) == visible_tail(name)


def test_the_scrollbar_column_is_not_part_of_the_reply() -> None:
    lines = screen("completed_long")
    assert any(line.rstrip().endswith("┃") for line in lines)  # the transcript is taller than its pane
    assert "┃" not in (PROVIDER.extract_last_reply(lines) or "x┃")


@pytest.mark.parametrize(("name", "unanswered"), [
    ("interrupted_silently", True),
    ("processing", False), ("interrupted", False), ("completed_multiline", False), ("idle", False),
])
def test_a_turn_ended_unanswered_after_ctrl_c(name: str, unanswered: bool) -> None:
    """Asked by the engine only after cao pressed Ctrl+C in this turn."""
    assert PROVIDER.ended_unanswered(screen(name)) is unanswered


def test_a_screen_before_the_input_box_is_not_ready() -> None:
    lines = screen("idle")
    box = next(i for i, line in enumerate(lines) if line.startswith("❯"))
    assert PROVIDER.detect(lines[:box - 1]) is Status.UNKNOWN


def test_the_trust_dialog_is_answered_with_this_session_only() -> None:
    text = "\n".join(screen("trust_dialog"))
    match = TRUST_RE.search(text)
    assert match is not None and match.group().endswith("❯ 1. Yes")  # not "2. Yes, and remember this folder"
    assert [d.keys for d in PROVIDER.startup_dialogs] == [("Enter",)]


def test_another_dialog_is_waiting() -> None:
    lines = [line.replace("Do you trust the files in this folder?", "Do you want to continue?")
             for line in screen("trust_dialog")]
    assert PROVIDER.detect(lines) is Status.WAITING_USER_ANSWER


def test_registered() -> None:
    assert isinstance(get_provider("copilot_cli"), CopilotCliProvider)
    assert CopilotCliProvider.tested_versions == ("1.0.102",)


TOKEN = "tok-abcd1234-secret"


@pytest.fixture
def fake_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CopilotCliProvider, "resolve_binary", lambda self: "/opt/bin/copilot")
    monkeypatch.delenv(INSTRUCTIONS, raising=False)


def context(tmp_path: Path, **kwargs: object) -> LaunchContext:
    values: dict = {"terminal_id": "abcd1234", "working_directory": tmp_path / "work", "runtime_dir": tmp_path / "run",
                    "profile": load_profile("developer", tmp_path / "cao-home"),
                    "allowed_tools": ("@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"),
                    "api_url": "http://127.0.0.1:9", "mcp_token": TOKEN}
    values.update(kwargs)
    return LaunchContext(**values)


def test_build_launch(fake_binary: None, tmp_path: Path) -> None:
    ctx = context(tmp_path, model="gpt-4o")
    spec = PROVIDER.build_launch(ctx)
    run = ctx.runtime_dir
    assert spec.argv == ["/opt/bin/copilot", "--no-auto-update", "--additional-mcp-config",
                         f"@{run / 'copilot-mcp.json'}", "--allow-tool", "cao", "--mode", "interactive",
                         "--model", "gpt-4o"]
    assert spec.uses_cao_mcp
    assert json.loads(spec.files[run / "copilot-mcp.json"]) == {"mcpServers": {"cao": {
        "type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": f"Bearer {TOKEN}"},
        "tools": ["*"]}}}
    folder = run / "copilot-instructions"
    assert spec.env == {"COPILOT_AUTO_UPDATE": "false", INSTRUCTIONS: str(folder)}
    instructions = spec.files[folder / ".github" / "instructions" / "cao.instructions.md"]
    assert instructions.startswith('---\napplyTo: "**"\n---\n# Developer')


def test_the_users_own_instructions_folders_stay(fake_binary: None, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSTRUCTIONS, "/home/me/notes")
    spec = PROVIDER.build_launch(context(tmp_path))
    assert spec.env[INSTRUCTIONS] == f"{tmp_path / 'run' / 'copilot-instructions'},/home/me/notes"


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_the_token_is_only_in_the_mcp_file(fake_binary: None, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo))
    assert not any(TOKEN in arg for arg in spec.argv)  # argv is visible in ps to every local user
    assert not any(TOKEN in key or TOKEN in value for key, value in spec.env.items())
    assert [path.name for path, text in spec.files.items() if TOKEN in text] == ["copilot-mcp.json"]


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_restrictions_hold_with_and_without_yolo(fake_binary: None, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo, allowed_tools=("@cao-mcp-server", "fs_read", "fs_list")))
    argv = spec.argv
    assert ("--allow-all" in argv) is yolo and ("--mode" in argv) is not yolo
    assert argv[argv.index("--deny-tool"):] == [
        "--deny-tool", "shell", "--deny-tool", "write", "--excluded-tools", "bash", "read_bash", "write_bash",
        "stop_bash", "list_bash", "task", "create", "edit", "apply_patch", "web_fetch", "web_search"]


def test_unrestricted_and_without_cao_server(fake_binary: None, tmp_path: Path) -> None:
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(
        update={"mcpServers": {"other": McpServerConfig(type="stdio", command="x", args=["-y"], env={"A": "1"})},
                "system_prompt": ""})
    ctx = context(tmp_path, profile=profile, allowed_tools=("*",))
    spec = PROVIDER.build_launch(ctx)
    assert "--excluded-tools" not in spec.argv and "--deny-tool" not in spec.argv
    servers = json.loads(spec.files[ctx.runtime_dir / "copilot-mcp.json"])["mcpServers"]
    assert servers["other"] == {"type": "local", "command": "x", "args": ["-y"], "tools": ["*"], "env": {"A": "1"}}
    assert INSTRUCTIONS not in spec.env and list(spec.files) == [ctx.runtime_dir / "copilot-mcp.json"]
    spec = PROVIDER.build_launch(context(tmp_path, profile=profile, allowed_tools=("fs_read", "@other")))
    assert not spec.uses_cao_mcp and "--allow-tool" not in spec.argv


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_team_permissions_become_allow_and_deny_tool(fake_binary: None, tmp_path: Path, yolo: bool) -> None:
    rules = {"allow": [{"tool": "execute_bash", "command": "git status", "prefix": True},
                       {"tool": "execute_bash", "command": "rm -rf build", "prefix": False},
                       # Copilot matches a command's name only: this would allow every npm command.
                       {"tool": "execute_bash", "command": "npm test", "prefix": True},
                       {"tool": "fs_read", "command": None, "prefix": False}],
             "deny": [{"tool": "execute_bash", "command": "rm -rf build", "prefix": False},
                      {"tool": "web_fetch", "command": None, "prefix": False}]}
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(update={"permissions": rules})
    argv = PROVIDER.build_launch(context(tmp_path, yolo=yolo, profile=profile)).argv
    at = argv.index("--allow-tool", argv.index("cao") + 1)
    assert argv[at:] == ["--allow-tool", "shell(git status:*)", "--allow-tool", "read",  # no exact or npm allow
                         "--deny-tool", "shell(rm -rf build:*)", "--excluded-tools", "web_fetch", "web_search"]


def test_an_allow_never_brings_back_a_withheld_tool(fake_binary: None, tmp_path: Path) -> None:
    rules = {"allow": [{"tool": "execute_bash", "command": None, "prefix": False}]}
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(update={"permissions": rules})
    argv = PROVIDER.build_launch(context(tmp_path, profile=profile, allowed_tools=("@cao-mcp-server", "fs_read"))).argv
    pairs = list(itertools.pairwise(argv))
    assert ("--allow-tool", "shell") in pairs and ("--deny-tool", "shell") in pairs  # Copilot: a deny outranks
    assert "bash" in argv[argv.index("--excluded-tools"):]
