"""cao's own HTTP/1.1 exchange (``cao.client.exchange``) against a loopback peer that answers as scripted."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from cao import errors
from cao.client import ApiClient, exchange
from cao.settings import Settings


@pytest.fixture
def peer() -> Iterator[tuple[int, list[bytes], list[bytes]]]:
    """A one-connection-at-a-time server: answers each request with the next scripted bytes, records requests."""
    answers: list[bytes] = []
    requests: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                requests.append(head + b"\r\n\r\n" + body)
                conn.sendall(answers.pop(0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], answers, requests
    listener.close()


def test_a_json_body_with_content_length(peer: tuple[int, list[bytes], list[bytes]]) -> None:
    port, answers, requests = peer
    answers.append(b'HTTP/1.1 201 Created\r\ncontent-length: 8\r\ncontent-type: application/json\r\n\r\n{"a": 1}')
    status, body = exchange("127.0.0.1", port, "POST", "/x?y=1", {"Authorization": "Bearer t"}, b'{"m": "hi"}', 5)
    assert (status, body) == (201, b'{"a": 1}')
    head, _, sent = requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /x?y=1 HTTP/1.1"
    expected = {"Connection: close", "Content-Length: 11", "Authorization: Bearer t", f"Host: 127.0.0.1:{port}"}
    assert expected <= set(lines)
    assert sent == b'{"m": "hi"}'


def test_a_chunked_body_is_put_together(peer: tuple[int, list[bytes], list[bytes]]) -> None:
    port, answers, _ = peer
    answers.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1, \r\n3;ext=1\r\n2]\n\r\n0\r\n\r\n")
    assert exchange("127.0.0.1", port, "GET", "/", {}, b"", 5) == (200, b"[1, 2]\n")


@pytest.mark.parametrize("answer", [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
def test_what_is_not_http_is_a_connection_error(peer: tuple[int, list[bytes], list[bytes]], answer: bytes) -> None:
    port, answers, _ = peer
    answers.append(answer)
    with pytest.raises(ConnectionError):
        exchange("127.0.0.1", port, "GET", "/", {}, b"", 5)


def test_the_client_maps_statuses_to_cao_errors(peer: tuple[int, list[bytes], list[bytes]]) -> None:
    port, answers, _ = peer
    answers.append(b'HTTP/1.1 409 Conflict\r\ncontent-length: 27\r\n\r\n{"detail": "it is waiting"}')
    client = ApiClient(Settings.from_env({"CAO_API_PORT": str(port), "CAO_HOME": "/nonexistent-cao-home"}))
    with pytest.raises(errors.Conflict, match="it is waiting"):
        client.get("/terminals/abcd1234")


def test_nobody_listening_is_server_unavailable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    client = ApiClient(Settings.from_env({"CAO_API_PORT": str(port), "CAO_HOME": "/nonexistent-cao-home"}))
    with pytest.raises(errors.ServerUnavailable, match="is not running"):
        client.get("/sessions")
