"""Kiro CLI, Amazon Q CLI and Cursor CLI: providers written from documentation, never run by cao.

Their screens under tests/screens/kiro_cli/ and tests/screens/cursor_cli/ are written by hand from the
cues shared/reference/upstream-cao-spec.md §8 describes (see each folder's README.md): they are **not
recordings**. These tests pin what the providers make of those cues, and that cao says "untested".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cao.doctor import provider_status
from cao.errors import InvalidInput
from cao.profiles import load_profile
from cao.providers import get_provider, provider_names
from cao.providers.base import LaunchContext, Provider
from cao.providers.cursor_cli import CursorCliProvider
from cao.providers.kiro_cli import KiroCliProvider
from cao.providers.q_cli import QCliProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens"
UNTESTED = ("kiro_cli", "q_cli", "cursor_cli")
REPLY = "The capital of France is Paris.\nSecond line of the reply: done."
TOKEN = "tok-abcd1234-secret"


def screen(provider: str, name: str) -> list[str]:
    return (SCREENS / provider / f"{name}.txt").read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize("name", UNTESTED)
def test_marked_untested_everywhere(name: str) -> None:
    provider = get_provider(name)
    assert name in provider_names()
    assert provider.verified is False and provider.tested_versions == ()
    status = provider_status(provider)
    assert status.verified is False and status.tested is None
    assert (SCREENS / ("kiro_cli" if name == "q_cli" else name) / "README.md").read_text().count("not recorded") == 1


def test_the_recorded_providers_are_verified() -> None:
    verified = [n for n in provider_names() if get_provider(n).verified]
    assert {"claude_code", "codex", "gemini_cli", "qwen_code", "opencode", "copilot_cli", "mock"} <= set(verified)


@pytest.mark.parametrize("provider", [KiroCliProvider(), QCliProvider()], ids=["kiro_cli", "q_cli"])
@pytest.mark.parametrize(("name", "status", "reply"), [
    ("starting", Status.UNKNOWN, None),
    ("idle", Status.IDLE, None),
    ("processing", Status.PROCESSING, None),
    ("completed", Status.COMPLETED, REPLY),
    ("completed_typed", Status.COMPLETED, "The capital of France is Paris."),
    ("permission_shell", Status.WAITING_USER_ANSWER, None),
    ("completed_after_tool", Status.COMPLETED, "The file is made."),
    ("error", Status.ERROR, None),
    ("consent_dialog", Status.UNKNOWN, None),  # answered by cao while the terminal starts (yolo only)
])
def test_kiro_like_screens_from_the_reference(provider: Provider, name: str, status: Status, reply: str | None) -> None:
    lines = screen("kiro_cli", name)
    assert provider.detect(lines) is status
    assert provider.extract_last_reply(lines) == reply


def test_the_consent_is_answered_only_by_kiro_and_with_yes() -> None:
    text = "\n".join(screen("kiro_cli", "consent_dialog"))
    (dialog,) = KiroCliProvider.startup_dialogs
    assert dialog.pattern.search(text) and dialog.keys == ("Down", "Enter")  # from "No, exit" to "Yes, I accept"
    assert QCliProvider.startup_dialogs == ()


@pytest.mark.parametrize(("name", "status", "reply"), [
    ("idle", Status.IDLE, None),
    ("processing", Status.PROCESSING, None),
    ("completed", Status.COMPLETED, REPLY),
    ("permission_shell", Status.WAITING_USER_ANSWER, None),
])
def test_cursor_screens_from_the_reference(name: str, status: Status, reply: str | None) -> None:
    lines = screen("cursor_cli", name)
    assert CursorCliProvider().detect(lines) is status
    if status is Status.COMPLETED:
        assert CursorCliProvider().extract_last_reply(lines) == reply


@pytest.fixture
def fake_binaries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for cls, path in ((KiroCliProvider, "/opt/bin/kiro-cli"), (QCliProvider, "/opt/bin/q"),
                      (CursorCliProvider, "/opt/bin/cursor-agent")):
        monkeypatch.setattr(cls, "resolve_binary", lambda self, p=path: p)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    return home


def context(tmp_path: Path, **kwargs: object) -> LaunchContext:
    values: dict = {"terminal_id": "1a2b3c4d", "working_directory": tmp_path / "work", "runtime_dir": tmp_path / "run",
                    "profile": load_profile("developer", tmp_path / "cao-home"), "allowed_tools": ("*",),
                    "api_url": "http://127.0.0.1:9", "mcp_token": TOKEN}
    values.update(kwargs)
    return LaunchContext(**values)


@pytest.mark.parametrize(("cls", "argv0", "agents"), [
    (KiroCliProvider, ["/opt/bin/kiro-cli", "chat", "--legacy-ui"], ".kiro/agents"),
    (QCliProvider, ["/opt/bin/q", "chat"], ".aws/amazonq/cli-agents"),
])
def test_kiro_like_launch_writes_a_new_agent_file(fake_binaries: Path, tmp_path: Path, cls: type[KiroCliProvider],
                                                  argv0: list[str], agents: str) -> None:
    ctx = context(tmp_path, model="claude-sonnet-4", yolo=True)
    spec = cls().build_launch(ctx)
    assert spec.argv == [*argv0, "--agent", "cao-1a2b3c4d", "--trust-all-tools", "--model", "claude-sonnet-4"]
    agent_file = fake_binaries / agents / "cao-1a2b3c4d.json"
    config = json.loads(spec.files[agent_file])
    assert config["prompt"] == (ctx.runtime_dir / "system_prompt.md").as_uri()
    assert spec.files[ctx.runtime_dir / "system_prompt.md"].startswith("# Developer")
    assert config["tools"] == ["*"] and config["allowedTools"] == ["@cao"]
    assert config["mcpServers"]["cao"]["headers"] == {"Authorization": f"Bearer {TOKEN}"}
    assert not any(TOKEN in arg for arg in spec.argv) and not spec.env
    assert spec.uses_cao_mcp


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_kiro_restrictions_are_the_agent_files_tools_with_and_without_yolo(fake_binaries: Path, tmp_path: Path,
                                                                           yolo: bool) -> None:
    ctx = context(tmp_path, yolo=yolo, allowed_tools=("@cao-mcp-server", "fs_read", "fs_list"))
    spec = KiroCliProvider().build_launch(ctx)
    config = json.loads(spec.files[fake_binaries / ".kiro/agents/cao-1a2b3c4d.json"])
    assert config["tools"] == ["fs_read", "@cao"]  # no execute_bash, fs_write or web tools
    assert ("--trust-all-tools" in spec.argv) is yolo


def test_cursor_launch_and_its_refusal_of_a_restricted_profile(fake_binaries: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path, yolo=True, model="gpt-5")
    spec = CursorCliProvider().build_launch(ctx)
    plugin = ctx.runtime_dir / "cursor-plugin"
    assert spec.argv == ["/opt/bin/cursor-agent", "--force", "--model", "gpt-5", "--plugin-dir", str(plugin),
                         "--approve-mcps"]
    assert json.loads(spec.files[plugin / "mcp.json"])["mcpServers"]["cao"]["url"] == "http://127.0.0.1:9/mcp"
    assert [p.name for p, text in spec.files.items() if TOKEN in text] == ["mcp.json"]
    with pytest.raises(InvalidInput, match="cannot restrict an agent's tools"):
        CursorCliProvider().build_launch(context(tmp_path, allowed_tools=("fs_read",)))
