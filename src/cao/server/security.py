"""DNS-rebinding and cross-origin protection for a server that is meant for this machine only.

* A request whose Host header is not a loopback name is refused with 400.
* A state-changing request (POST/PUT/PATCH/DELETE) whose Origin is not this server is
  refused with 403. Requests without an Origin (curl, the cao CLI, MCP servers) pass.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from cao.server.auth import refuse

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _split_host(value: str) -> str:
    if value.startswith("["):
        return value[: value.find("]") + 1]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def extra_allowed_hosts() -> set[str]:
    return {h.strip() for h in os.environ.get("CAO_ALLOWED_HOSTS", "").split(",") if h.strip()}


class LocalOnlyMiddleware:
    def __init__(self, app: ASGIApp, allowed_hosts: set[str] | None = None,
                 allowed_origins: set[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = LOOPBACK_HOSTS | (allowed_hosts or set())
        self.allowed_origins = allowed_origins or set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if "*" not in self.allowed_hosts and _split_host(host).lower() not in self.allowed_hosts:
            await refuse(scope, send, 400, "Invalid host header")
            return
        origin = headers.get("origin")
        unsafe = scope["type"] == "websocket" or scope.get("method") in UNSAFE_METHODS
        if unsafe and origin is not None and not self._origin_ok(origin, host):
            await refuse(scope, send, 403, "Cross-origin request blocked")
            return
        await self.app(scope, receive, send)

    def _origin_ok(self, origin: str, host: str) -> bool:
        if origin in self.allowed_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc.lower() == host.lower()
