"""Terminal statuses (DESIGN.md decision 4)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    UNKNOWN = "unknown"
    IDLE = "idle"
    PROCESSING = "processing"
    COMPLETED = "completed"
    WAITING_USER_ANSWER = "waiting_user_answer"
    ERROR = "error"

    @property
    def ready(self) -> bool:
        """Ready for input: the agent sits at its prompt."""
        return self in (Status.IDLE, Status.COMPLETED)

    @property
    def settled(self) -> bool:
        """The agent is not working: a turn that was running has ended one way or another."""
        return self in (Status.IDLE, Status.COMPLETED, Status.ERROR, Status.WAITING_USER_ANSWER)
