"""cao's MCP core, message by message: lifecycle, JSON-RPC conformance, tools, cancellation, progress."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any

import pytest

from cao.mcp.protocol import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    SUPPORTED_VERSIONS,
    CallContext,
    ProtocolError,
    Server,
    Session,
    Tool,
    ToolError,
    ToolResult,
    parse,
)

OBJECT = {"type": "object"}
WEATHER = {"type": "object", "properties": {"celsius": {"type": "number"}}, "required": ["celsius"]}


class Tools:
    """Small tools that record what happened to them."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled: list[Any] = []
        self.listed: list[Any] = []

    async def echo(self, args: dict[str, Any], ctx: CallContext) -> str:
        return f"echo: {args['text']}"

    async def wait(self, args: dict[str, Any], ctx: CallContext) -> str:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.append((ctx.request_id, ctx.cancelled.is_set()))
            raise
        return "released"

    async def progress(self, args: dict[str, Any], ctx: CallContext) -> str:
        for value in (1, 1, 2, 0.5, 3):  # the repeated and the lower value are not sent
            await ctx.progress(value, 3, f"at {value}")
        return "done"

    async def weather(self, args: dict[str, Any], ctx: CallContext) -> ToolResult:
        return ToolResult("22.5 degrees", {"celsius": args.get("celsius", 22.5)})

    async def plain(self, args: dict[str, Any], ctx: CallContext) -> str:
        return "no structure"

    async def refuse(self, args: dict[str, Any], ctx: CallContext) -> str:
        raise ToolError("no such worker profile: ghost")

    async def crash(self, args: dict[str, Any], ctx: CallContext) -> str:
        raise RuntimeError("boom")

    def all(self) -> list[Tool]:
        return [
            Tool("echo", "echo text", {"type": "object", "properties": {"text": {"type": "string"}},
                                       "required": ["text"], "additionalProperties": False}, self.echo),
            Tool("wait", "wait until released", OBJECT, self.wait),
            Tool("progress", "report progress", OBJECT, self.progress),
            Tool("weather", "structured", {"type": "object", "properties": {"celsius": {}}}, self.weather, WEATHER),
            Tool("plain", "declares a schema, returns text", OBJECT, self.plain, WEATHER),
            Tool("refuse", "raises ToolError", OBJECT, self.refuse),
            Tool("crash", "raises a bug", OBJECT, self.crash),
        ]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


