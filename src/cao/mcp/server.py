"""``cao-mcp-server``: a stdio ⇄ HTTP bridge to cao-server's MCP endpoint, for CLIs that only speak stdio.

Each JSON-RPC line on stdin is POSTed to ``$CAO_API_URL/mcp`` with the terminal's capability token
(``CAO_MCP_TOKEN``); what the server answers (JSON, or the messages of an SSE stream) is written to
stdout, one message per line. Requests run concurrently, so a ping is answered during a long handoff.
If cao-server restarted (the session is gone: 404), the bridge opens a new session on its own and
sends the message again. Stdlib only, so it starts in tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import sys
import threading
import time
from typing import IO, Any

from cao.mcp.endpoint import Endpoint, EndpointError, Exchange, json_object

SERVER_ERROR = -32000
REACH_FOR = 10.0  # seconds to keep trying while cao-server is unreachable (e.g. restarting)
EXIT_GRACE = 1.0  # seconds in-flight answers get after stdin closes


def _is_request(message: dict[str, Any] | None) -> bool:
    return message is not None and "method" in message and "id" in message


class Bridge:
    def __init__(self, endpoint: Endpoint, out: IO[bytes]) -> None:
        self.endpoint = endpoint
        self.out = out
        self._write_lock = threading.Lock()
        self._session_lock = threading.Lock()
        self._init_params: dict[str, Any] | None = None
        self._threads: list[threading.Thread] = []

    def write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self._write_lock:
            self.out.write(data)
            self.out.flush()

    def fail(self, message: dict[str, Any] | None, text: str) -> None:
        """Answer a request the server could not answer; a failed notification only goes to stderr."""
        if _is_request(message):
            assert message is not None
            self.write({"jsonrpc": "2.0", "id": message["id"], "error": {"code": SERVER_ERROR, "message": text}})
        else:
            print(f"cao-mcp-server: {text}", file=sys.stderr, flush=True)

    # -- sending -------------------------------------------------------------------------
    def open(self, body: bytes) -> Exchange:
        """POST one message, retrying for a while when cao-server is unreachable."""
        deadline = time.monotonic() + REACH_FOR
        delay = 0.05
        while True:
            try:
                return self.endpoint.open(body)
            except OSError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def relay(self, body: bytes, message: dict[str, Any] | None, exchange: Exchange | None = None,
              retried: bool = False) -> None:
        """Write what the server answers to ``body``; open a new session once if the old one is gone."""
        answered = False
        try:
            exchange = exchange or self.open(body)
            for reply in exchange.messages():
                self._note_initialize(message, reply)
                self.write(reply)
                answered = answered or ("id" in reply and "method" not in reply)
        except EndpointError as exc:
            if exc.status == 404 and not retried and self._init_params is not None and self._reinitialize(exchange):
                self.relay(body, message, retried=True)
            elif exc.status == 401:
                self.fail(message, "cao-server refused the token (HTTP 401): CAO_MCP_TOKEN is not valid there")
            elif exc.message is not None and "error" in exc.message:
                reply = exc.message
                if _is_request(message) and reply.get("id") is None:
                    reply = {**reply, "id": message["id"]}  # type: ignore[index]
                self.write(reply)
            else:
                self.fail(message, f"cao-server answered {exc}")
            return
        except (OSError, http.client.HTTPException) as exc:
            if not answered:
                self.fail(message, f"cao-server at {self.endpoint.url} is not reachable: {exc or type(exc).__name__}")
            return
        # A stream that ends cleanly without an answer is a cancelled call: nothing to write.

    def _note_initialize(self, message: dict[str, Any] | None, reply: dict[str, Any]) -> None:
        if message is not None and message.get("method") == "initialize" and reply.get("id") == message.get("id"):
            result = reply.get("result")
            if isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
                self.endpoint.protocol_version = result["protocolVersion"]

    def _reinitialize(self, failed: Exchange | None) -> bool:
        """cao-server lost the session (it restarted): open a new one with the client's own handshake."""
        with self._session_lock:
            stale = failed.session_id if failed is not None else None
            if self.endpoint.session_id != stale:
                return True  # another thread already did it
            self.endpoint.session_id = None
            params = {**(self._init_params or {}), "protocolVersion": self.endpoint.protocol_version
                      or (self._init_params or {}).get("protocolVersion")}
            try:
                replies = self.endpoint.post({"jsonrpc": "2.0", "id": "cao-bridge-reinitialize",
                                              "method": "initialize", "params": params})
                self.endpoint.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            except (EndpointError, OSError, http.client.HTTPException) as exc:
                print(f"cao-mcp-server: could not open a new session: {exc}", file=sys.stderr, flush=True)
                return False
            return any("result" in reply for reply in replies)

    # -- the stdin loop ------------------------------------------------------------------
    def run(self, stdin: IO[bytes]) -> None:
        try:
            for line in stdin:
                if line.strip():
                    self.handle_line(line.strip())
            deadline = time.monotonic() + EXIT_GRACE
            for thread in self._threads:
                thread.join(max(0.0, deadline - time.monotonic()))
        finally:
            self.endpoint.delete()

    def handle_line(self, body: bytes) -> None:
        message = json_object(body)
        if not _is_request(message):
            self.relay(body, message)  # notifications and responses: a quick 202, in order
            return
        assert message is not None
        if message["method"] == "initialize":
            self._init_params = message.get("params") if isinstance(message.get("params"), dict) else {}
            self.relay(body, message)  # everything after it needs its session id
            return
        try:
            exchange = self.open(body)
            # Wait until the server has the request in hand (its response headers) before the next line
            # is sent, so a notifications/cancelled that follows can never overtake its request.
            exchange.response()
        except (OSError, http.client.HTTPException) as exc:
            self.fail(message, f"cao-server at {self.endpoint.url} is not reachable: {exc or type(exc).__name__}")
            return
        thread = threading.Thread(target=self.relay, args=(body, message, exchange), daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]


def _exit(text: str) -> None:
    print(f"cao-mcp-server: {text}", file=sys.stderr)
    raise SystemExit(2)


def main() -> None:
    token = os.environ.get("CAO_MCP_TOKEN", "").strip()
    if not token:
        _exit("CAO_MCP_TOKEN is not set. It is the terminal's MCP capability token, which cao writes into "
              "the agent CLI's MCP configuration; `cao terminal mcp-config ID --json` shows it to the owner.")
    if not all(33 <= ord(ch) <= 126 for ch in token):
        _exit("CAO_MCP_TOKEN holds characters a token cannot have (spaces or control characters)")
    default = f"http://{os.environ.get('CAO_API_HOST') or '127.0.0.1'}:{os.environ.get('CAO_API_PORT') or 9889}"
    url = (os.environ.get("CAO_API_URL") or default).rstrip("/")
    try:
        endpoint = Endpoint(url + "/mcp", {"Authorization": f"Bearer {token}"})
    except ValueError:
        _exit(f"CAO_API_URL={url!r} is not an http(s) URL such as http://127.0.0.1:9889")
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    with contextlib.suppress(KeyboardInterrupt):
        Bridge(endpoint, sys.stdout.buffer).run(sys.stdin.buffer)


if __name__ == "__main__":
    main()
