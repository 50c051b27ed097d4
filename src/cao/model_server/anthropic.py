"""The Anthropic Messages API of the scripted model server (what Claude Code speaks).

* ``POST /v1/messages`` (Claude Code adds ``?beta=true``): streaming (SSE) or not, text and
  ``tool_use`` replies; a scripted error is an HTTP status with Anthropic's error body.
* ``POST /v1/messages/count_tokens``: a rough estimate (4 characters a token).

A request becomes an ``Exchange``: the newest user text — the last text block of the last user
message, skipping the ``<system-reminder>`` blocks Claude Code adds — or, when that message carries
``tool_result`` blocks, their text as ``tool_result``. After an API error Claude Code resends the failed
prompt merged into the next user message; taking the *last* text block keeps rules matching the newest.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from cao.model_server.rules import Exchange, Reply
from cao.model_server.vendor_common import handle, pace, read_object

router = APIRouter()
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}
CHUNKS = 4  # text is streamed in about this many deltas
CHUNK_PAUSE_S = 0.005


def block_text(content: Any) -> str:
    """The text of a ``content`` value: a string, or a list of blocks (only ``text`` blocks count)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _is_reminder(text: str) -> bool:
    return text.lstrip().startswith("<system-reminder>")


def to_exchange(body: dict[str, Any]) -> Exchange:
    text, tool_result = "", None
    users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    if users:
        content = users[-1].get("content")
        if isinstance(content, str):
            text = content
        elif isinstance(content, list):
            blocks = [b for b in content if isinstance(b, dict)]
            results = [b for b in blocks if b.get("type") == "tool_result"]
            texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
            plain = [t for t in texts if not _is_reminder(t)]
            if results:
                tool_result = "\n".join(block_text(b.get("content")) for b in results)
                # Text sent with a tool result (Claude Code's Skill tool sends the skill's body so).
                text = "\n".join(plain)
            else:
                text = (plain or texts or [""])[-1]
    tools = [t["name"] for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
    # Claude Code 2.1 also sends "system" messages among the turns (its agent and skill listings): system text too.
    system = "\n\n".join(t for t in [block_text(body.get("system")), *(
        block_text(m.get("content")) for m in body.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "system")] if t)
    return Exchange(api="anthropic", model=str(body.get("model", "")), text=text, tool_result=tool_result,
                    tools=tools, system=system, stream=bool(body.get("stream")),
                    raw=body)


def error_response(status: int, message: str) -> JSONResponse:
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status,
                        headers={"request-id": f"req_{secrets.token_hex(12)}"})


def _estimate_tokens(body: dict[str, Any]) -> int:
    return max(1, len(json.dumps(body.get("messages", []))) // 4)


def content_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    if reply.tool is not None:
        blocks.append({"type": "tool_use", "id": f"toolu_{secrets.token_hex(12)}", "name": reply.tool.name,
                       "input": reply.tool.args})
    if not blocks:
        blocks.append({"type": "text", "text": ""})
    return blocks


def _message(exchange: Exchange, content: list[dict[str, Any]], stop: str | None, usage: dict[str, int]
             ) -> dict[str, Any]:
    return {"id": f"msg_{secrets.token_hex(12)}", "type": "message", "role": "assistant",
            "model": exchange.model, "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": usage}


def _pieces(text: str, count: int) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


async def stream_events(exchange: Exchange, reply: Reply, input_tokens: int) -> AsyncIterator[bytes]:
    blocks = content_blocks(reply)
    stop = "tool_use" if reply.tool is not None else "end_turn"
    usage = {"input_tokens": input_tokens, "output_tokens": 1, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0}
    yield _sse({"type": "message_start", "message": _message(exchange, [], None, usage)})
    yield _sse({"type": "ping"})
    output_tokens = 0
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            yield _sse({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            for piece in _pieces(block["text"], CHUNKS):
                if piece:
                    yield _sse({"type": "content_block_delta", "index": index,
                                "delta": {"type": "text_delta", "text": piece}})
                    await asyncio.sleep(CHUNK_PAUSE_S)
            output_tokens += len(block["text"]) // 4 + 1
        else:
            start = {**block, "input": {}}
            yield _sse({"type": "content_block_start", "index": index, "content_block": start})
            for piece in _pieces(json.dumps(block["input"]), 2):
                yield _sse({"type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece}})
            output_tokens += len(json.dumps(block["input"])) // 4 + 1
        yield _sse({"type": "content_block_stop", "index": index})
    yield _sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens}})
    yield _sse({"type": "message_stop"})


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    body = await read_object(request)
    return body if body is not None else error_response(400, "the request body must be a JSON object")


@router.post("/v1/messages")
async def messages(request: Request) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    exchange = to_exchange(body)
    reply = handle(request.app.state, exchange, request.url.path)
    if reply.delay and not await pace(request, reply.delay):
        return Response(status_code=499)  # the client went away
    if reply.error is not None:
        return error_response(*reply.error)
    tokens = _estimate_tokens(body)
    if exchange.stream:
        return StreamingResponse(stream_events(exchange, reply, tokens), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "request-id": f"req_{secrets.token_hex(12)}"})
    blocks = content_blocks(reply)
    stop = "tool_use" if reply.tool is not None else "end_turn"
    usage = {"input_tokens": tokens, "output_tokens": sum(len(json.dumps(b)) // 4 for b in blocks),
             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    return JSONResponse(_message(exchange, blocks, stop, usage))


@router.post("/v1/messages/count_tokens")
async def count_tokens(request: Request) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return JSONResponse({"input_tokens": _estimate_tokens(body)})
