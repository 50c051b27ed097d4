"""``/terminals/{id}/ws``: the browser's live terminal, against the real server, tmux and the mock agent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import launch, tmux_sessions


def url(settings: Settings, terminal_id: str, query: str = "") -> str:
    return f"ws://127.0.0.1:{settings.api_port}/terminals/{terminal_id}/ws{query}"


def owner(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.api_token_file.read_text().strip()}"}


@contextmanager
def viewer(settings: Settings, terminal_id: str, query: str = "") -> Iterator[ClientConnection]:
    with connect(url(settings, terminal_id, query), additional_headers=owner(settings),
                 origin=f"http://127.0.0.1:{settings.api_port}") as ws:
        yield ws


def read_until(ws: ClientConnection, text: str, timeout: float = 20) -> bytes:
    """The bytes received until ``text`` is among them (the screen is drawn in pieces)."""
    got = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in got:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{text!r} not drawn within {timeout}s; got {got[-400:]!r}")
        try:
            frame = ws.recv(timeout=remaining)
        except TimeoutError:
            continue
        assert isinstance(frame, bytes), "the screen comes as binary frames"
        got += frame
    return got


@pytest.fixture
def terminal(api: ApiClient, workdir: Path) -> dict:
    return launch(api, workdir, session="ws")


def test_the_screen_streams_and_keystrokes_reach_the_agent(server: ServerProcess, settings: Settings,
                                                         api: ApiClient, terminal: dict) -> None:
    with viewer(settings, terminal["id"], "?rows=30&cols=100") as ws:
        read_until(ws, "? for shortcuts")
        ws.send(json.dumps({"type": "input", "data": "typed over the socket"}))
        read_until(ws, "typed over the socket")
        ws.send(json.dumps({"type": "input", "data": "\r"}))
        read_until(ws, "Mock reply to: typed over the socket")
        ws.send(json.dumps({"type": "resize", "rows": 40, "cols": 120}))
        ws.send("not json")  # ignored, the view goes on
        retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["status"] == "completed", 20,
                    message="the server saw the turn typed over the socket")
        views = [s for s in tmux_sessions(settings) if s.startswith("cao_view_")]
        assert len(views) == 1
    # Closing the view ends its tmux client and session, never the agent.
    retry_until(lambda: not [s for s in tmux_sessions(settings) if s.startswith("cao_view_")], 10,
                message="the view's session is gone")
    assert "cao-ws" in tmux_sessions(settings)
    assert api.get(f"/terminals/{terminal['id']}")["status"] == "completed"
    assert "Mock reply to: typed over the socket" in api.get(f"/terminals/{terminal['id']}/output")["output"]


def test_two_viewers_and_a_read_only_one(server: ServerProcess, settings: Settings, api: ApiClient,
                                         terminal: dict) -> None:
    with viewer(settings, terminal["id"]) as typing, viewer(settings, terminal["id"], "?read_only=true") as watching:
        read_until(typing, "? for shortcuts")
        read_until(watching, "? for shortcuts")
        watching.send(json.dumps({"type": "input", "data": "from the read-only one\r"}))
        typing.send(json.dumps({"type": "input", "data": "from the typing one\r"}))
        read_until(watching, "Mock reply to: from the typing one")  # the watcher sees what the other typed
    output = api.get(f"/terminals/{terminal['id']}/output")["output"]
    assert "from the typing one" in output
    assert "from the read-only one" not in output


def test_credentials_origin_and_terminal_are_checked(server: ServerProcess, settings: Settings,
                                                     terminal: dict) -> None:
    with pytest.raises(InvalidStatus) as no_token:
        connect(url(settings, terminal["id"]), origin=f"http://127.0.0.1:{settings.api_port}").close()
    assert no_token.value.response.status_code == 403  # refused before the WebSocket opens
    with pytest.raises(InvalidStatus) as foreign:
        connect(url(settings, terminal["id"]), additional_headers=owner(settings),
                origin="http://evil.example").close()
    assert foreign.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as other_port:  # same host, another port: another origin
        connect(url(settings, terminal["id"]), additional_headers=owner(settings),
                origin="http://127.0.0.1:1").close()
    assert other_port.value.response.status_code == 403
    with viewer(settings, "0badc0de") as ws, pytest.raises(ConnectionClosed) as unknown:
        ws.recv(timeout=10)
    assert unknown.value.rcvd is not None and unknown.value.rcvd.code == 4004
    assert "not found" in unknown.value.rcvd.reason


def test_the_view_closes_when_its_terminal_is_removed(server: ServerProcess, settings: Settings, api: ApiClient,
                                                      terminal: dict) -> None:
    with viewer(settings, terminal["id"]) as ws:
        read_until(ws, "? for shortcuts")
        api.request("DELETE", f"/terminals/{terminal['id']}")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004


def test_the_page_is_served_with_a_content_security_policy(server: ServerProcess, api: ApiClient) -> None:
    import http.client

    for path in ("/", "/ui/app.js", "/ui/vendor/xterm/xterm.mjs"):
        conn = http.client.HTTPConnection("127.0.0.1", server.settings.api_port, timeout=10)
        conn.request("GET", path, headers=owner(server.settings))
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, path
        assert "script-src 'self'" in response.getheader("Content-Security-Policy", ""), path
        assert "frame-ancestors 'none'" in response.getheader("Content-Security-Policy", ""), path
        assert body
    conn = http.client.HTTPConnection("127.0.0.1", server.settings.api_port, timeout=10)
    conn.request("GET", "/ui/app.js")
    assert conn.getresponse().status == 401  # the page's files need the owner's cookie or token too


def test_every_terminal_in_one_request(server: ServerProcess, api: ApiClient, workdir: Path) -> None:
    first = launch(api, workdir, session="one")
    second = launch(api, workdir, session="two")
    listed = {t["id"]: t for t in api.get("/terminals")}
    assert set(listed) == {first["id"], second["id"]}
    assert listed[second["id"]]["session_name"] == "cao-two"
    assert listed[first["id"]]["status_changed_at"]
