"""The OpenAI APIs of the scripted model server: Responses (``POST /v1/responses``, what Codex CLI
speaks) and Chat Completions (``POST /v1/chat/completions``), plus ``GET /v1/models``.

Each request is reduced to an ``Exchange`` (the newest user text, or the newest tool result when it
is newer than any user text; developer/system messages and ``instructions`` as ``system``) and the
scripted ``Reply`` is streamed back in the API's own SSE events, or as one JSON body when the
request did not ask for a stream.

Tools: Codex wraps each MCP server's tools in a Responses ``namespace`` tool (``mcp__cao`` holding
``send_message``…). They are listed to the rules as ``<namespace>__<tool>`` so that a rule's
``"tool": "send_message"`` resolves, and the call goes back as a ``function_call`` item carrying
the tool's own ``name`` and its ``namespace``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from cao.model_server.rules import Exchange, Reply
from cao.model_server.vendor_common import handle, pace, read_object

router = APIRouter()
CHUNK = 24  # characters per streamed text delta
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 429: "rate_limit_error"}


# --- request → Exchange -------------------------------------------------------------------------

def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of input_text/output_text/text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return json.dumps(content)


def _output_text(output: Any) -> str:
    """A function_call_output's ``output``: a string, a list of content parts, or an object.

    Codex puts its own header part (``Wall time: 0.01 seconds\nOutput:``) before an MCP tool's
    content; it is dropped so that ``{{tool_result}}`` is the tool's own text, as with other CLIs.
    """
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        if len(output) > 1 and re.fullmatch(r"(?s)Wall time: .*\nOutput:", _text_of(output[:1])):
            output = output[1:]
        return _text_of(output)
    if isinstance(output, dict) and isinstance(output.get("content"), str | list):
        return _text_of(output["content"])
    return json.dumps(output)


def response_tools(tools: Any) -> dict[str, tuple[str | None, str]]:
    """Flat tool name → (namespace, name) for a Responses request's ``tools``."""
    found: dict[str, tuple[str | None, str]] = {}
    for tool in tools or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "namespace":
            space = str(tool.get("name", ""))
            for inner in tool.get("tools") or []:
                if isinstance(inner, dict) and inner.get("name"):
                    name = str(inner["name"])
                    found[f"{space}__{name}" if space else name] = (space or None, name)
        elif tool.get("name"):
            found[str(tool["name"])] = (None, str(tool["name"]))
        elif tool.get("type"):  # built-in tools without a name: web_search, local_shell…
            found[str(tool["type"])] = (None, str(tool["type"]))
    return found


def responses_exchange(body: dict[str, Any]) -> Exchange:
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    system = [body["instructions"]] if isinstance(body.get("instructions"), str) else []
    text, tool_result = "", None
    for item in items or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role in ("system", "developer"):
                system.append(_text_of(item.get("content")))
            elif role == "user":
                text, tool_result = _text_of(item.get("content")), None
        elif kind in ("function_call_output", "custom_tool_call_output", "mcp_tool_call_output"):
            tool_result = _output_text(item.get("output"))
    return Exchange(api="openai", model=str(body.get("model", "")), text=text, tool_result=tool_result,
                    tools=list(response_tools(body.get("tools"))), system="\n\n".join(system),
                    stream=bool(body.get("stream", False)), raw=body)


# Copilot CLI puts the time before the task in the same string: ``<current_datetime>…</current_datetime>``.
LEADING_DATETIME_RE = re.compile(r"^\s*<current_datetime>.*?</current_datetime>\s*", re.DOTALL)


def _user_text(content: Any) -> str:
    """A user message's newest text: its last text part that is not a ``<system-reminder>``."""
    if not isinstance(content, list):
        return LEADING_DATETIME_RE.sub("", _text_of(content), count=1)
    texts = [part if isinstance(part, str) else part["text"] for part in content
             if isinstance(part, str) or (isinstance(part, dict) and isinstance(part.get("text"), str))]
    plain = [t for t in texts if not t.lstrip().startswith("<system-reminder>")]
    return (plain or texts or [""])[-1]


def chat_exchange(body: dict[str, Any]) -> Exchange:
    """Qwen Code sends the user message as parts: ``<system-reminder>`` blocks (skills, date), then the
    task; after an API error the failed task comes again before the new one. The last other part is
    the ``text``, as in the Anthropic API."""
    system, text, tool_result = [], "", None
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(message.get("content")))
        elif role == "user":
            text, tool_result = _user_text(message.get("content")), None
        elif role == "tool":
            tool_result = _text_of(message.get("content"))
    tools = [str(t["function"]["name"]) for t in body.get("tools") or []
             if isinstance(t, dict) and isinstance(t.get("function"), dict) and t["function"].get("name")]
    return Exchange(api="openai", model=str(body.get("model", "")), text=text, tool_result=tool_result,
                    tools=tools, system="\n\n".join(system), stream=bool(body.get("stream", False)), raw=body)


# --- helpers ------------------------------------------------------------------------------------

def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _sse(event: dict[str, Any], named: bool = True) -> str:
    data = json.dumps(event)
    return f"event: {event['type']}\ndata: {data}\n\n" if named else f"data: {data}\n\n"


def _chunks(text: str) -> list[str]:
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]


def error_response(reply: Reply) -> JSONResponse:
    assert reply.error is not None
    status, message = reply.error
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": kind}},
                        status_code=status)


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    body = await read_object(request)
    if body is None:
        return JSONResponse({"error": {"message": "the request body must be a JSON object",
                                       "type": "invalid_request_error", "param": None, "code": None}},
                            status_code=400)
    return body


