"""KimiCliProvider: detect / extract_last_reply on screens recorded from Kimi CLI 1.51, and build_launch.

The screens under tests/screens/kimi_cli/ come from tests/screens/record_kimi_cli.py (the real
``kimi`` in a private tmux server against cao's scripted model server, ``capture-pane -p``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import pytest

from cao.profiles import McpServerConfig, load_profile
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.providers.kimi_cli import CAO_TOOL_TIMEOUT_MS, SH_LINK, KimiCliProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "kimi_cli"
# What Kimi shows of record_kimi_cli.py's replies: Markdown rendered (list items get Kimi's bullet).
MULTI = "First paragraph of the answer.\n\nSecond paragraph, after a blank one.\n\n• a list item\n• another one"
LONG = "\n\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 60)] + ["The end."])
ERROR = ("LLM provider error: Error code: 400 - {'error': {'message': 'scripted failure', 'type': "
         "'invalid_request_error', 'param': None, 'code': 'invalid_request_error'}}")
PROVIDER = KimiCliProvider()


def screen(name: str) -> list[str]:
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize(("name", "status", "reply"), [
    ("idle", Status.IDLE, None),
    ("idle_typed", Status.IDLE, None),  # yolo, a person's text in the input row
    ("processing", Status.PROCESSING, None),  # the moon above the input rule
    ("processing_queued", Status.PROCESSING, None),  # a message queued under the moon
    ("completed_multiline", Status.COMPLETED, MULTI),
    ("completed_after_slow", Status.COMPLETED, "finally done"),
    ("permission_shell", Status.WAITING_USER_ANSWER, None),
    ("completed_after_tool", Status.COMPLETED, "The file is made."),  # not "Used Shell (touch made.txt)"
    ("completed_yolo_tool", Status.COMPLETED, "The file is made."),
    ("error", Status.ERROR, ERROR),
    ("completed_after_error", Status.COMPLETED, MULTI),
    ("error_llm_not_set", Status.ERROR, 'LLM not set, send "/login" to login'),  # no provider configured
    ("interrupted", Status.IDLE, None),  # Esc mid-turn: "Interrupted by user", no answer
    ("completed_after_queued", Status.COMPLETED, "OK: queued meanwhile"),
    ("completed_typed", Status.COMPLETED, None),  # the answer scrolled off; a person's text in the input row
    # a 5 s Shell run in yolo, the window resized to 100x30 mid-run: a stale "⠇ Using Shell" row stays above
    ("completed_after_resize", Status.COMPLETED, "The command slept and finished."),
])
def test_recorded_screens(name: str, status: Status, reply: str | None) -> None:
    lines = screen(name)
    assert PROVIDER.detect(lines) is status
    assert PROVIDER.extract_last_reply(lines) == reply


def test_a_reply_longer_than_the_screen() -> None:
    visible = screen("completed_long")
    assert not any("Top of a long reply." in line or line.startswith("✨ long") for line in visible)  # scrolled off
    assert PROVIDER.detect(visible) is Status.COMPLETED
    assert PROVIDER.extract_last_reply(screen("completed_long_scrollback")) == LONG  # tmux history: whole


def test_the_answer_after_a_tool_in_the_whole_history() -> None:
    assert PROVIDER.extract_last_reply(screen("completed_after_tool_scrollback")) == "The file is made."


def test_text_typed_by_a_person_is_not_an_answer() -> None:
    typed = screen("idle_typed")
    assert any(line.startswith(" typed by a person") for line in typed)
    assert PROVIDER.detect(typed) is Status.IDLE


def test_a_task_taken_without_its_first_frame_is_processing() -> None:
    lines = screen("idle")
    rule = next(i for i, line in enumerate(lines) if line.startswith("── input"))
    assert PROVIDER.detect([*lines[:rule], "✨ do it", *lines[rule:]]) is Status.PROCESSING


def test_a_tool_block_last_is_still_processing() -> None:
    """After "• Used Shell (…)" the model gets the tool's result: the turn goes on, whatever the live row shows."""
    lines = screen("completed_after_tool")
    answer = max(i for i, line in enumerate(lines) if line.startswith("• The file is made."))
    assert PROVIDER.detect([*lines[:answer], *lines[answer + 1:]]) is Status.PROCESSING


