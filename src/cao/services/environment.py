"""The environment an agent starts with: a minimal allow-list, never the server's whole env."""

from __future__ import annotations

import os
import re

ESSENTIAL = ("HOME", "PATH", "SHELL", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ",
             "SSH_AUTH_SOCK", "DISPLAY", "XDG_RUNTIME_DIR", "TMPDIR", "DO_NOT_TRACK")
# Variables that configure cao itself and the providers' model endpoints and keys.
PASSTHROUGH = re.compile(r"^(CAO_[A-Z0-9_]+|ANTHROPIC_[A-Z0-9_]+|OPENAI_[A-Z0-9_]+|GEMINI_[A-Z0-9_]+|"
                         r"GOOGLE_[A-Z0-9_]+|AWS_[A-Z0-9_]+)$")
DROP = {"CAO_TERMINAL_ID"}


def agent_environment(*, terminal_id: str, api_url: str, term: str, session_env: dict[str, str],
                      provider_env: dict[str, str], passthrough: tuple[str, ...] = (),
                      source: dict[str, str] | None = None) -> dict[str, str]:
    """``passthrough``: the provider's own prefixes (e.g. ``CLAUDE_CODE_``) taken from the server's env."""
    source = dict(os.environ if source is None else source)
    env = {k: source[k] for k in ESSENTIAL if source.get(k)}
    env.update({k: v for k, v in source.items()
                if (PASSTHROUGH.match(k) or k.startswith(passthrough or ("\0",))) and k not in DROP})
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["TERM"] = term
    env.update(provider_env)
    env.update(session_env)
    env["CAO_TERMINAL_ID"] = terminal_id
    env["CAO_API_URL"] = api_url
    return env


def env_argv(env: dict[str, str]) -> list[str]:
    """``env -i K=V ...``: start the agent with exactly this environment, without a shell."""
    env_binary = "/usr/bin/env" if os.path.exists("/usr/bin/env") else "env"
    return [env_binary, "-i", *(f"{k}={v}" for k, v in sorted(env.items()))]
