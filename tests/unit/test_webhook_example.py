"""examples/plugins/cao-webhook: its payloads, and its posts to a local HTTP receiver through cao's plugin host."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from cao.events import EventBus
from cao.plugins.host import PluginHost
from tests.webhook_receiver import Receiver

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "cao-webhook"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    for key in ("CAO_WEBHOOK_EVENTS", "CAO_WEBHOOK_STATUSES", "CAO_WEBHOOK_FORMAT", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    found = Receiver()
    monkeypatch.setenv("CAO_WEBHOOK_URL", found.url)
    yield found
    found.close()


def _entry_point() -> EntryPoint:
    """The entry point exactly as the example's pyproject.toml declares it."""
    import tomllib

    declared = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["entry-points"]["cao.plugins"]
    ((name, value),) = declared.items()
    return EntryPoint(name=name, value=value, group="cao.plugins")


def _publish_through_host(events: list[tuple[str, dict[str, Any]]], until_posts: int, receiver: Receiver,
                          until_errors: int = 0) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        bus, host = EventBus(), PluginHost()
        host.start(bus, Path("/nonexistent"), entry_points=[_entry_point()],
                   session_of=lambda event: event.data.get("session") or "cao-t1")
        deadline = time.monotonic() + 10
        while host.listing()[0]["status"] == "starting" and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for kind, data in events:
            bus.publish(kind, **data)
        def settled() -> bool:
            info = host.listing()[0]
            return info["status"] != "running" or (len(receiver.bodies) >= until_posts
                                                   and info["errors"] >= until_errors)

        while not settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        info = host.listing()[0]
        await host.stop()
        return info

    return asyncio.run(main())


def test_it_posts_the_chosen_events_in_order_as_json(receiver: Receiver) -> None:
    info = _publish_through_host([
        ("session.created", {"session": "cao-t1", "working_directory": "/w"}),
        ("terminal.status", {"terminal_id": "1a2b3c4d", "status": "processing", "previous": "idle"}),  # not chosen
        ("message.queued", {"message_id": 1, "sender_id": "user", "receiver_id": "1a2b3c4d"}),  # not chosen
        ("terminal.status", {"terminal_id": "1a2b3c4d", "status": "waiting_user_answer", "previous": "processing"}),
    ], until_posts=2, receiver=receiver)
    assert info["status"] == "running" and "message.queued" not in info["kinds"]
    first, second = receiver.bodies
    assert first["kind"] == "session.created" and first["source"] == "cao" and first["data"]["session"] == "cao-t1"
    assert second["text"] == "[cao] terminal 1a2b3c4d in cao-t1 is waiting_user_answer (was processing)"
    assert second["session"] == "cao-t1" and second["id"] == 4
    assert receiver.headers[0]["Content-Type"] == "application/json"


def test_slack_and_discord_shapes(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAO_WEBHOOK_EVENTS", "flow.*")
    for fmt in ("slack", "discord"):
        monkeypatch.setenv("CAO_WEBHOOK_FORMAT", fmt)
        _publish_through_host([("flow.run.finished", {"flow": "nightly", "run_id": 3, "outcome": "failed",
                                                      "error": "@everyone timed out"})],
                              until_posts=len(receiver.bodies) + 1, receiver=receiver)
    slack, discord = receiver.bodies
    assert slack == {"text": "[cao] flow nightly run 3: failed (@everyone timed out)"}
    assert discord == {"content": slack["text"], "username": "cao", "allowed_mentions": {"parse": []}}


def test_the_format_follows_the_url_host() -> None:
    import sys

    sys.path.insert(0, str(EXAMPLE / "src"))
    try:
        from cao_webhook import _format_for
    finally:
        sys.path.remove(str(EXAMPLE / "src"))
    assert _format_for("https://hooks.slack.com/services/T/B/X") == "slack"
    assert _format_for("https://discord.com/api/webhooks/1/abc") == "discord"
    assert _format_for("https://example.org/cao") == "json"


def test_a_failing_receiver_is_counted_and_the_url_stays_secret(receiver: Receiver) -> None:
    receiver.status = 500
    info = _publish_through_host([("session.removed", {"session": "cao-t1"})], until_posts=1, until_errors=1,
                                 receiver=receiver)
    assert info["errors"] == 1
    assert info["last_error"] == "session.removed #1: RuntimeError: 127.0.0.1 answered HTTP 500 Internal Server Error"
    assert "SECRET" not in info["last_error"]


def test_bad_settings_fail_the_plugin_with_why(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAO_WEBHOOK_EVENTS", "terminal.stauts")
    info = _publish_through_host([], until_posts=0, receiver=receiver)
    assert info["status"] == "failed" and "'terminal.stauts' matches no event kind" in info["error"]
    monkeypatch.delenv("CAO_WEBHOOK_EVENTS")
    monkeypatch.delenv("CAO_WEBHOOK_URL")
    info = _publish_through_host([], until_posts=0, receiver=receiver)
    assert info == {**info, "status": "failed",
                    "error": "setup failed: ValueError: CAO_WEBHOOK_URL is not set: give cao-server the URL to post "
                             "events to"}


def test_an_unreachable_receiver_is_counted_with_its_host_only(receiver: Receiver) -> None:
    receiver.close()  # nothing listens on its port any more
    info = _publish_through_host([("session.created", {"session": "cao-t1"})], until_posts=0, until_errors=1,
                                 receiver=receiver)
    assert info["errors"] == 1 and info["last_error"].startswith("session.created #1: RuntimeError: could not post "
                                                                 "to 127.0.0.1: ")
    assert "SECRET" not in info["last_error"]
