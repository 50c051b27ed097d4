"""In-process event bus. Topics look like ``terminal.<id>.status``; ``*`` matches one part.

Subscribers get an unbounded queue: status events are rare and must never be dropped.
"""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    topic: str
    data: dict[str, Any]


@dataclass
class EventBus:
    _subscribers: list[tuple[str, asyncio.Queue[Event]]] = field(default_factory=list)

    def subscribe(self, pattern: str) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.append((pattern, queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers = [(p, q) for p, q in self._subscribers if q is not queue]

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        event = Event(topic, data)
        for pattern, queue in self._subscribers:
            if fnmatch.fnmatchcase(topic, pattern):
                queue.put_nowait(event)