class Client:
    def __init__(self, tools: Tools, principal: Any = "terminal-1") -> None:
        self.tools = tools
        server = Server("cao", "1.0", "use the tools", lambda p: tools.all(), tools.listed.append)
        self.session = Session(server, principal)
        self.emitted: list[dict[str, Any]] = []

    async def emit(self, message: dict[str, Any]) -> None:
        self.emitted.append(message)

    async def send(self, message: Any) -> dict[str, Any] | None:
        return await self.session.handle(message, self.emit)

    async def request(self, msg_id: Any, method: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        return await self.send(message)

    async def initialize(self, version: str = SUPPORTED_VERSIONS[0]) -> dict[str, Any]:
        response = await self.request(0, "initialize", {"protocolVersion": version, "capabilities": {},
                                                        "clientInfo": {"name": "test", "version": "1"}})
        assert response is not None
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response

    async def call(self, msg_id: Any, name: str, args: Any = None, meta: dict | None = None) -> dict[str, Any] | None:
        params: dict[str, Any] = {"name": name, "arguments": {} if args is None else args}
        if meta is not None:
            params["_meta"] = meta
        return await self.request(msg_id, "tools/call", params)


def error_of(response: dict[str, Any] | None) -> tuple[int, str]:
    assert response is not None and "error" in response, response
    return response["error"]["code"], response["error"]["message"]


def result_of(response: dict[str, Any] | None) -> dict[str, Any]:
    assert response is not None and "result" in response, response
    return response["result"]


@pytest.fixture
def client() -> Client:
    return Client(Tools())


# -- JSON-RPC envelope -------------------------------------------------------------------

def test_unparsable_json_is_a_parse_error() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(b'{"jsonrpc": "2.0", "id": 1,')
    assert caught.value.response()["error"]["code"] == PARSE_ERROR
    assert caught.value.response()["id"] is None


@pytest.mark.parametrize("message, code, reply_id, words", [
    ([{"jsonrpc": "2.0", "id": 1, "method": "ping"}], INVALID_REQUEST, None, "batches are not supported"),
    ({"id": 1, "method": "ping"}, INVALID_REQUEST, 1, '"jsonrpc" must be "2.0"'),
    ({"jsonrpc": "1.0", "id": "a", "method": "ping"}, INVALID_REQUEST, "a", '"jsonrpc" must be "2.0"'),
    ({"jsonrpc": "2.0", "id": None, "method": "ping"}, INVALID_REQUEST, None, '"id" must be a string or an integer'),
    ({"jsonrpc": "2.0", "id": 1, "method": 5}, INVALID_REQUEST, 1, '"method" must be a string'),
    ({"jsonrpc": "2.0", "id": 1}, INVALID_REQUEST, 1, "neither a request"),
    ("ping", INVALID_REQUEST, None, "must be a JSON object"),
    ({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}, INVALID_PARAMS, 1, '"params" must be an object'),
], ids=["batch", "no-jsonrpc", "wrong-jsonrpc", "null-id", "method-not-string", "no-method", "not-object",
        "params-array"])
def test_malformed_messages_are_refused(client: Client, message: Any, code: int, reply_id: Any, words: str) -> None:
    response = run(client.send(message))
    assert response is not None and response["id"] == reply_id
    got_code, text = error_of(response)
    assert got_code == code and words in text


def test_unknown_method_and_notification(client: Client) -> None:
    async def scenario() -> tuple[Any, Any]:
        await client.initialize()
        return (await client.request(1, "resources/list"),
                await client.send({"jsonrpc": "2.0", "method": "notifications/whatever"}))

    unknown, note = run(scenario())
    assert error_of(unknown) == (METHOD_NOT_FOUND, "Method not found: resources/list")
    assert note is None


def test_responses_from_the_client_get_no_answer(client: Client) -> None:
    assert run(client.send({"jsonrpc": "2.0", "id": 9, "result": {}})) is None


# -- lifecycle -------------------------------------------------------------------------------

def test_only_initialize_and_ping_before_initialize(client: Client) -> None:
    async def scenario() -> list[Any]:
        return [await client.request(1, "tools/list"), await client.call(2, "echo", {"text": "hi"}),
                await client.request(3, "ping")]

    listed, called, ping = run(scenario())
    assert error_of(listed) == (INVALID_REQUEST, "the session is not initialized: send initialize before tools/list")
    assert error_of(called)[0] == INVALID_REQUEST
    assert result_of(ping) == {}
    assert not client.session.initialized


@pytest.mark.parametrize("requested, negotiated", [
    ("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2024-11-05", "2024-11-05"),
    ("2030-01-01", SUPPORTED_VERSIONS[0]), ("1.0.0", SUPPORTED_VERSIONS[0])])
def test_version_negotiation(client: Client, requested: str, negotiated: str) -> None:
    result = result_of(run(client.initialize(requested)))
    assert result["protocolVersion"] == negotiated == client.session.protocol_version
    assert result["serverInfo"] == {"name": "cao", "version": "1.0"}
    assert result["capabilities"] == {"tools": {"listChanged": False}}
    assert result["instructions"] == "use the tools"


def test_initialize_needs_a_version_and_happens_once(client: Client) -> None:
    async def scenario() -> list[Any]:
        no_version = await client.request(1, "initialize", {"capabilities": {}})
        await client.initialize()
        return [no_version, await client.request(2, "initialize", {"protocolVersion": "2025-11-25"})]

    no_version, again = run(scenario())
    assert error_of(no_version)[0] == INVALID_PARAMS
    assert error_of(again) == (INVALID_REQUEST, "the session is already initialized")


def test_supported_versions_newest_first() -> None:
    assert SUPPORTED_VERSIONS[0] == "2025-11-25" and "2025-06-18" in SUPPORTED_VERSIONS


# -- tools -----------------------------------------------------------------------------------

def test_listing_includes_output_schema_and_calls_the_hook_with_the_principal(client: Client) -> None:
    async def scenario() -> Any:
        await client.initialize()
        return await client.request(1, "tools/list")

    tools = {tool["name"]: tool for tool in result_of(run(scenario()))["tools"]}
    assert tools["weather"]["outputSchema"] == WEATHER and "outputSchema" not in tools["echo"]
    assert tools["echo"]["inputSchema"]["required"] == ["text"]
    assert client.tools.listed == ["terminal-1"]


def test_call_returns_text(client: Client) -> None:
    async def scenario() -> Any:
        await client.initialize()
        return await client.call(1, "echo", {"text": "hi"})

    assert result_of(run(scenario())) == {"content": [{"type": "text", "text": "echo: hi"}], "isError": False}


def test_unknown_tool_and_bad_call_params_are_protocol_errors(client: Client) -> None:
    async def scenario() -> list[Any]:
        await client.initialize()
        return [await client.call(1, "ghost"), await client.request(2, "tools/call", {"arguments": {}}),
                await client.call(3, "echo", ["hi"])]

    ghost, nameless, listed_args = run(scenario())
    assert error_of(ghost) == (INVALID_PARAMS, "Unknown tool: ghost")
    assert error_of(nameless)[0] == INVALID_PARAMS
    assert error_of(listed_args) == (INVALID_PARAMS, '"arguments" of echo must be an object')


def test_invalid_arguments_are_a_tool_error_naming_the_field_from_2025_11_25(client: Client) -> None:
    async def scenario() -> list[Any]:
        await client.initialize("2025-11-25")
        return [await client.call(1, "echo", {}), await client.call(2, "echo", {"text": 3}),
                await client.call(3, "echo", {"text": "a", "sender_id": "deadbeef"})]

    missing, wrong, forged = (result_of(r) for r in run(scenario()))
    assert missing == {"content": [{"type": "text", "text": "Invalid arguments for echo: 'text' is required"}],
                       "isError": True}
    assert wrong["isError"] and "'text' must be string (got integer)" in wrong["content"][0]["text"]
    assert forged["isError"] and "'sender_id' is not an accepted field" in forged["content"][0]["text"]


def test_invalid_arguments_are_a_protocol_error_before_2025_11_25(client: Client) -> None:
    async def scenario() -> Any:
        await client.initialize("2025-06-18")
        return await client.call(1, "echo", {})

    assert error_of(run(scenario())) == (INVALID_PARAMS, "Invalid arguments for echo: 'text' is required")


def test_tool_errors_and_bugs_are_results_the_model_can_read(client: Client) -> None:
    async def scenario() -> list[Any]:
        await client.initialize()
        return [await client.call(1, "refuse"), await client.call(2, "crash")]

    refused, crashed = (result_of(r) for r in run(scenario()))
    assert refused == {"content": [{"type": "text", "text": "no such worker profile: ghost"}], "isError": True}
    assert crashed == {"content": [{"type": "text", "text": "internal error in crash: boom"}], "isError": True}


def test_structured_result_has_structured_content_and_its_json(client: Client) -> None:
    async def scenario() -> list[Any]:
        await client.initialize()
        return [await client.call(1, "weather"), await client.call(2, "weather", {"celsius": "warm"}),
                await client.call(3, "plain")]

    good, invalid, plain = (result_of(r) for r in run(scenario()))
    assert good["structuredContent"] == {"celsius": 22.5} and not good["isError"]
    assert [block["text"] for block in good["content"]] == ["22.5 degrees", json.dumps({"celsius": 22.5})]
    assert invalid["isError"] and "structuredContent" not in invalid
    assert "its result is invalid: 'celsius' must be number (got string)" in invalid["content"][0]["text"]
    assert plain["isError"] and "no structured content" in plain["content"][0]["text"]


# -- progress and cancellation ---------------------------------------------------------------

def test_progress_is_sent_only_with_a_token_and_only_increasing(client: Client) -> None:
    async def scenario() -> tuple[Any, list, Any]:
        await client.initialize()
        with_token = await client.call(1, "progress", meta={"progressToken": "tok-1"})
        sent = list(client.emitted)
        client.emitted.clear()
        return with_token, sent, await client.call(2, "progress")

    with_token, sent, without = run(scenario())
    assert result_of(with_token)["content"][0]["text"] == "done"
    assert [m["method"] for m in sent] == ["notifications/progress"] * 3
    assert [m["params"] for m in sent] == [
        {"progressToken": "tok-1", "progress": value, "total": 3, "message": f"at {value}"} for value in (1, 2, 3)]
    assert result_of(without)["content"][0]["text"] == "done" and client.emitted == []


def test_cancelled_notification_cancels_the_handler_and_no_response_is_sent(client: Client) -> None:
    async def scenario() -> Any:
        await client.initialize()
        call = asyncio.ensure_future(client.call("c-1", "wait"))
        await client.tools.started.wait()
        assert client.session.busy
        note = await client.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": "c-1", "reason": "the user pressed Escape"}})
        assert note is None
        return await call

    assert run(scenario()) is None
    assert client.tools.cancelled == [("c-1", True)]
    assert not client.session.busy


def test_cancelling_an_unknown_or_finished_request_is_ignored(client: Client) -> None:
    async def scenario() -> Any:
        await client.initialize()
        await client.call(1, "echo", {"text": "x"})
        for request_id in (1, 99, None):
            await client.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                               "params": {"requestId": request_id}})
        return await client.call(2, "echo", {"text": "still fine"})

    assert result_of(run(scenario()))["content"][0]["text"] == "echo: still fine"


def test_a_caller_going_away_is_not_a_cancellation(client: Client) -> None:
    async def scenario() -> Any:
        await client.initialize()
        call = asyncio.ensure_future(client.call(1, "wait"))
        await client.tools.started.wait()
        call.cancel()  # what a transport does when its client disconnects
        await asyncio.sleep(0)
        assert client.session.busy, "the handler keeps running"
        client.tools.release.set()
        while client.session.busy:
            await asyncio.sleep(0.01)

    run(scenario())
    assert client.tools.cancelled == []


def test_closing_the_session_cancels_its_calls_and_a_busy_id_cannot_be_reused(client: Client) -> None:
    async def scenario() -> Any:
        await client.initialize()
        call = asyncio.ensure_future(client.call(7, "wait"))
        await client.tools.started.wait()
        reused = await client.call(7, "echo", {"text": "x"})
        await client.session.close()
        return reused, await call

    reused, outcome = run(scenario())
    assert error_of(reused)[0] == INVALID_REQUEST
    assert outcome is None and client.tools.cancelled == [(7, True)]