def _fit_format(body: dict[str, Any], text: str) -> str:
    """Structured-output side requests (Codex's thread title) get JSON of the requested shape."""
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    schema = fmt.get("schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    if not isinstance(schema, dict):
        return text
    try:
        json.loads(text)
        return text
    except ValueError:
        pass
    props = schema.get("properties") or {}
    out = {}
    for key, prop in props.items():
        limit = prop.get("maxLength") if isinstance(prop, dict) else None
        out[key] = text.splitlines()[0][: limit or None] if text else key
    return json.dumps(out)


def _usage(exchange: Exchange, reply: Reply) -> dict[str, Any]:
    prompt = max(1, len(json.dumps(exchange.raw)) // 4)
    completion = max(1, len(reply.text or "") // 4 + (20 if reply.tool else 0))
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion}


# --- Responses API ------------------------------------------------------------------------------

def response_items(exchange: Exchange, reply: Reply) -> list[dict[str, Any]]:
    """The output items of a reply: an assistant message and/or one function call."""
    items: list[dict[str, Any]] = []
    if reply.text is not None:
        items.append({"type": "message", "id": _id("msg"), "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": reply.text, "annotations": []}]})
    if reply.tool is not None:
        space, name = response_tools(exchange.raw.get("tools")).get(reply.tool.name, (None, reply.tool.name))
        call: dict[str, Any] = {"type": "function_call", "id": _id("fc"), "status": "completed",
                                "call_id": _id("call"), "name": name, "arguments": json.dumps(reply.tool.args)}
        if space:
            call["namespace"] = space
        items.append(call)
    return items


def _response(rid: str, exchange: Exchange, status: str, output: list[dict[str, Any]],
              usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": rid, "object": "response", "created_at": int(time.time()), "status": status,
            "model": exchange.model, "output": output, "usage": usage}


async def _stream_response(exchange: Exchange, reply: Reply) -> AsyncIterator[str]:
    rid = _id("resp")
    seq = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> str:
        return _sse({"type": kind, "sequence_number": next(seq), **fields})

    yield event("response.created", response=_response(rid, exchange, "in_progress", []))
    yield event("response.in_progress", response=_response(rid, exchange, "in_progress", []))
    items = response_items(exchange, reply)
    for index, item in enumerate(items):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "content": []})
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", item_id=item["id"], output_index=index,
                        content_index=0, part=part)
            for chunk in _chunks(text):
                yield event("response.output_text.delta", item_id=item["id"], output_index=index,
                            content_index=0, delta=chunk, logprobs=[])
                await asyncio.sleep(reply.pace)
            yield event("response.output_text.done", item_id=item["id"], output_index=index,
                        content_index=0, text=text, logprobs=[])
            yield event("response.content_part.done", item_id=item["id"], output_index=index,
                        content_index=0, part={**part, "text": text})
        else:
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "arguments": ""})
            yield event("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                        delta=item["arguments"])
            yield event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                        arguments=item["arguments"])
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=_response(rid, exchange, "completed", items, _usage(exchange, reply)))


@router.post("/v1/responses")
@router.post("/responses")
async def responses(request: Request) -> Any:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    exchange = responses_exchange(body)
    reply = handle(request.app.state, exchange, request.url.path)
    if reply.delay and not await pace(request, reply.delay):
        return JSONResponse({}, status_code=499)
    if reply.error is not None:
        return error_response(reply)
    if reply.text is not None:
        reply.text = _fit_format(body, reply.text)
    if not exchange.stream:
        items = response_items(exchange, reply)
        return _response(_id("resp"), exchange, "completed", items, _usage(exchange, reply))
    return StreamingResponse(_stream_response(exchange, reply), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


# --- Chat Completions API -----------------------------------------------------------------------

def _chat_tool_calls(reply: Reply) -> list[dict[str, Any]]:
    if reply.tool is None:
        return []
    return [{"index": 0, "id": _id("call"), "type": "function",
             "function": {"name": reply.tool.name, "arguments": json.dumps(reply.tool.args)}}]


async def _stream_chat(exchange: Exchange, reply: Reply) -> AsyncIterator[str]:
    cid, created = _id("chatcmpl"), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": exchange.model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}, named=False)

    yield chunk({"role": "assistant", "content": ""})
    if reply.text:
        for piece in _chunks(reply.text):
            yield chunk({"content": piece})
            await asyncio.sleep(reply.pace)
    calls = _chat_tool_calls(reply)
    if calls:
        yield chunk({"tool_calls": calls})
    yield chunk({}, "tool_calls" if calls else "stop")
    usage = _usage(exchange, reply)
    yield _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": exchange.model,
                "choices": [], "usage": {"prompt_tokens": usage["input_tokens"],
                                         "completion_tokens": usage["output_tokens"],
                                         "total_tokens": usage["total_tokens"]}}, named=False)
    yield "data: [DONE]\n\n"


@router.post("/v1/chat/completions")
@router.post("/chat/completions")
async def chat_completions(request: Request) -> Any:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    exchange = chat_exchange(body)
    reply = handle(request.app.state, exchange, request.url.path)
    if reply.delay and not await pace(request, reply.delay):
        return JSONResponse({}, status_code=499)
    if reply.error is not None:
        return error_response(reply)
    if exchange.stream:
        return StreamingResponse(_stream_chat(exchange, reply), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
    calls = [{k: v for k, v in call.items() if k != "index"} for call in _chat_tool_calls(reply)]
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if calls:
        message["tool_calls"] = calls
    usage = _usage(exchange, reply)
    return {"id": _id("chatcmpl"), "object": "chat.completion", "created": int(time.time()),
            "model": exchange.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": usage["input_tokens"], "completion_tokens": usage["output_tokens"],
                      "total_tokens": usage["total_tokens"]}}


@router.get("/v1/models")
@router.get("/models")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "cao"}
                                       for name in ("gpt-5.1-codex", "gpt-5", "fake-model")]}
