"""The plugin host: entry points loaded on their own threads, hooks isolated, time-limited and counted."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from cao.events import KINDS, EventBus
from cao.plugins import CaoPlugin, Event, PluginContext
from cao.plugins.host import PluginHost

SEEN: dict[str, list[tuple[str, int]]] = {}
RELEASE = threading.Event()
ENTERED = threading.Event()
TORN_DOWN: list[str] = []


class Statuses(CaoPlugin):
    """Per-kind hooks only: it is given just those kinds."""

    async def on_terminal_status(self, event: Event) -> None:
        SEEN.setdefault("statuses", []).append((event.kind, event.id))

    def on_session_created(self, event: Event) -> None:  # a plain def hook works too
        SEEN.setdefault("statuses", []).append((event.kind, event.id))

    async def teardown(self) -> None:
        TORN_DOWN.append("statuses")


class Everything(CaoPlugin):
    async def on_event(self, event: Event) -> None:
        SEEN.setdefault("everything", []).append((event.kind, event.id))


class Raises(CaoPlugin):
    async def on_event(self, event: Event) -> None:
        if event.data.get("n") == 1:
            raise RuntimeError("boom")
        SEEN.setdefault("raises", []).append((event.kind, event.id))


class Slow(CaoPlugin):
    timeout = 0.05

    async def on_event(self, event: Event) -> None:
        if event.data.get("n") == 1:
            await asyncio.sleep(30)
        SEEN.setdefault("slow", []).append((event.kind, event.id))


class Blocks(CaoPlugin):
    """Blocks its thread (a plain sleep-like wait) on the first event, with a queue of two."""

    queue_size = 2

    def on_event(self, event: Event) -> None:  # type: ignore[override]
        ENTERED.set()
        RELEASE.wait(30)
        SEEN.setdefault("blocks", []).append((event.kind, event.id))


class SetupFails(CaoPlugin):
    async def setup(self, context: PluginContext) -> None:
        raise RuntimeError("CAO_EXAMPLE_URL is not set")

    async def on_event(self, event: Event) -> None:
        SEEN.setdefault("setup-fails", []).append((event.kind, event.id))


class NoHooks(CaoPlugin):
    pass


NOT_A_PLUGIN = object()


def ep(name: str, attr: str) -> EntryPoint:
    value = attr if ":" in attr else f"{__name__}:{attr}"
    return EntryPoint(name=name, value=value, group="cao.plugins")


@pytest.fixture(autouse=True)
def _fresh() -> None:
    SEEN.clear()
    TORN_DOWN.clear()
    RELEASE.clear()
    ENTERED.clear()


async def until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out: {what}")


def run(entry_points: list[EntryPoint], body: Callable[[EventBus, PluginHost], Awaitable[None]],
        select: str | None = None) -> PluginHost:
    async def main() -> PluginHost:
        bus = EventBus()
        host = PluginHost()
        host.start(bus, Path("/nonexistent"), entry_points=entry_points, select=select)
        try:
            await body(bus, host)
        finally:
            RELEASE.set()
            await host.stop()
        return host

    return asyncio.run(main())


def info(host: PluginHost, name: str) -> dict[str, Any]:
    return next(i for i in host.listing() if i["name"] == name)


def test_hooks_get_their_kinds_in_order_and_teardown_runs() -> None:
    async def body(bus: EventBus, host: PluginHost) -> None:
        await until(lambda: info(host, "statuses")["status"] == "running", "started")
        created = bus.publish("session.created", session="cao-a")
        bus.publish("message.queued", message_id=1, sender_id="user", receiver_id="0badcafe")
        status = bus.publish("terminal.status", terminal_id="0badcafe", status="idle", previous="unknown")
        await until(lambda: len(SEEN.get("statuses", [])) == 2 and len(SEEN.get("everything", [])) == 3, "delivered")
        assert SEEN["statuses"] == [("session.created", created.id), ("terminal.status", status.id)]
        assert [kind for kind, _ in SEEN["everything"]] == ["session.created", "message.queued", "terminal.status"]

    host = run([ep("statuses", "Statuses"), ep("everything", "Everything")], body)
    assert info(host, "statuses")["kinds"] == ["session.created", "terminal.status"]
    assert info(host, "everything")["kinds"] == sorted(KINDS)
    assert info(host, "statuses")["events"] == 2 and info(host, "statuses")["status"] == "stopped"
    assert TORN_DOWN == ["statuses"]


def test_a_raising_hook_is_counted_and_the_next_event_still_arrives() -> None:
    async def body(bus: EventBus, host: PluginHost) -> None:
        for n in (1, 2):
            bus.publish("session.created", session=f"cao-{n}", n=n)
        await until(lambda: SEEN.get("raises"), "second event")
        assert [event_id for _, event_id in SEEN["raises"]] == [2]

    host = run([ep("raises", "Raises")], body)
    found = info(host, "raises")
    assert found["errors"] == 1 and found["events"] == 1
    assert found["last_error"] == "session.created #1: RuntimeError: boom"


def test_a_slow_async_hook_is_cancelled_after_its_timeout() -> None:
    async def body(bus: EventBus, host: PluginHost) -> None:
        for n in (1, 2):
            bus.publish("session.created", session=f"cao-{n}", n=n)
        await until(lambda: SEEN.get("slow"), "second event after the first timed out")

    found = info(run([ep("slow", "Slow")], body), "slow")
    assert found["timeouts"] == 1 and found["events"] == 1
    assert "took longer than 0.05 s (cancelled)" in found["last_error"]


def test_a_blocked_plugin_skips_events_but_never_holds_up_the_bus_or_others() -> None:
    async def body(bus: EventBus, host: PluginHost) -> None:
        await until(lambda: all(info(host, n)["status"] == "running" for n in ("blocks", "everything")), "started")
        first = bus.publish("session.created", session="cao-1")
        await until(ENTERED.is_set, "the blocking plugin took the first event off its queue")
        for n in range(2, 8):  # its queue holds two: of these six, four are skipped
            bus.publish("session.created", session=f"cao-{n}")
        await until(lambda: len(SEEN.get("everything", [])) == 7, "the other plugin got all seven")
        assert "blocks" not in SEEN
        RELEASE.set()
        await until(lambda: len(SEEN.get("blocks", [])) == 3, "the blocked plugin caught up")
        assert SEEN["blocks"][0] == ("session.created", first.id)

    host = run([ep("blocks", "Blocks"), ep("everything", "Everything")], body)
    assert info(host, "blocks")["skipped"] == 4 and info(host, "everything")["skipped"] == 0


def test_load_failures_are_recorded_with_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cao_test_raises_at_import.py").write_text("raise ImportError('needs the foo package')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry_points = [ep("missing", "cao_no_such_module_xyz:Plugin"),
                    ep("raises-at-import", "cao_test_raises_at_import:Plugin"),
                    ep("not-a-plugin", "NOT_A_PLUGIN"), ep("no-hooks", "NoHooks"),
                    ep("setup-fails", "SetupFails"), ep("everything", "Everything"), ep("everything", "Statuses")]

    async def body(bus: EventBus, host: PluginHost) -> None:
        await until(lambda: all(i["status"] != "starting" for i in host.listing()), "all settled")
        await until(lambda: len(bus._subscribers) == 1, "the failed ones detached (on this loop)")
        bus.publish("session.created", session="cao-x")
        await until(lambda: SEEN.get("everything"), "the good plugin still runs")

    host = run(entry_points, body)
    errors = {i["name"]: (i["status"], i["error"]) for i in host.listing()}
    assert errors["missing"] == ("failed",
                                 "import failed: ModuleNotFoundError: No module named 'cao_no_such_module_xyz'")
    assert errors["raises-at-import"] == ("failed", "import failed: ImportError: needs the foo package")
    assert errors["not-a-plugin"][1].startswith("not a usable plugin: TypeError:")
    assert "it has no hooks" in errors["no-hooks"][1]
    assert errors["setup-fails"] == ("failed", "setup failed: RuntimeError: CAO_EXAMPLE_URL is not set")
    assert "setup-fails" not in SEEN
    assert [i["status"] for i in host.listing() if i["name"] == "everything"] == ["stopped", "failed"]


def test_cao_plugins_chooses_which_load() -> None:
    async def body(bus: EventBus, host: PluginHost) -> None:
        await until(lambda: info(host, "everything")["status"] == "running", "started")

    host = run([ep("everything", "Everything"), ep("statuses", "Statuses")], body, select="everything")
    assert info(host, "statuses")["status"] == "disabled"
    assert all(i["status"] == "disabled" for i in run([ep("everything", "Everything")], body=_noop,
                                                       select="none").listing())


async def _noop(bus: EventBus, host: PluginHost) -> None:
    return None


def test_unknown_kinds_are_refused_by_name() -> None:
    class Typo(CaoPlugin):
        kinds = frozenset({"terminal.stauts"})

    with pytest.raises(ValueError, match=r"unknown event kind\(s\) in kinds: terminal.stauts"):
        Typo().wanted_kinds()
