"""``GET /events`` and ``cao events`` against the real server, tmux and mock agents."""

from __future__ import annotations

import http.client
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import InvalidInput, Unauthorized
from cao.settings import Settings
from tests.conftest import retry_until
from tests.helpers import launch, send_and_wait


class Reader:
    """Reads the event stream in a thread; ``until`` waits for an event matching a predicate."""

    def __init__(self, api: ApiClient, **params: object) -> None:
        self.got: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.seen: list[tuple[str, dict]] = []
        threading.Thread(target=self._run, args=(api, params), daemon=True).start()

    def _run(self, api: ApiClient, params: dict) -> None:
        for item in api.events(**params):
            self.got.put(item)

    def until(self, predicate, timeout: float = 20.0) -> dict:
        def match():
            while not self.got.empty():
                self.seen.append(self.got.get_nowait())
            return next((p for _k, p in self.seen if "kind" in p and predicate(p)), None)
        return retry_until(match, timeout, message="event")

    def kinds(self) -> list[str]:
        return [p["kind"] for _k, p in self.seen if "kind" in p]


def is_(kind: str, **data: object):
    return lambda p: p["kind"] == kind and all(p["data"].get(k) == v for k, v in data.items())


def test_a_terminals_life_is_on_the_stream_in_order(api: ApiClient, workdir: Path):
    reader = Reader(api, after=0)  # from the start of the backlog: nothing is missed while it connects
    terminal = launch(api, workdir, session="ev")
    tid = terminal["id"]
    created = reader.until(is_("terminal.created", terminal_id=tid))
    assert created["data"].items() >= {"session": "cao-ev", "provider": "mock", "profile": "developer"}.items()
    assert reader.until(is_("session.created", session="cao-ev"))["id"] < created["id"]
    send_and_wait(api, tid, "hello")
    reader.until(is_("terminal.status", terminal_id=tid, status="completed"))
    message_id = api.request("POST", f"/terminals/{tid}/inbox/messages", body={"message": "note"})["message_id"]
    reader.until(is_("message.queued", message_id=message_id, sender_id="user", receiver_id=tid))
    reader.until(is_("message.delivered", message_id=message_id))
    api.request("DELETE", "/sessions/cao-ev")
    removed = reader.until(is_("session.removed", session="cao-ev"))
    assert reader.until(is_("terminal.removed", terminal_id=tid))["id"] < removed["id"]
    ids = [p["id"] for _k, p in reader.seen if "id" in p]
    assert ids == sorted(ids) and len(ids) == len(set(ids))


def test_last_event_id_resumes_without_a_gap(api: ApiClient, workdir: Path):
    first = Reader(api, after=0)
    terminal = launch(api, workdir, session="resume")
    mark = first.until(is_("terminal.created", terminal_id=terminal["id"]))["id"]
    send_and_wait(api, terminal["id"], "hello")  # events after the mark, while "disconnected"
    api.request("DELETE", "/sessions/cao-resume")
    first.until(is_("session.removed", session="cao-resume"))
    expected = [p["id"] for _k, p in first.seen if p.get("id", 0) > mark]
    again = Reader(api, after=mark)
    again.until(lambda p: p["id"] == expected[-1])
    assert [p["id"] for _k, p in again.seen] == expected


def test_session_and_kind_filters(api: ApiClient, workdir: Path):
    only = Reader(api, after=0, session="cao-mine", kinds=["terminal.created", "session.removed"])
    launch(api, workdir, session="other")
    mine = launch(api, workdir, session="mine")
    only.until(is_("terminal.created", terminal_id=mine["id"]))
    api.request("DELETE", "/sessions/cao-other")
    api.request("DELETE", "/sessions/cao-mine")
    only.until(is_("session.removed", session="cao-mine"))
    assert only.kinds() == ["terminal.created", "session.removed"]


def test_bad_requests_are_named(api: ApiClient, settings: Settings):
    with pytest.raises(InvalidInput, match=r"unknown event kind.*terminal\.exploded"):
        next(api.events(kinds=["terminal.exploded"]))
    conn = http.client.HTTPConnection(settings.api_host, settings.api_port, timeout=5)
    conn.request("GET", "/events", headers={"Authorization": f"Bearer {api.token()}", "Last-Event-ID": "x1"})
    response = conn.getresponse()
    assert response.status == 400 and "whole number" in json.loads(response.read())["detail"]
    stranger = ApiClient(settings)
    stranger._token = "not-the-token"
    stranger.token = lambda **_: "not-the-token"  # type: ignore[method-assign]
    with pytest.raises(Unauthorized):
        next(stranger.events())


def test_cao_events_prints_json_lines(api: ApiClient, workdir: Path):
    cli = subprocess.Popen([sys.executable, "-m", "cao", "events", "--json", "--kind", "terminal.created",
                            "--after", "0", "--count", "1"], stdout=subprocess.PIPE, text=True)
    try:
        terminal = launch(api, workdir, session="cli")
        out, _ = cli.communicate(timeout=20)
    finally:
        cli.kill()
    event = json.loads(out)
    assert event["kind"] == "terminal.created" and event["data"]["terminal_id"] == terminal["id"]
