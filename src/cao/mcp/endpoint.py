"""The client side of MCP's streamable HTTP transport, stdlib only (fast to import).

``Endpoint.open(message)`` POSTs one JSON-RPC message and returns an ``Exchange`` whose
``messages()`` yields what the server answers: nothing (202), one JSON message, or the messages of
an SSE stream. Used by the stdio bridge (``cao-mcp-server``) and by ``HttpClient``.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit


class EndpointError(Exception):
    """The endpoint answered with an HTTP error (``status``); ``message`` is its JSON-RPC error, if any."""

    def __init__(self, status: int, text: str, message: dict[str, Any] | None = None) -> None:
        super().__init__(f"HTTP {status}: {text}")
        self.status, self.text, self.message = status, text, message


def _error_text(message: dict[str, Any] | None, raw: bytes) -> str:
    if message and isinstance(message.get("error"), dict):
        return str(message["error"].get("message", ""))
    return raw.decode("utf-8", "replace").strip()[:300]


class Exchange:
    """One POST in flight: its response, read as messages."""

    def __init__(self, conn: http.client.HTTPConnection, endpoint: Endpoint, session_id: str | None) -> None:
        self.conn, self.endpoint = conn, endpoint
        self.session_id = session_id  # the session the message was sent in
        self._response: http.client.HTTPResponse | None = None

    def response(self) -> http.client.HTTPResponse:
        """Wait for the response's status and headers (the server has taken the message in hand)."""
        if self._response is None:
            try:
                self._response = self.conn.getresponse()
            except BaseException:
                self.conn.close()
                raise
        return self._response

    def messages(self) -> Iterator[dict[str, Any]]:
        try:
            response = self.response()
            session_id = response.getheader("mcp-session-id")
            if session_id:
                self.endpoint.session_id = session_id
            ctype = (response.getheader("content-type") or "").split(";")[0].strip().lower()
            if response.status >= 400:
                raw = response.read()
                message = json_object(raw) if ctype == "application/json" else None
                raise EndpointError(response.status, _error_text(message, raw), message)
            if ctype == "text/event-stream":
                yield from _sse_messages(response)
            else:
                raw = response.read()
                message = json_object(raw) if raw.strip() else None
                if message is not None:
                    yield message
        finally:
            self.conn.close()


def json_object(raw: bytes) -> dict[str, Any] | None:
    """``raw`` decoded, if it is a JSON object (else None)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _sse_messages(response: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    """The JSON data of each ``message`` event (comments, ids and retry fields are skipped)."""
    event, data = "message", []
    while True:
        line = response.readline()
        if not line:
            return
        line = line.rstrip(b"\r\n")
        if not line:
            if data and event == "message":
                message = json_object(b"".join(data))
                if message is not None:
                    yield message
            event, data = "message", []
        elif line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" "))
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode("utf-8", "replace")


class Endpoint:
    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = dict(headers or {})
        self.session_id: str | None = None
        self.protocol_version: str | None = None

    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        # A fresh connection per message: on loopback it costs ~0.1 ms, and a pooled keep-alive
        # connection the server has meanwhile closed would fail a request that was already sent.
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=timeout)

    def _headers(self) -> dict[str, str]:
        headers = {**self.headers, "Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream"}
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    def open(self, message: dict[str, Any] | bytes, timeout: float | None = None) -> Exchange:
        """Send one message (returns once it is sent); raises OSError when the server is unreachable."""
        body = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode()
        conn = self._connect(timeout)
        try:
            conn.request("POST", self._path, body, self._headers())
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        return Exchange(conn, self, self.session_id)

    def post(self, message: dict[str, Any] | bytes, timeout: float | None = None) -> list[dict[str, Any]]:
        """Send one message and collect every message of the answer."""
        return list(self.open(message, timeout).messages())

    def delete(self, timeout: float = 2.0) -> None:
        """End the session (best effort)."""
        if not self.session_id:
            return
        conn = self._connect(timeout)
        try:
            conn.request("DELETE", self._path, headers=self._headers())
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
            self.session_id = None
