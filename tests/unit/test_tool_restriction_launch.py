"""Each provider's launch keeps a profile's tool restrictions with and without yolo (issue 8, item 5).

yolo changes only whether the CLI asks; what the profile does not grant stays off. The real CLIs'
behaviour with these flags is proven in tests/e2e_real/test_tool_restrictions.py.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path

import pytest

from cao.profiles import ROLE_DEFAULTS
from cao.providers.base import LaunchContext
from cao.providers.claude_code import ClaudeCodeProvider
from cao.providers.codex import HEADERS_FILE, CodexProvider
from cao.providers.gemini_cli import GeminiCliProvider
from cao.providers.qwen_code import QwenCodeProvider

YOLO = pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
REVIEWER = ROLE_DEFAULTS["reviewer"]  # @builtin, fs_read, fs_list, @cao-mcp-server: no shell, writes or web
DEVELOPER = ROLE_DEFAULTS["developer"]
SHELL_FEATURES = {"features.shell_tool": False, "features.unified_exec": False, "features.multi_agent": False}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty HOME (no user settings of any CLI) and fixed binary paths."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("GEMINI_CLI_HOME", "CODEX_HOME", "QWEN_HOME", "QWEN_CODE_SYSTEM_DEFAULTS_PATH",
                 "QWEN_CODE_TRUSTED_FOLDERS_PATH"):
        monkeypatch.delenv(name, raising=False)
    for cls in (ClaudeCodeProvider, CodexProvider, GeminiCliProvider, QwenCodeProvider):
        monkeypatch.setattr(cls, "resolve_binary", lambda self, name=cls.binary: f"/opt/bin/{name}")


def context(tmp_path: Path, tools: tuple[str, ...], yolo: bool) -> LaunchContext:
    return LaunchContext(terminal_id="abcd1234", working_directory=tmp_path, runtime_dir=tmp_path / "run",
                         allowed_tools=tools, yolo=yolo, mcp_token="tok")


def flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def overrides(argv: list[str]) -> dict[str, object]:
    """Codex's ``-c key=value`` pairs, parsed as TOML (after the ``/bin/sh -c`` that reads the instructions)."""
    own = argv[argv.index("/opt/bin/codex"):]
    return {pair.partition("=")[0]: tomllib.loads(f"v = {pair.partition('=')[2]}")["v"]
            for option, pair in itertools.pairwise(own) if option == "-c"}


# --- Claude Code: --disallowedTools next to the bypass mode ----------------------------------------

@YOLO
def test_claude_code_denies_the_shell_in_both_modes(tmp_path: Path, yolo: bool) -> None:
    argv = ClaudeCodeProvider().build_launch(context(tmp_path, REVIEWER, yolo)).argv
    denied = (flag(argv, "--disallowedTools") or "").split(",")
    assert {"Bash", "BashOutput", "Agent", "Task", "Edit", "Write", "WebFetch"} <= set(denied)
    assert ("--dangerously-skip-permissions" in argv) is yolo
    assert flag(argv, "--permission-mode") == (None if yolo else "default")


@YOLO
def test_claude_code_developer_denies_nothing(tmp_path: Path, yolo: bool) -> None:
    argv = ClaudeCodeProvider().build_launch(context(tmp_path, DEVELOPER, yolo)).argv
    assert "--disallowedTools" not in argv


# --- Gemini CLI: the deny policy next to --approval-mode yolo ---------------------------------------

@YOLO
def test_gemini_cli_deny_policy_holds_in_both_modes(tmp_path: Path, yolo: bool) -> None:
    ctx = context(tmp_path, REVIEWER, yolo)
    spec = GeminiCliProvider().build_launch(ctx)
    assert (flag(spec.argv, "--approval-mode") == "yolo") is yolo
    policy = ctx.runtime_dir / "policy.toml"
    assert flag(spec.argv, "--policy") == str(policy)
    rule = tomllib.loads(spec.files[policy])["rule"][0]
    # A --policy file is Gemini's user tier (4.x): it outranks yolo's allow-all, a default-tier rule (1.998).
    assert rule["decision"] == "deny" and "priority" in rule
    assert {"run_shell_command", "write_file", "replace", "web_fetch"} <= set(rule["toolName"])


