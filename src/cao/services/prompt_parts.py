"""What cao adds to a terminal's system prompt beyond its profile's body (``LaunchContext.prompt_parts``).

Each capability that tells the agent something at start (its skills, its memories, team facts) adds
one function to ``CONTRIBUTORS``; it gets the terminal about to start and returns its text, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cao.profiles import AgentProfile

if TYPE_CHECKING:
    from cao.services.runtime import Runtime


@dataclass(frozen=True)
class Starting:
    """The terminal about to start, as the contributors see it."""

    rt: Runtime
    terminal_id: str
    session_name: str
    profile: AgentProfile
    provider: str
    working_directory: Path
    caller_id: str | None


Contributor = Callable[[Starting], "str | None"]
CONTRIBUTORS: list[Contributor] = []


def compose(starting: Starting) -> tuple[str, ...]:
    return tuple(text for contribute in CONTRIBUTORS if (text := contribute(starting)))
