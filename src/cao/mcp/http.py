"""MCP's streamable HTTP transport (spec 2025-06-18 / 2025-11-25) as a pure ASGI app.

One endpoint: POST carries one JSON-RPC message (a request gets ``application/json``, or an SSE
stream for ``tools/call`` so progress can precede the result; a notification or response gets 202),
DELETE ends a session, GET is 405 (cao sends nothing unprompted). Sessions are bound to the
principal ``authenticate(scope)`` returned when they were created, and a principal holds at most
``max_sessions_per_principal`` of them (the least recently used idle one is dropped first).

Serve it as a route, ``Route("/mcp", endpoint=app)`` (a ``Mount`` would redirect ``/mcp`` to ``/mcp/``);
inside another app no lifespan event reaches it, so call ``close()`` at shutdown. Origin/Host checks are
the enclosing server's middleware's job.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Hashable, MutableMapping, Sequence
from typing import Any

from cao.mcp.protocol import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    SUPPORTED_VERSIONS,
    ProtocolError,
    Server,
    Session,
    Tool,
    classify,
    error_response,
    parse,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

log = logging.getLogger(__name__)
SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
MAX_BODY = 4 * 1024 * 1024
MAX_ENDED_REMEMBERED = 4096


def _json_bytes(message: Any) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _accepts(accept: str, wanted: str) -> bool:
    family = wanted.split("/")[0]
    media = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(media & {wanted, f"{family}/*", "*/*"})


async def _respond(send: Send, status: int, body: Any = None, headers: Sequence[tuple[str, str]] = ()) -> None:
    raw = b"" if body is None else _json_bytes(body)
    head = [(k.encode(), v.encode()) for k, v in headers]
    if body is not None:
        head.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": raw})


async def _refuse(send: Send, status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> None:
    await _respond(send, status, error_response(None, INVALID_REQUEST, message), headers)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it is larger than MAX_BODY."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _drop_emit(_message: dict[str, Any]) -> None:
    pass


class McpHttpApp:
    def __init__(self, *, name: str, version: str, instructions: str,
                 authenticate: Callable[[Scope], Hashable | None],
                 tools_for: Callable[[Any], Sequence[Tool]],
                 on_tools_listed: Callable[[Any], None] | None = None,
                 max_sessions_per_principal: int = 8, keepalive_interval: float = 15.0) -> None:
        self.server = Server(name, version, instructions, tools_for, on_tools_listed)
        self.authenticate = authenticate
        self.max_sessions_per_principal = max_sessions_per_principal
        self.keepalive_interval = keepalive_interval
        self._sessions: dict[str, Session] = {}
        self._by_principal: dict[Hashable, dict[str, None]] = {}  # session ids, least recently used first
        self._background: set[asyncio.Task[Any]] = set()  # calls outliving their stream, sessions closing
        self._ended: dict[str, None] = {}  # ids of sessions ended here, oldest first (bounded)

    # -- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method not in ("POST", "DELETE"):
            await _refuse(send, 405, "cao's MCP endpoint takes POST (messages) and DELETE (end a session); "
                          "it opens no server-initiated stream", [("allow", "POST, DELETE")])
            return
        principal = self.authenticate(scope)
        if principal is None:
            await _refuse(send, 401, "authentication required: send Authorization: Bearer <token>",
                          [("www-authenticate", "Bearer")])
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        version = headers.get(VERSION_HEADER)
        if version is not None and version not in SUPPORTED_VERSIONS:
            await _refuse(send, 400, f"unsupported MCP-Protocol-Version {version!r} "
                          f"(supported: {', '.join(SUPPORTED_VERSIONS)})")
            return
        if method == "DELETE":
            await self._delete(principal, headers, send)
        else:
            await self._post(principal, headers, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- sessions ------------------------------------------------------------------------
    def _session(self, principal: Hashable, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is None or session.principal != principal:
            return None  # another principal's session does not exist for this one
        ids = self._by_principal[principal]
        ids.pop(session_id)
        ids[session_id] = None
        return session

    def _add(self, principal: Hashable, session: Session, session_id: str | None = None) -> str:
        ids = self._by_principal.setdefault(principal, {})
        while len(ids) >= self.max_sessions_per_principal:
            victim = next((sid for sid in ids if not self._sessions[sid].busy), next(iter(ids)))
            self._background_close(self._remove(principal, victim))
        session_id = session_id or secrets.token_urlsafe(24)
        ids[session_id] = None
        self._sessions[session_id] = session
        return session_id

    def _resume(self, principal: Hashable, session_id: str, headers: dict[str, str]) -> Session | None:
        """Take up a session this process never saw: one a restarted cao-server had issued.

        A re-adopted agent's CLI keeps its Mcp-Session-Id across a server restart and many CLIs never
        re-initialize on 404, so the session is carried on as initialized (at the version the client
        names in its MCP-Protocol-Version header). The caller is known from its token, so this grants
        nothing an initialize would not. Sessions ended here (DELETE, eviction) stay ended.
        """
        if session_id in self._ended or session_id in self._sessions or len(session_id) > 128:
            return None  # ended, or another principal's: never taken over
        session = Session(self.server, principal)
        session.protocol_version = headers.get(VERSION_HEADER) or "2025-03-26"
        self._add(principal, session, session_id)
        return session

    def _remove(self, principal: Hashable, session_id: str) -> Session:
        self._ended[session_id] = None
        while len(self._ended) > MAX_ENDED_REMEMBERED:
            self._ended.pop(next(iter(self._ended)))
        session = self._sessions.pop(session_id)
        ids = self._by_principal[principal]
        del ids[session_id]
        if not ids:
            del self._by_principal[principal]
        return session

    def _background_close(self, session: Session) -> None:
        if session.busy:
            self._keep(asyncio.ensure_future(session.close()))

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def end_sessions(self, principal: Hashable) -> int:
        """End every session of ``principal`` (e.g. its terminal was deleted); how many there were."""
        sessions = [self._remove(principal, sid) for sid in list(self._by_principal.get(principal, ()))]
        await asyncio.gather(*(session.close() for session in sessions))
        return len(sessions)

    async def close(self) -> None:
        """End every session (server shutdown)."""
        for principal in list(self._by_principal):
            await self.end_sessions(principal)
        if self._background:
            await asyncio.wait(set(self._background), timeout=5)

    # -- methods -------------------------------------------------------------------------
    async def _delete(self, principal: Hashable, headers: dict[str, str], send: Send) -> None:
        session_id = headers.get(SESSION_HEADER)
        if session_id is None:
            await _refuse(send, 400, "DELETE needs the Mcp-Session-Id header")
            return
        if self._session(principal, session_id) is None:
            await _refuse(send, 404, "no such MCP session (it ended, or the server restarted)")
            return
        await self._remove(principal, session_id).close()
        await _respond(send, 200)

    async def _post(self, principal: Hashable, headers: dict[str, str], receive: Receive, send: Send) -> None:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            await _refuse(send, 415, "Content-Type must be application/json")
            return
        accept = headers.get("accept", "")
        if not (_accepts(accept, "application/json") and _accepts(accept, "text/event-stream")):
            await _refuse(send, 406, "Accept must list both application/json and text/event-stream")
            return
        body = await _read_body(receive)
        if body is None:
            await _refuse(send, 413, f"a message may have at most {MAX_BODY} bytes")
            return
        try:
            message = parse(body)
            kind = classify(message)
        except ProtocolError as exc:
            await _respond(send, 400, exc.response())
            return
        session_id = headers.get(SESSION_HEADER)
        if session_id is None and kind == "request" and message["method"] == "initialize":
            await self._initialize(principal, message, send)
            return
        if session_id is None:
            await _refuse(send, 400, "the Mcp-Session-Id header is required after initialize")
            return
        session = self._session(principal, session_id) or self._resume(principal, session_id, headers)
        if session is None:
            await _refuse(send, 404, "no such MCP session (it ended): initialize again")
            return
        if kind != "request":
            await session.handle(message, _drop_emit)
            await _respond(send, 202)
        elif message["method"] == "tools/call":
            await self._stream(session, message, receive, send)
        else:
            await _respond(send, 200, await session.handle(message, _drop_emit))

    async def _initialize(self, principal: Hashable, message: dict[str, Any], send: Send) -> None:
        session = Session(self.server, principal)
        response = await session.handle(message, _drop_emit)
        if response is None or "error" in response:
            await _respond(send, 200, response)
            return
        await _respond(send, 200, response, [("mcp-session-id", self._add(principal, session))])

    async def _stream(self, session: Session, message: dict[str, Any], receive: Receive, send: Send) -> None:
        """Answer a tools/call on an SSE stream: its progress notifications, then its result."""
        queue: asyncio.Queue[tuple[bool, dict[str, Any] | None]] = asyncio.Queue()
        open_ = True

        async def emit(note: dict[str, Any]) -> None:
            if open_:
                queue.put_nowait((False, note))

        async def call() -> None:
            try:
                response = await session.handle(message, emit)
            except Exception:  # never leave the stream waiting for an answer that cannot come
                log.exception("MCP call failed")
                response = error_response(message["id"], INTERNAL_ERROR, "internal error in cao's MCP server")
            if open_:
                queue.put_nowait((True, response))

        call_task = asyncio.ensure_future(call())
        gone = asyncio.ensure_future(_until_disconnect(receive))
        await asyncio.sleep(0)  # the call is registered before the client sees the stream open, so a
        # client that waits for the response headers before it sends anything else cannot cancel too early
        try:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache, no-transform"),
                (b"x-accel-buffering", b"no")]})
            while True:
                item = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({item, gone}, timeout=self.keepalive_interval,
                                             return_when=asyncio.FIRST_COMPLETED)
                if item not in done:
                    item.cancel()
                    if gone in done:
                        return  # the client left: not a cancellation, the call runs on (see below)
                    await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
                    continue
                final, payload = item.result()
                if payload is not None:
                    event = b"event: message\ndata: " + _json_bytes(payload) + b"\n\n"
                    await send({"type": "http.response.body", "body": event, "more_body": True})
                if final:
                    await send({"type": "http.response.body", "body": b""})
                    return
        except OSError:
            return  # some ASGI servers raise when the client has gone: the same as a disconnect
        finally:
            open_ = False
            gone.cancel()
            if not call_task.done():
                self._keep(call_task)  # it ends with its handler, or when its session closes