@YOLO
def test_gemini_cli_leaves_caos_server_out_unless_granted(tmp_path: Path, yolo: bool) -> None:
    ctx = context(tmp_path, ("fs_read",), yolo)
    spec = GeminiCliProvider().build_launch(ctx)
    settings = json.loads(spec.files[ctx.runtime_dir / "gemini-home" / ".gemini" / "settings.json"])
    assert "cao" not in settings["mcpServers"] and not spec.uses_cao_mcp


# --- Qwen Code: --exclude-tools in both modes --------------------------------------------------------

@YOLO
def test_qwen_code_excludes_the_shell_in_both_modes(tmp_path: Path, yolo: bool) -> None:
    argv = QwenCodeProvider().build_launch(context(tmp_path, REVIEWER, yolo)).argv
    assert flag(argv, "--approval-mode") == ("yolo" if yolo else "default")
    excluded = next(arg for arg in argv if arg.startswith("--exclude-tools=")).split("=", 1)[1].split(",")
    assert {"run_shell_command", "agent", "write_file", "edit", "web_fetch"} <= set(excluded)


# --- Codex CLI: features off, a read-only sandbox, and yolo without the bypass ------------------------

@YOLO
def test_codex_without_shell_or_writes(tmp_path: Path, yolo: bool) -> None:
    spec = CodexProvider().build_launch(context(tmp_path, REVIEWER, yolo))
    values = overrides(spec.argv)
    assert {k: v for k, v in values.items() if k.startswith("features.")} == SHELL_FEATURES  # fs_read: view_image stays
    assert values["web_search"] == "disabled"
    assert "--dangerously-bypass-approvals-and-sandbox" not in spec.argv  # it would drop the sandbox
    assert flag(spec.argv, "--ask-for-approval") == ("never" if yolo else "on-request")
    assert flag(spec.argv, "--sandbox") == "read-only"
    notes = [text for path, text in spec.files.items() if path.name == "developer_instructions.toml"]
    assert notes and "You only have access to these tools" in notes[0]  # the soft part, in both modes


@YOLO
def test_codex_with_writes_but_no_shell(tmp_path: Path, yolo: bool) -> None:
    argv = CodexProvider().build_launch(context(tmp_path, ("fs_*", "web_fetch", "@cao-mcp-server"), yolo)).argv
    values = overrides(argv)
    assert {k: v for k, v in values.items() if k.startswith("features.")} == SHELL_FEATURES
    assert "web_search" not in values and "--sandbox" not in argv
    assert ("--dangerously-bypass-approvals-and-sandbox" in argv) is yolo


def test_codex_without_fs_read_has_no_image_viewer(tmp_path: Path) -> None:
    values = overrides(CodexProvider().build_launch(context(tmp_path, ("execute_bash", "fs_write"), False)).argv)
    assert values["features.view_image"] is False and "features.shell_tool" not in values


@YOLO
def test_codex_developer_is_unrestricted(tmp_path: Path, yolo: bool) -> None:
    spec = CodexProvider().build_launch(context(tmp_path, DEVELOPER, yolo))
    values = overrides(spec.argv)
    assert not [k for k in values if k.startswith("features.")] and "web_search" not in values
    assert "--sandbox" not in spec.argv
    assert ("--dangerously-bypass-approvals-and-sandbox" in spec.argv) is yolo


@YOLO
def test_codex_leaves_caos_server_out_unless_granted(tmp_path: Path, yolo: bool) -> None:
    spec = CodexProvider().build_launch(context(tmp_path, ("execute_bash", "fs_*"), yolo))
    assert "mcp_servers.cao" not in overrides(spec.argv) and not spec.uses_cao_mcp
    assert HEADERS_FILE not in [path.name for path in spec.files]  # no token written for nobody
