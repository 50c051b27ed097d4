"""``fallback``: the models (and so the CLIs) a member's handoff tries, in order, and which one sticks.

The first attempt is the member's own model unless a fallback succeeded less than ``cooldown``
seconds ago: then that fallback goes first (cagent's rule, so a rate-limited primary is not hit
again at once). Each attempt re-sends the task ``retries`` times when the CLI reports an error
before cao moves on to the next model; a CLI that exits, or whose error is a rate limit (cagent:
429 is not retried), moves on at once.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cao.teams import policy

if TYPE_CHECKING:
    from cao.services.runtime import Runtime


@dataclass(frozen=True)
class Attempt:
    index: int  # in the member's chain: 0 is its own model
    provider: str | None  # None: as the member (or profile) says
    model: str | None
    retries: int

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model or 'default'}" if self.provider else "its model"


# How the CLIs show a rate limit or an exhausted quota in their error text (HTTP 429 and its names).
RATE_LIMIT = re.compile(r"\b429\b|rate[ _-]?limit|too many requests|quota|resource[ _]exhausted", re.IGNORECASE)


def rate_limited(rows: list[str], task: str) -> bool:
    """Whether an error screen shows a rate limit: a row that says so and is not part of the task's own echo
    (a task about "rate limiting" must not read as one)."""
    for row in rows:
        line = row.strip(" >│|❯*·•●✗✕⎿").strip()
        if line and RATE_LIMIT.search(line) and line not in task:
            return True
    return False


def _sticky(rt: Runtime) -> dict[tuple[str, str], tuple[int, float]]:
    return vars(rt).setdefault("team_fallback_sticky", {})


def attempts(rt: Runtime, session_name: str, agent: str) -> list[Attempt]:
    found = policy.member_of(rt, session_name, agent)
    if found is None or found[1].fallback is None:
        return [Attempt(0, None, None, 0)]
    member, fallback = found[1], found[1].fallback
    chain = [(member.provider or None, member.model), *((p, m) for p, m in fallback["models"])]
    out = [Attempt(i, p, m, fallback["retries"]) for i, (p, m) in enumerate(chain)]
    index, until = _sticky(rt).get((session_name, agent), (0, 0.0))
    if index and time.monotonic() < until:
        out = [out[index], *(a for a in out if a.index != index)]
    return out


def succeeded(rt: Runtime, session_name: str, agent: str, attempt: Attempt) -> None:
    """Remember a fallback that worked for ``cooldown`` seconds; the primary working clears it."""
    found = policy.member_of(rt, session_name, agent)
    if found is None or found[1].fallback is None:
        return
    if attempt.index == 0:
        _sticky(rt).pop((session_name, agent), None)
    else:
        _sticky(rt)[(session_name, agent)] = (attempt.index, time.monotonic() + found[1].fallback["cooldown"])


def turn_limit(rt: Runtime, session_name: str, agent: str | None) -> int:
    """``max_iterations``: the most turns the member may take on one delegated task (0: no limit)."""
    found = policy.member_of(rt, session_name, agent)
    return found[1].max_iterations if found is not None else 0


def capped(retries: int, limit: int) -> int:
    """Error retries within a turn limit: the task's own turn plus at most ``limit - 1`` more."""
    return min(retries, limit - 1) if limit > 0 else retries
