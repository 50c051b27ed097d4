"""Memory settings, from the environment (import-light: ``cao.settings`` builds them on every CLI run).

    CAO_MEMORY=off                   no memory tools, nothing given to new terminals
    CAO_MEMORY_PROMPT_CHARS=3000     the budget of memories put into a new terminal's system prompt (0: none)
    CAO_MEMORY_<SCOPE>_DAYS=N        forget memories of SCOPE not updated for N days (0: never)
    CAO_MEMORY_<SCOPE>_MAX=N         keep at most N memories per project / session / agent / in global

Session memories are also dropped when their session is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

SCOPES = ("session", "project", "agent", "global")  # also the order of precedence, nearest first
DEFAULT_PROMPT_CHARS = 3000
MAX_PROMPT_CHARS = 100_000


@dataclass(frozen=True)
class Retention:
    max_age_days: int | None  # None: never expires
    max_count: int


DEFAULT_RETENTION = {
    "session": Retention(14, 500),
    "project": Retention(90, 2000),
    "agent": Retention(None, 1000),
    "global": Retention(None, 1000),
}


@dataclass(frozen=True)
class MemorySettings:
    enabled: bool = True
    prompt_chars: int = DEFAULT_PROMPT_CHARS
    # (scope, Retention) pairs: a tuple, so settings stay hashable
    retention: tuple[tuple[str, Retention], ...] = tuple(DEFAULT_RETENTION.items())

    def retention_of(self, scope: str) -> Retention:
        return dict(self.retention)[scope]

    @classmethod
    def from_env(cls, env: dict[str, str]) -> MemorySettings:
        enabled = (env.get("CAO_MEMORY") or "on").strip().lower() not in {"0", "false", "no", "off"}
        prompt_chars = _number(env, "CAO_MEMORY_PROMPT_CHARS", DEFAULT_PROMPT_CHARS, MAX_PROMPT_CHARS)
        retention = {}
        for scope, default in DEFAULT_RETENTION.items():
            days = _number(env, f"CAO_MEMORY_{scope.upper()}_DAYS", default.max_age_days or 0, 100_000)
            count = _number(env, f"CAO_MEMORY_{scope.upper()}_MAX", default.max_count, 10_000_000, minimum=1)
            retention[scope] = Retention(days or None, count)
        return cls(enabled=enabled, prompt_chars=prompt_chars, retention=tuple(retention.items()))


def _number(env: dict[str, str], name: str, default: int, maximum: int, minimum: int = 0) -> int:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    if text.lower() == "never" and name.endswith("_DAYS"):
        return 0
    if not text.isdigit() or not minimum <= int(text) <= maximum:
        from cao.errors import InvalidInput

        raise InvalidInput(f"{name}={text!r} is not a whole number from {minimum} to {maximum}")
    return int(text)
