"""``python -m cao.secret_guard``: a CLI's pre-tool hook for a team member with ``redact_secrets``.

The CLIs with a hook system cao writes (Claude Code, Codex CLI, Gemini CLI, Qwen Code; OpenCode through
cao's plugin) run it before each tool call with the call's JSON on stdin. When the call's arguments hold
something that looks like a secret (cao's one masker, ``cao/secrets.py``), it exits 2, which stops the
call; what it prints on stderr goes back to the model, secrets masked. Otherwise it exits 0 and the call
goes on. cagent rewrites such arguments instead; these CLIs' hooks can only let a call through or stop
it, so the secret never reaches the tool either way.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from typing import Any

from cao import secrets

BLOCK = 2  # the exit status that stops the call (Claude Code's and Gemini CLI's hook contract)


def tool_hook(matcher: str | None = None) -> dict[str, Any]:
    """This guard as a member's ``pre_tool_use`` tool hook (the CLI runs ``command`` through its shell)."""
    return {"command": shlex.quote(sys.executable), "args": ["-m", "cao.secret_guard"],
            "matcher": matcher or ".*", "timeout": 10.0, "env": {}}


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value (keys too), so a secret is scanned as written, not JSON-escaped."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def verdict(event: dict[str, Any]) -> str | None:
    """Why the call must stop (secrets masked), or None to let it run."""
    kinds = sorted({f.kind for text in strings(event.get("tool_input")) for f in secrets.find(text)})
    if not kinds:
        return None
    tool = event.get("tool_name") or "this tool"
    return (f"cao stopped this {tool} call: its arguments hold what looks like a secret ({', '.join(kinds)}), "
            "and this agent runs with redact_secrets. Do the task without putting the secret in a tool call: "
            "refer to it by the environment variable or file that holds it.")


def main() -> int:
    try:
        event = json.load(sys.stdin)
    except (ValueError, UnicodeDecodeError):
        print("cao secret guard: the hook input is not JSON; the call was stopped", file=sys.stderr)
        return BLOCK
    reason = verdict(event if isinstance(event, dict) else {})
    if reason is None:
        return 0
    print(reason, file=sys.stderr)
    return BLOCK


if __name__ == "__main__":
    sys.exit(main())
