"""The Gemini API of the scripted model server, over real HTTP (uvicorn on a free loopback port)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cao.model_server.gemini import schema_example
from tests.threaded_model_server import ThreadedModelServer

TOOLS = [{"functionDeclarations": [
    {"name": "run_shell_command", "parametersJsonSchema": {"type": "object"}},
    {"name": "mcp_cao_send_message", "parametersJsonSchema": {"type": "object"}}]}]
RULES = {"rules": [
    {"match": "tell them", "needs_tools": True, "tool": "send_message", "args": {"message": "hi {{text}}"}},
    {"on_tool_result": ".", "text": "result was {{tool_result}}"},
    {"match": "long", "text": "A fairly long answer that is streamed in several chunks.\nSecond line."},
    {"match": "broken", "error": 429, "message": "quota gone"},
    {"match": "slowly", "delay": 0.6, "text": "late"},
]}


class Server:
    def __init__(self, tmp_path: Path) -> None:
        self.script = tmp_path / "rules.json"
        self.script.write_text(json.dumps(RULES))
        self.app = ThreadedModelServer(self.script, tmp_path / "log.jsonl")
        self.url = self.app.url

    def post(self, path: str, body: Any) -> tuple[int, bytes, str]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "x-goog-api-key": "k"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), response.headers.get("content-type", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get("content-type", "")

    def requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url + "/_cao/requests", timeout=5) as response:
            return json.loads(response.read())


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    yield server
    server.app.stop()


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": "<session_context>\nstuff\n</session_context>"}, {"text": text}]}


def events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line[len(b"data: "):]) for line in raw.splitlines() if line.startswith(b"data: ")]


STREAM = "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"


def test_streamed_text_in_chunks_with_finish_and_usage(srv: Server) -> None:
    status, raw, kind = srv.post(STREAM, {"contents": [user("a long one")], "tools": TOOLS,
                                          "systemInstruction": {"parts": [{"text": "be brief"}]}})
    assert status == 200 and kind.startswith("text/event-stream")
    chunks = events(raw)
    assert len(chunks) > 2
    text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert text == RULES["rules"][2]["text"]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] > 0
    assert all(c["candidates"][0]["content"]["role"] == "model" for c in chunks)
    logged = srv.requests()[-1]
    assert logged["text"] == "a long one"  # the newest text part, without Gemini CLI's context
    assert logged["system"] == "be brief" and logged["model"] == "gemini-2.5-pro"
    assert logged["tools"] == ["run_shell_command", "mcp_cao_send_message"]


def test_function_call_round_trip(srv: Server) -> None:
    history = [user("please tell them")]
    _, raw, _ = srv.post(STREAM, {"contents": history, "tools": TOOLS})
    calls = [p["functionCall"] for c in events(raw) for p in c["candidates"][0]["content"]["parts"]
             if "functionCall" in p]
    assert calls == [{"name": "mcp_cao_send_message", "args": {"message": "hi please tell them"}}]
    history += [{"role": "model", "parts": [{"functionCall": calls[0]}]},
                {"role": "user", "parts": [{"functionResponse": {"name": calls[0]["name"],
                                                                 "response": {"output": "delivered"}}}]}]
    _, raw, _ = srv.post(STREAM, {"contents": history, "tools": TOOLS})
    text = "".join(p.get("text", "") for c in events(raw) for p in c["candidates"][0]["content"]["parts"])
    assert text == "result was delivered"
    assert srv.requests()[-1]["tool_result"] == "delivered"


def test_side_requests_get_schema_shaped_json_and_leave_the_rules_alone(srv: Server) -> None:
    schema = {"type": "object", "properties": {
        "reasoning": {"type": "string"}, "model_choice": {"type": "string", "enum": ["flash", "pro"]},
        "score": {"type": "integer", "minimum": 1}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["reasoning", "model_choice"]}
    status, raw, _ = srv.post("/v1beta/models/gemini-3.5-flash-lite:generateContent", {
        "contents": [user("please tell them")], "generationConfig": {"responseJsonSchema": schema,
                                                                     "responseMimeType": "application/json"}})
    assert status == 200
    answer = json.loads(json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"])
    assert answer == {"reasoning": "", "model_choice": "flash", "score": 1, "tags": []}
    _, raw, _ = srv.post(STREAM, {"contents": [user("please tell them")], "tools": TOOLS})
    assert any("functionCall" in p for c in events(raw) for p in c["candidates"][0]["content"]["parts"])


def test_schema_example_covers_gemini_schema_spelling() -> None:
    schema = {"type": "OBJECT", "properties": {"next_speaker": {"type": "STRING", "enum": ["user", "model"]},
                                               "ok": {"type": "BOOLEAN"}, "n": {"anyOf": [{"type": "NUMBER"}]}}}
    assert schema_example(schema) == {"next_speaker": "user", "ok": False, "n": 0}


def test_plain_generate_content_uses_the_script(srv: Server) -> None:
    status, raw, _ = srv.post("/v1beta/models/m:generateContent", {"contents": [user("long please")]})
    assert status == 200
    body = json.loads(raw)
    assert body["candidates"][0]["content"]["parts"][0]["text"].startswith("A fairly long answer")
    assert body["candidates"][0]["finishReason"] == "STOP"


def test_errors_have_gemini_shape(srv: Server) -> None:
    status, raw, _ = srv.post(STREAM, {"contents": [user("broken")]})
    assert status == 429
    assert json.loads(raw) == {"error": {"code": 429, "message": "quota gone", "status": "RESOURCE_EXHAUSTED"}}
    status, raw, _ = srv.post("/v1beta/models/m:nonsense", {})
    assert status == 404 and json.loads(raw)["error"]["status"] == "NOT_FOUND"
    request = urllib.request.Request(srv.url + STREAM, data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 400 and json.loads(info.value.read())["error"]["status"] == "INVALID_ARGUMENT"


def test_delay(srv: Server) -> None:
    began = time.monotonic()
    _, raw, _ = srv.post(STREAM, {"contents": [user("slowly")]})
    assert time.monotonic() - began >= 0.6
    assert events(raw)[-1]["candidates"][0]["content"]["parts"][0]["text"] == "late"


def test_count_tokens_and_models(srv: Server) -> None:
    status, raw, _ = srv.post("/v1beta/models/m:countTokens", {"contents": [user("hello")]})
    assert status == 200 and json.loads(raw)["totalTokens"] > 0
    with urllib.request.urlopen(srv.url + "/v1beta/models/gemini-2.5-pro", timeout=5) as response:
        assert json.loads(response.read())["name"] == "models/gemini-2.5-pro"
