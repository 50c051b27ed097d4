"""A small HTTP client for cao-server (stdlib only: the CLI must start fast)."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from cao import errors
from cao.private_files import open_private_append
from cao.settings import Settings

if TYPE_CHECKING:
    import subprocess

_BY_STATUS: dict[int, type[errors.CaoError]] = {
    400: errors.InvalidInput, 401: errors.Unauthorized, 403: errors.PermissionDenied, 404: errors.NotFound,
    409: errors.Conflict, 422: errors.InvalidInput,
    504: errors.AgentTimeout,
}
START_TIMEOUT_S = 20.0


class ApiClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._token: str | None = None

    def token(self, *, reread: bool = False) -> str | None:
        """The owner's API token, from the file the server made at its first start."""
        if self._token is None or reread:
            try:
                self._token = self.settings.api_token_file.read_text(encoding="utf-8").strip() or None
            except OSError:
                self._token = None
        return self._token

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None, timeout: float = 30.0) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            path += "?" + urlencode(query, doseq=True)
        try:
            return self._send(method, path, body, timeout)
        except errors.Unauthorized:
            before = self._token
            if self.token(reread=True) == before:
                raise
            return self._send(method, path, body, timeout)  # the server made a new token since we read it

    def _send(self, method: str, path: str, body: Any, timeout: float) -> Any:
        headers = {"Accept": "application/json"}
        token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            status, data = exchange(self.settings.api_host, self.settings.api_port, method, path, headers, payload,
                                    timeout)
        except TimeoutError as exc:
            raise errors.AgentTimeout(f"cao-server did not answer {method} {path} within {timeout:g}s") from exc
        except OSError as exc:
            raise errors.ServerUnavailable(
                f"cao-server is not running at {self.settings.api_url}; start it with: cao-server") from exc
        result = json.loads(data) if data else None
        if status >= 400:
            raise self._error(status, result)
        return result

    def _error(self, status: int, result: Any) -> errors.CaoError:
        detail = result.get("detail") if isinstance(result, dict) else None
        if isinstance(detail, list):  # FastAPI validation errors
            detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}"
                               for d in detail)
        if status == 401:
            where = self.settings.api_token_file
            found = f"the API token in {where}" if self._token else f"the request: there is no API token at {where}"
            detail = f"cao-server at {self.settings.api_url} refused {found}; is it using another CAO_HOME?"
        return _BY_STATUS.get(status, errors.CaoError)(detail or f"HTTP {status}")

    def events(self, *, after: int | None = None, kinds: list[str] | None = None,
               session: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """``GET /events`` as (kind, payload) pairs, as they come; ``gap`` and ``dropped`` are passed on."""
        query = urlencode({k: v for k, v in {"kind": kinds, "session": session}.items() if v}, doseq=True)
        import http.client  # only the event stream needs it (the CLI starts faster without it)

        conn = http.client.HTTPConnection(self.settings.api_host, self.settings.api_port)
        headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {self.token()}"}
        if after is not None:
            headers["Last-Event-ID"] = str(after)
        try:
            conn.request("GET", "/events" + (f"?{query}" if query else ""), headers=headers)
            response = conn.getresponse()
            if response.status >= 400:
                raise self._error(response.status, json.loads(response.read() or b"null"))
            kind, data = "message", []
            for raw in response:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if data:
                        yield kind, json.loads("\n".join(data))
                    kind, data = "message", []
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            raise errors.ServerUnavailable(
                f"cao-server is not running at {self.settings.api_url}; start it with: cao-server") from exc
        finally:
            conn.close()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def is_up(self) -> bool:
        try:
            self.request("GET", "/health", timeout=2.0)
        except errors.CaoError:
            return False
        return True

    def ensure_server(self, *, auto_start: bool) -> subprocess.Popen[bytes] | None:
        """Make sure the server answers; start it if allowed. Returns the process if started here."""
        if self.is_up():
            return None
        if not auto_start:
            raise errors.ServerUnavailable(
                f"cao-server is not running at {self.settings.api_url}; start it with: cao-server "
                "(auto-start is off)")
        self.settings.ensure_dirs()
        log_path = self.settings.logs_dir / "server.log"
        print(f"Starting cao-server on {self.settings.api_url} (log: {log_path})", file=sys.stderr)
        log = open_private_append(log_path)
        import subprocess  # only when the server has to be started

        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "cao.server.main"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, env=os.environ.copy())
        finally:
            os.close(log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.is_up():
                return process
            if process.poll() is not None:
                break
            time.sleep(0.05)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise errors.ServerUnavailable(
            f"cao-server could not be started at {self.settings.api_url}: " + (" | ".join(tail) or "no output"))


def exchange(host: str, port: int, method: str, path: str, headers: dict[str, str], payload: bytes,
             timeout: float) -> tuple[int, bytes]:
    """One HTTP/1.1 request to cao-server on loopback, the connection closed after it: (status, body).

    The CLI's requests are small and local; ``http.client`` (and the ``email`` package it imports)
    would cost each ``cao`` command about a fifth of its start.
    """
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
            f"Content-Length: {len(payload)}", *(f"{name}: {value}" for name, value in headers.items())]
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall("\r\n".join(head).encode("ascii") + b"\r\n\r\n" + payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw_head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = raw_head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP response: {status_line[:80]!r}")
    fields = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        body = _unchunk(body)
    return int(parts[1]), body


def _unchunk(body: bytes) -> bytes:
    out, pos = [], 0
    while True:
        end = body.find(b"\r\n", pos)
        try:
            size = int(body[pos:end].split(b";", 1)[0], 16) if end >= 0 else -1
        except ValueError:
            size = -1
        if size < 0:
            raise ConnectionError("cao-server's response ended in the middle of a chunk")
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2:end + 2 + size])
        pos = end + 2 + size + 2
