"""cao's lean MCP core (JSON-RPC 2.0, tools only), async and transport-agnostic.

Why not the ``mcp`` SDK at run time: importing it takes about 1.5 s on this machine kind, and cao
needs only ``initialize``, ``ping``, ``tools/list``, ``tools/call``, cancellation and progress. The
SDK's own clients are the conformance oracle in the tests (``tests/e2e/test_mcp_http.py``).

A ``Session`` is one MCP session (one connection over stdio, one ``Mcp-Session-Id`` over HTTP). Its
``handle(message, emit)`` answers one incoming message: it returns the response to send (or None)
and calls ``emit`` for notifications about that request (progress) before returning.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cao.mcp.schema import validate

SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
# From this version on, arguments that break the input schema are tool errors the model can read
# (SEP-1303); before it, they were protocol errors (-32602).
INPUT_ERRORS_AS_RESULTS = "2025-11-25"
PRE_INIT_METHODS = ("initialize", "ping")

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], Awaitable[None]]


class ToolError(Exception):
    """Raised by a tool: becomes a result with ``isError: true`` that the agent can read."""


class ProtocolError(Exception):
    """A JSON-RPC error answer (code, message) to the request ``msg_id``."""

    def __init__(self, code: int, message: str, msg_id: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.msg_id = code, message, msg_id

    def response(self) -> dict[str, Any]:
        return error_response(self.msg_id, self.code, self.message)


@dataclass(frozen=True)
class ToolResult:
    text: str
    structured: dict[str, Any] | None = None
    is_error: bool = False


@dataclass
class CallContext:
    """What a tool handler knows about its call: its id, whether it was cancelled, and progress."""

    request_id: Any
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    _emit: Emit | None = field(default=None, repr=False)
    _progress_token: str | int | None = field(default=None, repr=False)
    _last_progress: float = field(default=float("-inf"), repr=False)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send ``notifications/progress`` if the client asked for it (a ``progressToken``).

        The spec requires increasing values: a value not above the last one sent is skipped.
        """
        if self._emit is None or self._progress_token is None or self.cancelled.is_set():
            return
        if progress <= self._last_progress:
            return
        self._last_progress = progress
        params: dict[str, Any] = {"progressToken": self._progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._emit({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})


Handler = Callable[[dict[str, Any], CallContext], Awaitable["str | ToolResult"]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    handler: Handler
    output_schema: dict[str, Any] | None = None

    def listing(self) -> dict[str, Any]:
        entry = {"name": self.name, "description": self.description, "inputSchema": self.input_schema}
        if self.output_schema is not None:
            entry["outputSchema"] = self.output_schema
        return entry


@dataclass(frozen=True)
class Server:
    """What every session of one MCP server shares. ``tools_for`` and ``on_tools_listed`` get the
    session's principal (the authenticated caller; None over stdio)."""

    name: str
    version: str
    instructions: str
    tools_for: Callable[[Any], Sequence[Tool]]
    on_tools_listed: Callable[[Any], None] | None = None


def error_response(msg_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


def result_response(msg_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "result": result}


def parse(data: str | bytes) -> Any:
    """Decode one message's JSON; raise ProtocolError(-32700) when it is not JSON."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(PARSE_ERROR, f"Parse error: the message is not valid JSON ({exc})") from exc


def _valid_id(msg_id: Any) -> bool:
    return isinstance(msg_id, (str, int)) and not isinstance(msg_id, bool)


def classify(message: Any) -> str:
    """``request``, ``notification`` or ``response``; raise ProtocolError(-32600) for anything else."""
    if isinstance(message, list):
        raise ProtocolError(INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported "
                            "(removed in MCP 2025-06-18); send one message per request")
    if not isinstance(message, dict):
        raise ProtocolError(INVALID_REQUEST, "Invalid Request: a message must be a JSON object")
    msg_id = message.get("id")
    reply_id = msg_id if _valid_id(msg_id) else None
    if message.get("jsonrpc") != "2.0":
        raise ProtocolError(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', reply_id)
    if "method" in message:
        if not isinstance(message["method"], str):
            raise ProtocolError(INVALID_REQUEST, 'Invalid Request: "method" must be a string', reply_id)
        if "id" not in message:
            return "notification"
        if not _valid_id(msg_id):
            raise ProtocolError(INVALID_REQUEST, 'Invalid Request: "id" must be a string or an integer')
        return "request"
    if "id" in message and ("result" in message or "error" in message):
        return "response"
    raise ProtocolError(INVALID_REQUEST, 'Invalid Request: neither a request ("method") nor a response', reply_id)


class Session:
    """One MCP session: initialized or not, the negotiated version, the tool calls in flight."""

    __slots__ = ("_calls", "principal", "protocol_version", "server")

    def __init__(self, server: Server, principal: Any = None) -> None:
        self.server = server
        self.principal = principal
        self.protocol_version: str | None = None  # set by a successful initialize
        self._calls: dict[Any, tuple[asyncio.Task[dict[str, Any]], CallContext]] = {}

    @property
    def initialized(self) -> bool:
        return self.protocol_version is not None

    @property
    def busy(self) -> bool:
        return bool(self._calls)

    async def handle(self, message: Any, emit: Emit) -> dict[str, Any] | None:
        """Answer one incoming message: the response to send, or None (notifications, responses,
        cancelled calls). Notifications about a request (progress) go through ``emit`` first."""
        try:
            kind = classify(message)
            if kind == "notification":
                self._notification(message["method"], message.get("params"))
                return None
            if kind == "response":
                return None  # cao sends no requests, so there is nothing to match
            return await self._request(message["id"], message["method"], message.get("params"), emit)
        except ProtocolError as exc:
            return exc.response()

    def _notification(self, method: str, params: Any) -> None:
        if method == "notifications/cancelled" and isinstance(params, dict):
            self.cancel(params.get("requestId"))
        # notifications/initialized and anything else need nothing from us

    def cancel(self, request_id: Any) -> bool:
        """Cancel an in-flight tool call: its handler sees CancelledError; no response is sent."""
        entry = self._calls.get(request_id) if _valid_id(request_id) else None
        if entry is None:
            return False
        task, ctx = entry
        ctx.cancelled.set()
        task.cancel()
        return True

    async def close(self, timeout: float = 5.0) -> None:
        """End the session: cancel every call in flight and give the handlers ``timeout`` to clean up."""
        tasks = [task for task, _ in self._calls.values()]
        for request_id in list(self._calls):
            self.cancel(request_id)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def _request(self, msg_id: Any, method: str, params: Any, emit: Emit) -> dict[str, Any] | None:
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ProtocolError(INVALID_PARAMS, '"params" must be an object', msg_id)
        if method == "initialize":
            return result_response(msg_id, self._initialize(msg_id, params))
        if not self.initialized and method not in PRE_INIT_METHODS:
            raise ProtocolError(INVALID_REQUEST, f"the session is not initialized: send initialize before {method}",
                                msg_id)
        if method == "ping":
            return result_response(msg_id, {})
        if method == "tools/list":
            tools = [tool.listing() for tool in self.server.tools_for(self.principal)]
            if self.server.on_tools_listed is not None:
                try:
                    self.server.on_tools_listed(self.principal)
                except Exception:  # the listing is still right; the hook's failure is the server's to log
                    log.exception("on_tools_listed failed")
            return result_response(msg_id, {"tools": tools})
        if method == "tools/call":
            return await self._call_tool(msg_id, params, emit)
        raise ProtocolError(METHOD_NOT_FOUND, f"Method not found: {method}", msg_id)

    def _initialize(self, msg_id: Any, params: dict[str, Any]) -> dict[str, Any]:
        if self.initialized:
            raise ProtocolError(INVALID_REQUEST, "the session is already initialized", msg_id)
        requested = params.get("protocolVersion")
        if not isinstance(requested, str):
            raise ProtocolError(INVALID_PARAMS, 'initialize needs "protocolVersion" (a string)', msg_id)
        self.protocol_version = requested if requested in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
        info = self.server
        return {"protocolVersion": self.protocol_version, "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": info.name, "version": info.version}, "instructions": info.instructions}

    def _find_tool(self, name: str) -> Tool | None:
        return next((tool for tool in self.server.tools_for(self.principal) if tool.name == name), None)

    async def _call_tool(self, msg_id: Any, params: dict[str, Any], emit: Emit) -> dict[str, Any] | None:
        name = params.get("name")
        if not isinstance(name, str):
            raise ProtocolError(INVALID_PARAMS, 'tools/call needs "name" (a string)', msg_id)
        tool = self._find_tool(name)
        if tool is None:
            raise ProtocolError(INVALID_PARAMS, f"Unknown tool: {name}", msg_id)
        args = params.get("arguments")
        args = {} if args is None else args
        if not isinstance(args, dict):
            raise ProtocolError(INVALID_PARAMS, f'"arguments" of {name} must be an object', msg_id)
        problem = validate(args, tool.input_schema)
        if problem is not None:
            text = f"Invalid arguments for {name}: {problem}"
            if (self.protocol_version or "") >= INPUT_ERRORS_AS_RESULTS:
                return result_response(msg_id, _tool_result(ToolResult(text, is_error=True)))
            raise ProtocolError(INVALID_PARAMS, text, msg_id)
        if msg_id in self._calls:
            raise ProtocolError(INVALID_REQUEST, f"request id {msg_id!r} is already in use by a call in flight", msg_id)
        meta = params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        ctx = CallContext(msg_id, asyncio.Event(), emit, token if _valid_id(token) else None)
        task = asyncio.create_task(_run(tool, args, ctx), name=f"mcp-call-{name}")
        self._calls[msg_id] = (task, ctx)
        task.add_done_callback(lambda done: self._forget(msg_id, done))
        # Waiting (not awaiting the task) means the caller going away does not cancel the call:
        # over HTTP a disconnect is not a cancellation; only notifications/cancelled or close() is.
        await asyncio.wait({task})
        if ctx.cancelled.is_set() or task.cancelled():
            return None
        return result_response(msg_id, task.result())

    def _forget(self, msg_id: Any, task: asyncio.Task[Any]) -> None:
        entry = self._calls.get(msg_id)
        if entry is not None and entry[0] is task:
            del self._calls[msg_id]


async def _run(tool: Tool, args: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    try:
        outcome = await tool.handler(args, ctx)
    except ToolError as exc:
        return _tool_result(ToolResult(str(exc), is_error=True))
    except Exception as exc:  # a bug must still answer the agent, not hang it
        log.exception("tool %s failed", tool.name)
        return _tool_result(ToolResult(f"internal error in {tool.name}: {exc}", is_error=True))
    result = outcome if isinstance(outcome, ToolResult) else ToolResult(str(outcome))
    if tool.output_schema is not None and not result.is_error:
        if result.structured is None:
            problem = "it returned no structured content but declares an outputSchema"
        else:
            problem = validate(result.structured, tool.output_schema)
        if problem is not None:
            log.error("tool %s broke its output schema: %s", tool.name, problem)
            return _tool_result(ToolResult(f"internal error in {tool.name}: its result is invalid: {problem}",
                                           is_error=True))
    return _tool_result(result)


def _tool_result(result: ToolResult) -> dict[str, Any]:
    """The ``CallToolResult``: the text, and for a structured result its JSON too (as the spec asks)."""
    content = [{"type": "text", "text": result.text}] if result.text or result.structured is None else []
    out: dict[str, Any] = {"content": content, "isError": result.is_error}
    if result.structured is not None:
        content.append({"type": "text", "text": json.dumps(result.structured, ensure_ascii=False)})
        out["structuredContent"] = result.structured
    return out