def test_the_screen_before_the_input_rule_is_not_ready() -> None:
    assert PROVIDER.detect(["⠦ Loading agent...", "", ""]) is Status.UNKNOWN
    assert PROVIDER.detect(["", "", ""]) is Status.UNKNOWN


@pytest.mark.parametrize("live", ["⠋ Composing... 1s · 12 tokens", "⠦ Using Shell (sleep 5)",
                                  "Thinking ⠂  2s · 40 tokens", "Retrying after server error · attempt 2/3 · 1s",
                                  "Compacting..."])
def test_each_live_row_of_a_turn_is_processing(live: str) -> None:
    lines = screen("completed_after_slow")
    rule = max(i for i, line in enumerate(lines) if line.startswith("── input"))
    assert PROVIDER.detect([*lines[:rule], "✨ next task", live, *lines[rule:]]) is Status.PROCESSING


def test_connecting_the_mcp_servers_at_start_is_not_ready() -> None:
    """starting_mcp: what cao's output showed of the real kimi right after start in tests/e2e_real (MCP pending)."""
    lines = screen("starting_mcp")
    assert any(line.startswith("• cao (pending)") for line in lines)  # a bullet, but not an answer
    assert PROVIDER.detect(lines) is Status.UNKNOWN


def test_registered() -> None:
    assert isinstance(get_provider("kimi_cli"), KimiCliProvider)
    assert KimiCliProvider.tested_versions == ("1.51.0",)


TOKEN = "tok-abcd1234-secret"
USER_CONFIG = ('default_model = "m"\ndefault_yolo = true\n[providers.p]\ntype = "openai_legacy"\n'
               'base_url = "http://x/v1"\napi_key = "sk-user"\n[models.m]\nprovider = "p"\nmodel = "mm"\n'
               'max_context_size = 1000\n[mcp.client]\ntool_call_timeout_ms = 5\n')


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".kimi").mkdir(parents=True)
    (home / ".kimi" / "config.toml").write_text(USER_CONFIG)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KIMI_SHARE_DIR", raising=False)
    monkeypatch.setattr(KimiCliProvider, "resolve_binary", lambda self: "/opt/bin/kimi")
    return home


def context(tmp_path: Path, **kwargs: object) -> LaunchContext:
    values: dict = {"terminal_id": "abcd1234", "working_directory": tmp_path / "work", "runtime_dir": tmp_path / "run",
                    "profile": load_profile("developer", tmp_path / "cao-home"),
                    "allowed_tools": ("@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"),
                    "api_url": "http://127.0.0.1:9", "mcp_token": TOKEN}
    values.update(kwargs)
    return LaunchContext(**values)


def test_build_launch_leaves_the_users_files_alone(fake_home: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path, model="m")
    before = {p: p.read_bytes() for p in (fake_home / ".kimi").iterdir()}
    spec = PROVIDER.build_launch(ctx)
    run, share, work = ctx.runtime_dir, ctx.runtime_dir / "kimi-share", str(ctx.working_directory)
    assert spec.argv == ["/bin/sh", "-c", SH_LINK, "cao-kimi", str(fake_home / ".kimi"), str(share), "/opt/bin/kimi",
                         "--config-file", str(run / "kimi-config.json"), "--agent-file", str(run / "kimi-agent.json"),
                         "--mcp-config-file", str(run / "kimi-mcp.json"), "--work-dir", work,
                         "--session", "abcd1234", "--model", "m"]
    assert spec.env == {"KIMI_SHARE_DIR": str(share)}
    assert spec.uses_cao_mcp
    config = json.loads(spec.files[run / "kimi-config.json"])
    user = tomllib.loads(USER_CONFIG)
    assert config == {**user, "default_yolo": False, "mcp": {"client": {"tool_call_timeout_ms": CAO_TOOL_TIMEOUT_MS}}}
    assert json.loads(spec.files[run / "kimi-mcp.json"]) == {"mcpServers": {"cao": {
        "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": f"Bearer {TOKEN}"}, "transport": "http"}}}
    agent = json.loads(spec.files[run / "kimi-agent.json"])
    assert agent["agent"]["extend"] == "default" and "exclude_tools" not in agent["agent"]
    assert agent["agent"]["system_prompt_args"]["ROLE_ADDITIONAL"].startswith("# Developer")
    session = share / "sessions" / hashlib.md5(work.encode()).hexdigest() / "abcd1234"
    assert json.loads(spec.files[session / "state.json"])["approval"] == {
        "yolo": False, "afk": False,
        "auto_approve_actions": ["mcp:assign", "mcp:delete_terminal", "mcp:handoff", "mcp:send_message"]}
    assert spec.files[session / "context.jsonl"] == ""
    assert json.loads(spec.files[share / "kimi.json"]) == {"work_dirs": [{"path": work, "kaos": "local"}]}
    assert all(path.is_relative_to(run) for path in spec.files)  # nothing in the user's ~/.kimi
    assert {p: p.read_bytes() for p in (fake_home / ".kimi").iterdir()} == before


