"""The Gemini API (``generativelanguage``) of the scripted model server, as Gemini CLI 0.61 calls it.

* ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``: the agent's turns. Server-sent
  events, each a ``GenerateContentResponse`` chunk: text parts (the reply split into small
  pieces), or one ``functionCall`` part; the last chunk carries ``finishReason`` and
  ``usageMetadata``.
* ``POST /v1beta/models/{model}:generateContent``: the same, in one response. Requests asking
  for JSON (``generationConfig.responseSchema`` / ``responseJsonSchema`` or ``responseMimeType``
  ``application/json``) are Gemini CLI's side requests (the model router, the next-speaker check,
  loop detection…). They get a minimal JSON object generated from the schema and never consume a
  script rule: a plain-text answer makes Gemini CLI retry with backoff for over a minute.
* ``POST /v1beta/models/{model}:countTokens`` and ``GET /v1beta/models[/{model}]``.

The request becomes an ``Exchange``: the newest user text, or — when the request ends with a
``functionResponse`` part — that response as ``tool_result``; tool names come from
``tools[].functionDeclarations`` and the system prompt from ``systemInstruction``. Scripted
errors answer with Gemini's error shape ``{"error": {"code", "message", "status"}}``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from cao.model_server.rules import Exchange, Reply
from cao.model_server.vendor_common import handle, pace, read_object

router = APIRouter()
CONTEXT_RE = re.compile(r"<session_context>.*?</session_context>", re.DOTALL)
CHUNK_CHARS = 24  # text is streamed in pieces of about this size
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def error_body(code: int, message: str) -> dict[str, Any]:
    status = STATUS_NAMES.get(code, "FAILED_PRECONDITION" if code < 500 else "UNKNOWN")
    return {"error": {"code": code, "message": message, "status": status}}


def _texts(content: dict[str, Any]) -> list[str]:
    return [part["text"] for part in content.get("parts") or []
            if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought")]


def _function_response_text(response: Any) -> str:
    """A ``functionResponse.response`` as text: Gemini CLI wraps results as ``{"output": ...}``."""
    if isinstance(response, dict):
        if set(response) == {"output"} and isinstance(response["output"], str):
            return response["output"]
        if set(response) == {"error"} and isinstance(response["error"], str):
            return response["error"]
    return json.dumps(response, ensure_ascii=False)


def to_exchange(model: str, body: dict[str, Any], stream: bool) -> Exchange:
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    text, tool_result = "", None
    if contents:
        last = contents[-1]
        results = [part["functionResponse"] for part in last.get("parts") or []
                   if isinstance(part, dict) and isinstance(part.get("functionResponse"), dict)]
        if results:
            tool_result = "\n".join(_function_response_text(r.get("response")) for r in results)
    if tool_result is None:
        for content in reversed(contents):
            texts = [t for t in (CONTEXT_RE.sub("", t).strip() for t in _texts(content)) if t]
            if content.get("role", "user") == "user" and texts:
                text = texts[-1]  # the newest segment: Gemini CLI puts its own context parts first
                break
    tools = [decl["name"] for tool in body.get("tools") or [] if isinstance(tool, dict)
             for decl in tool.get("functionDeclarations") or [] if isinstance(decl, dict) and decl.get("name")]
    system_instruction = body.get("systemInstruction")
    if isinstance(system_instruction, str):
        system = system_instruction
    elif isinstance(system_instruction, dict):
        system = "\n".join(_texts(system_instruction))
    else:
        system = ""
    return Exchange(api="gemini", model=model, text=text, tool_result=tool_result, tools=tools, system=system,
                    stream=stream, raw=body)


def schema_example(schema: Any, depth: int = 0) -> Any:
    """A minimal value valid against a JSON schema (or Gemini's OpenAPI-style ``Schema``)."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema_example(schema[key][0], depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), kind[0] if kind else None)
    kind = str(kind).lower() if kind else ("object" if "properties" in schema else None)
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: schema_example(sub, depth + 1) for name, sub in props.items() if isinstance(sub, dict)}
    if kind == "array":
        return [schema_example(schema.get("items"), depth + 1) for _ in range(int(schema.get("minItems") or 0))]
    if kind == "string":
        return "x" * int(schema.get("minLength") or 0)
    if kind in ("integer", "number"):
        minimum = schema.get("minimum")
        return minimum if isinstance(minimum, int | float) else 0
    if kind == "boolean":
        return False
    return None


