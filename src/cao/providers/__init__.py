"""Provider registry: one module per CLI, looked up by name."""

from __future__ import annotations

from cao.errors import InvalidInput
from cao.providers.base import LaunchContext, LaunchSpec, Provider, StartupDialog

DEFAULT_PROVIDER = "mock"


def _registry() -> dict[str, type[Provider]]:
    from cao.providers.claude_code import ClaudeCodeProvider
    from cao.providers.codex import CodexProvider
    from cao.providers.copilot_cli import CopilotCliProvider
    from cao.providers.cursor_cli import CursorCliProvider
    from cao.providers.gemini_cli import GeminiCliProvider
    from cao.providers.hermes import HermesProvider
    from cao.providers.kimi_cli import KimiCliProvider
    from cao.providers.kiro_cli import KiroCliProvider
    from cao.providers.mock import MockProvider
    from cao.providers.opencode import OpenCodeProvider
    from cao.providers.q_cli import QCliProvider
    from cao.providers.qwen_code import QwenCodeProvider

    # The last three are untested: written from their documentation (docs/providers/untested.md).
    return {cls.name: cls for cls in (MockProvider, ClaudeCodeProvider, GeminiCliProvider, CodexProvider,
                                      QwenCodeProvider, OpenCodeProvider, KimiCliProvider, CopilotCliProvider,
                                      HermesProvider, KiroCliProvider, QCliProvider, CursorCliProvider)}


def provider_names() -> list[str]:
    return sorted(_registry())


def get_provider(name: str) -> Provider:
    registry = _registry()
    if name not in registry:
        raise InvalidInput(f"unknown provider {name!r}; known providers: {', '.join(sorted(registry))}")
    return registry[name]()


__all__ = ["DEFAULT_PROVIDER", "LaunchContext", "LaunchSpec", "Provider", "StartupDialog", "get_provider",
           "provider_names"]
