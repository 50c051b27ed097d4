"""The server's event bus: what happened, in order, for the event stream, plugins and the status engine.

Every event has a kind from ``KINDS``, a number that only grows (``id``: SSE's ``Last-Event-ID``) and
the time it happened. The bus keeps the last ``BACKLOG`` events, so a subscriber that comes back can
ask for everything after the last id it saw. A subscriber's queue is bounded: one that does not keep
up is dropped — never the server slowed — and told the last id it was given, so it can resume.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

BACKLOG = 10_000
QUEUE_SIZE = 1_000

KINDS = frozenset({
    "session.created", "session.removed",
    "terminal.created", "terminal.removed", "terminal.status",
    "message.queued", "message.delivered", "message.failed",
    "handoff.started", "handoff.finished", "assign.started", "assign.finished",
    "flow.run.finished",
    "team.hook",
})


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    data: dict[str, Any]
    time: float

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "time": self.time, "data": self.data}


@dataclass(eq=False)
class Subscription:
    """One subscriber's view of the bus. ``dropped``: its queue overflowed; ``closed``: the server stops."""

    kinds: frozenset[str] | None
    limit: int
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    last_id: int = 0
    dropped: bool = False
    closed: bool = False

    def wants(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def offer(self, event: Event) -> None:
        if self.dropped or self.closed or not self.wants(event.kind):
            return
        if self.queue.qsize() >= self.limit:
            self.dropped = True  # what it has stays queued; next() drains it, then says None
            self.queue.put_nowait(None)
        else:
            self.queue.put_nowait(event)

    def close(self) -> None:
        if not self.closed and not self.dropped:  # a dropped one has its end-of-stream mark already
            self.queue.put_nowait(None)
        self.closed = True

    async def next(self) -> Event | None:
        """The next event; None once this subscription was dropped for falling behind, or closed."""
        event = await self.queue.get()
        if event is None:
            self.queue.put_nowait(None)  # stays at the end: every later call says None too
            return None
        self.last_id = event.id
        return event


class Subscriber(Protocol):
    """Anything the bus can hand events to: a ``Subscription``, or a plugin's runner (``cao.plugins.host``)."""

    def offer(self, event: Event) -> None: ...

    def close(self) -> None: ...


@dataclass
class EventBus:
    backlog_size: int = BACKLOG
    _subscribers: list[Subscriber] = field(default_factory=list)
    _backlog: deque[Event] = field(init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    last_id: int = 0

    def __post_init__(self) -> None:
        self._backlog = deque(maxlen=self.backlog_size)

    def publish(self, kind: str, **data: Any) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = Event(next(self._ids), kind, data, time.time())
        self.last_id = event.id
        self._backlog.append(event)
        for sub in self._subscribers:
            sub.offer(event)
        return event

    def subscribe(self, kinds: Iterable[str] | None = None, *, after: int | None = None,
                  queue_size: int = QUEUE_SIZE) -> Subscription:
        """Subscribe to ``kinds`` (all when None). With ``after``, the backlog's later events come first;
        ``resumable(after)`` says whether the backlog still reaches back that far."""
        wanted = None if kinds is None else frozenset(kinds)
        if wanted is not None and (unknown := wanted - KINDS):
            raise ValueError(f"unknown event kind(s): {', '.join(sorted(unknown))}")
        sub = Subscription(wanted, queue_size)
        if after is not None:
            for event in self._backlog:
                if event.id > after:
                    sub.offer(event)
        self._subscribers.append(sub)
        return sub

    def attach(self, subscriber: Subscriber) -> None:
        """Hand every later event to ``subscriber.offer`` (on the publisher's loop: it must not wait)."""
        self._subscribers.append(subscriber)

    def resumable(self, after: int) -> bool:
        """True when no event after ``after`` has left the backlog yet."""
        return not self._backlog or self._backlog[0].id <= after + 1 or after >= self.last_id

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers = [s for s in self._subscribers if s is not sub]

    def close(self) -> None:
        """The server is stopping: every subscriber's ``next()`` now says None (streams end)."""
        for sub in self._subscribers:
            sub.close()

    def recent(self, after: int = 0) -> list[Event]:
        return [e for e in self._backlog if e.id > after]
