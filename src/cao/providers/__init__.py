"""Provider registry: one module per CLI, looked up by name."""

from __future__ import annotations

from cao.errors import InvalidInput
from cao.providers.base import LaunchContext, LaunchSpec, Provider, StartupDialog

DEFAULT_PROVIDER = "mock"


def _registry() -> dict[str, type[Provider]]:
    from cao.providers.claude_code import ClaudeCodeProvider
    from cao.providers.codex import CodexProvider
    from cao.providers.gemini_cli import GeminiCliProvider
    from cao.providers.kimi_cli import KimiCliProvider
    from cao.providers.mock import MockProvider
    from cao.providers.opencode import OpenCodeProvider
    from cao.providers.qwen_code import QwenCodeProvider

    return {cls.name: cls for cls in (MockProvider, ClaudeCodeProvider, GeminiCliProvider, CodexProvider,
                                      QwenCodeProvider, OpenCodeProvider, KimiCliProvider)}


def provider_names() -> list[str]:
    return sorted(_registry())


def get_provider(name: str) -> Provider:
    registry = _registry()
    if name not in registry:
        raise InvalidInput(f"unknown provider {name!r}; known providers: {', '.join(sorted(registry))}")
    return registry[name]()


__all__ = ["DEFAULT_PROVIDER", "LaunchContext", "LaunchSpec", "Provider", "StartupDialog", "get_provider",
           "provider_names"]