def test_the_users_mcp_servers_are_read_in_place(fake_home: Path, tmp_path: Path) -> None:
    (fake_home / ".kimi" / "mcp.json").write_text(json.dumps({"mcpServers": {"mine": {"command": "x"}}}))
    argv = PROVIDER.build_launch(context(tmp_path)).argv
    first = argv.index("--mcp-config-file")
    assert argv[first:first + 4] == ["--mcp-config-file", str(fake_home / ".kimi" / "mcp.json"),
                                     "--mcp-config-file", str(tmp_path / "run" / "kimi-mcp.json")]


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_the_token_is_only_in_the_mcp_config(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo))
    assert not any(TOKEN in arg for arg in spec.argv)  # argv is visible in ps to every local user
    assert not any(TOKEN in key or TOKEN in value for key, value in spec.env.items())
    assert [path.name for path, text in spec.files.items() if TOKEN in text] == ["kimi-mcp.json"]
    assert not any("sk-user" in arg for arg in spec.argv)  # the user's key: only in the 0600 config copy


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_restrictions_hold_with_and_without_yolo(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    ctx = context(tmp_path, yolo=yolo, allowed_tools=("@cao-mcp-server", "fs_read", "fs_list"))
    spec = PROVIDER.build_launch(ctx)
    assert ("--yolo" in spec.argv) is yolo
    assert json.loads(spec.files[ctx.runtime_dir / "kimi-config.json"])["default_yolo"] is yolo
    excluded = json.loads(spec.files[ctx.runtime_dir / "kimi-agent.json"])["agent"]["exclude_tools"]
    assert {name.rsplit(":", 1)[1] for name in excluded} == {
        "Shell", "Agent", "TaskList", "TaskOutput", "TaskStop", "WriteFile", "StrReplaceFile", "SearchWeb", "FetchURL"}


def test_without_cao_server_nothing_waits_for_it(fake_home: Path, tmp_path: Path) -> None:
    profile = load_profile("developer", tmp_path / "cao-home").model_copy(
        update={"mcpServers": {"other": McpServerConfig(type="stdio", command="x", args=["-v"], env={"A": "1"})},
                "system_prompt": ""})
    ctx = context(tmp_path, profile=profile, allowed_tools=("fs_read", "@other"))
    spec = PROVIDER.build_launch(ctx)
    assert not spec.uses_cao_mcp
    assert json.loads(spec.files[ctx.runtime_dir / "kimi-mcp.json"]) == {
        "mcpServers": {"other": {"command": "x", "args": ["-v"], "env": {"A": "1"}}}}
    assert "system_prompt_args" not in json.loads(spec.files[ctx.runtime_dir / "kimi-agent.json"])["agent"]
    state = next(text for path, text in spec.files.items() if path.name == "state.json")
    assert json.loads(state)["approval"]["auto_approve_actions"] == []  # no cao tools to approve
