"""cagent model references → a cao provider (the CLI that runs the agent) and the model it is asked for.

``anthropic/claude-sonnet-4-0`` → Claude Code, ``openai/gpt-5`` → Codex CLI, ``google/gemini-2.5-pro``
→ Gemini CLI, ``mock/anything`` → cao's mock agent. A cao provider name works as the vendor too
(``codex/gpt-5``, ``qwen_code/qwen3-coder``, ``copilot_cli/gpt-5``), and so does a named model of
the ``models:`` section.
"""

from __future__ import annotations

VENDORS = {"anthropic": "claude_code", "openai": "codex", "google": "gemini_cli", "gemini": "gemini_cli",
           "mock": "mock"}
CAO_PROVIDERS = ("claude_code", "codex", "gemini_cli", "qwen_code", "opencode", "copilot_cli", "mock")
NO_CLI = {"dmr": "Docker Model Runner has no coding CLI cao can drive",
          "amazon-bedrock": "no coding CLI cao drives talks to Bedrock directly",
          "mistral": "no coding CLI cao drives talks to Mistral", "xai": "no coding CLI cao drives talks to xAI",
          "ollama": "no coding CLI cao drives talks to Ollama"}


def provider_for(vendor: str) -> str | None:
    """The cao provider for a cagent vendor name or a cao provider name, or None."""
    if vendor in CAO_PROVIDERS:
        return vendor
    return VENDORS.get(vendor)


def unknown_vendor(vendor: str) -> str:
    """The reason a vendor cannot be used, with the fix."""
    known = ", ".join(f"{v}/…" for v in VENDORS)
    reason = NO_CLI.get(vendor, f"{vendor!r} is not a provider cao knows")
    return (f"{reason}; use one of {known}, a cao provider ({', '.join(CAO_PROVIDERS)}) "
            "or a named model of the models: section")


def split(ref: str) -> tuple[str, str] | None:
    """``vendor/model`` → (vendor, model); None when there is no '/'."""
    vendor, slash, model = ref.partition("/")
    if not slash or not vendor or not model:
        return None
    return vendor, model
