"""Each real CLI as a returning user has it, for the scenarios every CLI and version must pass.

A setup writes only what a person who has used that CLI before really has — their API provider
settings and key, onboarding done — never a trust decision for the new project folder, so the
scenarios start from the state cao meets on a user's machine. ``shell`` is the model's tool call
that runs a shell command in that CLI (each names its shell tool and arguments its own way).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_real.conftest import ModelServer, cli_versions
from tests.screens.record_codex import seed_codex_home

Setup = Callable[[Path, ModelServer, pytest.MonkeyPatch], None]


@dataclass(frozen=True)
class Cli:
    provider: str
    package: str
    setup: Setup
    shell: Callable[[str], dict[str, Any]]  # command -> the rule fields of a tool call running it


def _claude(home: Path, model: ModelServer, env: pytest.MonkeyPatch) -> None:
    key = "sk-ant-fake-key-0123456789abcdef"
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
        "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []}}))
    env.setenv("ANTHROPIC_BASE_URL", model.url)
    env.setenv("ANTHROPIC_API_KEY", key)


def _codex(home: Path, model: ModelServer, env: pytest.MonkeyPatch) -> None:
    seed_codex_home(home, model.url, key_var="SCRIPTED_MODEL_KEY")
    env.setenv("SCRIPTED_MODEL_KEY", "sk-scripted")


def _gemini(home: Path, model: ModelServer, env: pytest.MonkeyPatch) -> None:
    env.setenv("GOOGLE_GEMINI_BASE_URL", model.url)
    env.setenv("GEMINI_API_KEY", "fake-gemini-key")
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(
        json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))


def _qwen(home: Path, model: ModelServer, env: pytest.MonkeyPatch) -> None:
    env.setenv("FAKE_QWEN_KEY", "sk-fake-qwen-key")
    for name in ("QWEN_HOME", "QWEN_CODE_SYSTEM_DEFAULTS_PATH", "QWEN_CODE_TRUSTED_FOLDERS_PATH"):
        env.delenv(name, raising=False)
    (home / ".qwen").mkdir()
    (home / ".qwen" / "settings.json").write_text(json.dumps({
        "$version": 4, "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "fake-model"},
        "modelProviders": {"openai": [{"id": "fake-model", "name": "Fake", "baseUrl": f"{model.url}/v1",
                                       "envKey": "FAKE_QWEN_KEY"}]}}))


def _opencode(home: Path, model: ModelServer, env: pytest.MonkeyPatch) -> None:
    env.setenv("FAKE_OPENCODE_KEY", "sk-fake-opencode-key")
    env.setenv("OPENCODE_DISABLE_MODELS_FETCH", "1")  # offline, as a user without network sets it
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "OPENCODE_CONFIG", "OPENCODE_CONFIG_CONTENT",
                 "OPENCODE_PERMISSION"):
        env.delenv(name, raising=False)
    (home / ".config" / "opencode").mkdir(parents=True)
    (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps({
        "$schema": "https://opencode.ai/config.json", "model": "fake/fake-model",
        "provider": {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "FakeLLM",
                              "options": {"baseURL": f"{model.url}/v1", "apiKey": "{env:FAKE_OPENCODE_KEY}"},
                              "models": {"fake-model": {"name": "Fake Model", "tool_call": True}}}}}))


def _hermes(home: Path, model: ModelServer, env: pytest.MonkeyPatch) -> None:
    env.setenv("OPENAI_API_KEY", "sk-fake-hermes-key")
    env.setenv("HERMES_DISABLE_LAZY_INSTALLS", "1")  # no pip installs of optional features at start
    for name in ("HERMES_HOME", "HERMES_EPHEMERAL_SYSTEM_PROMPT", "OPENAI_BASE_URL"):
        env.delenv(name, raising=False)
    (home / ".hermes").mkdir()
    (home / ".hermes" / "config.yaml").write_text(
        f"model:\n  provider: custom\n  default: fake-model\n  base_url: {model.url}/v1\n")


def _copilot(home: Path, model: ModelServer, env: pytest.MonkeyPatch) -> None:
    for name, value in (("COPILOT_OFFLINE", "true"), ("COPILOT_PROVIDER_BASE_URL", f"{model.url}/v1"),
                        ("COPILOT_MODEL", "gpt-4o"), ("COPILOT_PROVIDER_API_KEY", "sk-fake-copilot")):
        env.setenv(name, value)
    for name in ("COPILOT_HOME", "COPILOT_ALLOW_ALL", "COPILOT_CUSTOM_INSTRUCTIONS_DIRS", "GH_TOKEN", "GITHUB_TOKEN"):
        env.delenv(name, raising=False)


CLIS = [
    Cli("claude_code", "@anthropic-ai/claude-code", _claude,
        lambda command: {"tool": "Bash", "args": {"command": command, "description": "run it"}}),
    Cli("codex", "@openai/codex", _codex,
        lambda command: {"tool": "exec_command", "args": {"cmd": command}}),
    Cli("gemini_cli", "@google/gemini-cli", _gemini,
        lambda command: {"tool": "run_shell_command", "args": {"command": command}}),
    Cli("qwen_code", "@qwen-code/qwen-code", _qwen,
        lambda command: {"tool": "run_shell_command", "args": {"command": command}}),
    Cli("opencode", "opencode-ai", _opencode,
        lambda command: {"tool": "bash", "args": {"command": command, "description": "run it"}}),
    Cli("hermes", "hermes-agent", _hermes, lambda command: {"tool": "terminal", "args": {"command": command}}),
    Cli("copilot_cli", "@github/copilot", _copilot,
        lambda command: {"tool": "bash", "args": {"command": command, "description": "run it"}}),
]


def every_version() -> list[Any]:
    """pytest params: each CLI at each version the tier runs, as (Cli, bin directory)."""
    return [pytest.param((cli, bin_dir), id=f"{cli.provider}-{version}")
            for cli in CLIS for version, bin_dir in cli_versions(cli.package)]


def put_first_on_path(bin_dir: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
