"""The API belongs to its owner: every route but ``/health`` needs the owner's token.

Pure ASGI (no per-request Starlette objects). The caller is resolved from ``Authorization: Bearer``
or, for the browser, the HttpOnly cookie set by ``/login``; it is left in ``scope["state"]`` as a
``Principal`` for the routes and the MCP endpoint. A terminal's token opens only ``/mcp``.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from cao.services.identity import COOKIE_NAME, OWNER, Identities, Principal

OPEN_PATHS = {"/health", "/login"}
MCP_PATHS = {"/mcp", "/mcp/"}
PRINCIPAL_KEY = "cao.principal"
NEEDS_TOKEN = ("this route needs the owner's API token (Authorization: Bearer <token>); the cao CLI reads it "
               "from $CAO_HOME/run/api-token, the browser gets it from the login URL that `cao info` prints")
TERMINAL_TOKEN = "a terminal's token opens only cao's MCP endpoint /mcp, not the owner's API"


def _credentials(scope: Scope) -> tuple[str | None, str | None]:
    bearer = cookie = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                bearer = token.strip()
        elif key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is no credential
                continue
            if COOKIE_NAME in jar:
                cookie = jar[COOKIE_NAME].value
    return bearer, cookie


def principal_of(scope: Scope) -> Principal | None:
    return (scope.get("state") or {}).get(PRINCIPAL_KEY)


class OwnerAuthMiddleware:
    def __init__(self, app: ASGIApp, identities: Identities) -> None:
        self.app = app
        self.identities = identities

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        principal = self._resolve(scope)
        scope.setdefault("state", {})[PRINCIPAL_KEY] = principal
        if path in MCP_PATHS:  # the MCP endpoint answers unknown callers itself, in MCP's terms
            await self.app(scope, receive, send)
            return
        if principal is None:
            await refuse(scope, send, 401, NEEDS_TOKEN)
        elif not principal.is_owner:
            await refuse(scope, send, 403, TERMINAL_TOKEN)
        else:
            await self.app(scope, receive, send)

    def _resolve(self, scope: Scope) -> Principal | None:
        if not self.identities.auth_enabled:
            return OWNER
        bearer, cookie = _credentials(scope)
        if bearer:
            return self.identities.resolve(bearer)
        principal = self.identities.resolve(cookie)
        return principal if principal is not None and principal.is_owner else None


async def refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4401 if status == 401 else 4403})
        return
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="cao-server"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