def _wants_json(body: dict[str, Any]) -> tuple[bool, Any]:
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is not None:
        return True, schema
    return config.get("responseMimeType") == "application/json", None


def _usage(exchange: Exchange, output: str) -> dict[str, int]:
    prompt = max(1, len(json.dumps(exchange.raw.get("contents", []))) // 4)
    out = max(1, len(output) // 4)
    return {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out}


def _chunk(model: str, parts: list[dict[str, Any]], finish: str | None = None,
           usage: dict[str, int] | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": "cao-fake"}
    if usage is not None:
        chunk["usageMetadata"] = usage
    return chunk


def _reply_parts(reply: Reply) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if reply.text:
        parts.append({"text": reply.text})
    if reply.tool is not None:
        parts.append({"functionCall": {"name": reply.tool.name, "args": reply.tool.args}})
    return parts or [{"text": ""}]


def _error_response(reply: Reply) -> JSONResponse:
    assert reply.error is not None
    code, message = reply.error
    return JSONResponse(error_body(code, message), status_code=code)


async def _body(request: Request) -> dict[str, Any] | JSONResponse:
    body = await read_object(request)
    if body is None:
        return JSONResponse(error_body(400, "Invalid JSON payload: expected a JSON object."), status_code=400)
    return body


async def _stream(exchange: Exchange, reply: Reply) -> AsyncIterator[bytes]:
    usage = _usage(exchange, reply.text or "")
    chunks: list[dict[str, Any]] = []
    text = reply.text or ""
    pieces = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
    for piece in pieces:
        chunks.append(_chunk(exchange.model, [{"text": piece}]))
    if reply.tool is not None:
        chunks.append(_chunk(exchange.model, [{"functionCall": {"name": reply.tool.name, "args": reply.tool.args}}]))
    if not chunks:
        chunks.append(_chunk(exchange.model, [{"text": ""}]))
    last = chunks[-1]["candidates"][0]
    last["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = usage
    for chunk in chunks:
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\r\n\r\n".encode()
        await asyncio.sleep(0.005)


async def models_action(target: str, request: Request) -> Any:
    model, _, action = target.rpartition(":")
    if not model or action not in ("streamGenerateContent", "generateContent", "countTokens"):
        return JSONResponse(error_body(404, f"Method {target!r} is not found: {request.url.path}"),
                            status_code=404)
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    path = request.url.path
    if action == "countTokens":
        contents = body.get("contents") or (body.get("generateContentRequest") or {}).get("contents") or []
        return {"totalTokens": max(1, len(json.dumps(contents)) // 4)}
    stream = action == "streamGenerateContent"
    exchange = to_exchange(model, body, stream)
    wants_json, schema = _wants_json(body)
    if wants_json and not stream:
        output = json.dumps(schema_example(schema) if schema is not None else {})
        reply = Reply(text=output)
        request.app.state.log.add(exchange, reply, path + " (schema)")
        return _chunk(model, [{"text": output}], "STOP", _usage(exchange, output))
    reply = handle(request.app.state, exchange, path)
    if reply.delay and not await pace(request, reply.delay):
        return JSONResponse({}, status_code=499)  # the client went away
    if reply.error is not None:
        return _error_response(reply)
    if not stream:
        return _chunk(model, _reply_parts(reply), "STOP", _usage(exchange, reply.text or ""))
    return StreamingResponse(_stream(exchange, reply), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


async def list_models() -> dict[str, Any]:
    return {"models": [_model_info("gemini-2.5-pro"), _model_info("gemini-2.5-flash")]}


async def get_model(model: str) -> dict[str, Any]:
    return _model_info(model)


def _model_info(model: str) -> dict[str, Any]:
    return {"name": f"models/{model}", "displayName": model, "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536, "supportedGenerationMethods": ["generateContent", "countTokens"]}


# Only Gemini's API versions: ``/v1/models`` belongs to the OpenAI API of the same server.
for _version in ("v1beta", "v1alpha"):
    router.add_api_route(f"/{_version}/models/{{target}}", models_action, methods=["POST"])
    router.add_api_route(f"/{_version}/models", list_models, methods=["GET"])
    router.add_api_route(f"/{_version}/models/{{model}}", get_model, methods=["GET"])
