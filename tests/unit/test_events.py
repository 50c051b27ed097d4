"""The event bus: ids that grow, kinds checked, a backlog to resume from, slow subscribers dropped."""

import asyncio

import pytest

from cao.events import EventBus


def run(coro):
    return asyncio.run(coro)


def test_ids_grow_and_kinds_are_checked():
    bus = EventBus()
    first = bus.publish("session.created", session="s")
    second = bus.publish("session.removed", session="s")
    assert (first.id, second.id) == (1, 2)
    assert bus.last_id == 2
    assert second.public()["data"] == {"session": "s"}
    with pytest.raises(ValueError, match=r"unknown event kind 'session\.exploded'"):
        bus.publish("session.exploded")
    with pytest.raises(ValueError, match="unknown event kind"):
        bus.subscribe(["nope"])


def test_a_subscriber_gets_only_its_kinds_in_order():
    async def scenario():
        bus = EventBus()
        sub = bus.subscribe(["terminal.status"])
        bus.publish("session.created", session="s")
        bus.publish("terminal.status", terminal_id="a", status="processing", previous="idle")
        bus.publish("terminal.status", terminal_id="a", status="completed", previous="processing")
        got = [await sub.next(), await sub.next()]
        assert [e.data["status"] for e in got] == ["processing", "completed"]
        assert sub.last_id == 3
        assert sub.queue.empty()
    run(scenario())


def test_resume_after_an_id_replays_the_backlog_without_a_gap():
    async def scenario():
        bus = EventBus(backlog_size=5)
        for i in range(4):
            bus.publish("session.created", session=f"s{i}")
        assert bus.resumable(2)
        sub = bus.subscribe(after=2)
        bus.publish("session.created", session="live")
        assert [(await sub.next()).data["session"] for _ in range(3)] == ["s2", "s3", "live"]
        for i in range(10):
            bus.publish("session.removed", session=f"s{i}")
        assert not bus.resumable(2)  # ids 3.. have left the five-event backlog
        assert bus.resumable(bus.last_id)
        assert [e.id for e in bus.recent(bus.last_id - 2)] == [bus.last_id - 1, bus.last_id]
    run(scenario())


def test_a_subscriber_that_falls_behind_is_dropped_and_knows_where_it_stopped():
    async def scenario():
        bus = EventBus()
        slow = bus.subscribe(queue_size=3)
        fast = bus.subscribe()
        for i in range(10):
            bus.publish("session.created", session=f"s{i}")
        assert slow.dropped and not fast.dropped
        seen = [await slow.next() for _ in range(3)]
        assert [e.id for e in seen] == [1, 2, 3]
        assert await slow.next() is None  # told it was dropped, once what it had is read
        assert slow.last_id == 3  # resume with after=3
        assert [e.id for e in bus.recent(slow.last_id)][:1] == [4]
        assert fast.queue.qsize() == 10
        bus.close()
        assert len([await fast.next() for _ in range(10)]) == 10 and await fast.next() is None
        bus.unsubscribe(slow)
        bus.publish("session.created", session="more")
        assert slow.queue.qsize() == 1  # only the end-of-stream mark
    run(scenario())


def test_replaying_more_than_the_queue_holds_drops_at_once():
    async def scenario():
        bus = EventBus()
        for i in range(10):
            bus.publish("session.created", session=f"s{i}")
        sub = bus.subscribe(after=0, queue_size=4)
        assert sub.dropped
        assert [(await sub.next()).id for _ in range(4)] == [1, 2, 3, 4]
        assert await sub.next() is None
    run(scenario())
