"""The OpenAI APIs of the scripted model server over real HTTP (uvicorn on a free loopback port).

Request shapes are the ones Codex CLI 0.169.0 sends (developer messages, an environment-context
user message before the task, MCP tools inside a ``namespace`` tool, function_call_output items
whose first part is Codex's ``Wall time`` header).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.threaded_model_server import ThreadedModelServer

NAMESPACE_TOOL = {"type": "namespace", "name": "mcp__cao", "description": "cao tools", "tools": [
    {"type": "function", "name": "handoff", "parameters": {"type": "object"}},
    {"type": "function", "name": "send_message", "parameters": {"type": "object"}}]}
TOOLS = [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}, NAMESPACE_TOOL,
         {"type": "web_search"}]


class Server:
    def __init__(self, tmp: Path) -> None:
        self.script = tmp / "script.json"
        self.set_rules([])
        self.log = tmp / "requests.jsonl"
        self.app = ThreadedModelServer(self.script, self.log)
        self.url = self.app.url
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def set_rules(self, rules: list[dict[str, Any]], default: dict[str, Any] | None = None) -> None:
        data: dict[str, Any] = {"rules": rules}
        if default:
            data["default"] = default
        before = self.script.stat().st_mtime_ns if self.script.exists() else 0
        self.script.write_text(json.dumps(data))
        # The server re-reads the script when its mtime changes; make sure it does within one clock tick.
        mtime = max(time.time_ns(), before + 1_000_000)
        os.utime(self.script, ns=(mtime, mtime))

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def stop(self) -> None:
        self.http.close()
        self.app.stop()


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    yield server
    server.stop()


def message(role: str, text: str) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def codex_body(*items: dict[str, Any], tools: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-5.1-codex", "stream": True, "tool_choice": "auto", "parallel_tool_calls": True,
            "store": False, "tools": TOOLS if tools is None else tools,
            "input": [message("developer", "You are Codex."), message("developer", "cao profile prompt"),
                      message("user", "<environment_context>\n  <cwd>/w</cwd>\n</environment_context>"), *items],
            **extra}


def sse(response: httpx.Response) -> list[dict[str, Any]]:
    """The events of an SSE body; checks that every ``event:`` name agrees with its data's type."""
    events = []
    for block in response.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        event = json.loads(fields["data"])
        assert fields["event"] == event["type"]
        events.append(event)
    return events


def test_text_reply_streams_the_responses_event_sequence(srv: Server) -> None:
    srv.set_rules([{"match": "say hello", "text": "Hello.\nSecond line."}])
    response = srv.http.post("/v1/responses", json=codex_body(message("user", "please say hello")))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse(response)
    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    assert set(kinds[4:-4]) == {"response.output_text.delta"}
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "Hello.\nSecond line."
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    done = events[-1]["response"]
    assert done["status"] == "completed" and done["id"] == events[0]["response"]["id"]
    assert done["output"][0]["content"][0]["text"] == "Hello.\nSecond line."
    assert done["usage"]["total_tokens"] == done["usage"]["input_tokens"] + done["usage"]["output_tokens"]
    logged = srv.requests()[0]
    assert logged["api"] == "openai" and logged["path"] == "/v1/responses"
    assert logged["text"] == "please say hello" and logged["tool_result"] is None
    assert logged["system"] == "You are Codex.\n\ncao profile prompt"
    assert logged["tools"] == ["exec_command", "mcp__cao__handoff", "mcp__cao__send_message", "web_search"]


def test_tool_in_a_namespace_is_called_with_its_namespace(srv: Server) -> None:
    srv.set_rules([{"match": "tell", "needs_tools": True, "tool": "send_message",
                    "args": {"receiver_id": "abcd1234", "message": "{{text}}"}}])
    events = sse(srv.http.post("/v1/responses", json=codex_body(message("user", "tell them"))))
    kinds = [e["type"] for e in events]
    assert kinds == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.function_call_arguments.delta", "response.function_call_arguments.done",
                     "response.output_item.done", "response.completed"]
    call = events[-2]["item"]
    assert call["type"] == "function_call" and call["name"] == "send_message" and call["namespace"] == "mcp__cao"
    assert json.loads(call["arguments"]) == {"receiver_id": "abcd1234", "message": "tell them"}
    assert call["call_id"] and events[-1]["response"]["output"] == [call]


def test_plain_function_tool_has_no_namespace(srv: Server) -> None:
    srv.set_rules([{"match": "run", "tool": "exec_command", "args": {"cmd": "ls"}}])
    events = sse(srv.http.post("/v1/responses", json=codex_body(message("user", "run it"))))
    call = events[-2]["item"]
    assert call["name"] == "exec_command" and "namespace" not in call


def test_function_call_output_round_trip(srv: Server) -> None:
    srv.set_rules([{"match": "tell", "needs_tools": True, "tool": "send_message", "args": {"message": "x"}},
                   {"on_tool_result": "queued", "text": "Done: {{tool_result}}"}])
    first = sse(srv.http.post("/v1/responses", json=codex_body(message("user", "tell them"))))
    call = first[-2]["item"]
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": [
        {"type": "input_text", "text": "Wall time: 0.0031 seconds\nOutput:"},
        {"type": "input_text", "text": "Message 7 queued for terminal abcd1234."}]}
    second = sse(srv.http.post("/v1/responses", json=codex_body(message("user", "tell them"), call, output)))
    assert second[-1]["response"]["output"][0]["content"][0]["text"] == \
        "Done: Message 7 queued for terminal abcd1234."
    logged = srv.requests()[1]
    assert logged["text"] == "tell them" and logged["tool_result"] == "Message 7 queued for terminal abcd1234."
    # A newer user message wins over an older tool result.
    third = codex_body(message("user", "tell them"), call, output, message("assistant", "Done."),
                       message("user", "anything else?"))
    srv.http.post("/v1/responses", json=third)
    assert srv.requests()[2]["text"] == "anything else?" and srv.requests()[2]["tool_result"] is None


def test_unknown_tool_becomes_an_explanation(srv: Server) -> None:
    srv.set_rules([{"match": ".", "tool": "assign", "args": {}}])
    events = sse(srv.http.post("/v1/responses", json=codex_body(message("user", "go"), tools=[])))
    assert "'assign' is not among this request's tools" in events[-1]["response"]["output"][0]["content"][0]["text"]


@pytest.mark.parametrize(("status", "kind"), [(400, "invalid_request_error"), (429, "rate_limit_error"),
                                              (500, "server_error")])
def test_scripted_error_has_an_openai_shaped_body(srv: Server, status: int, kind: str) -> None:
    srv.set_rules([{"match": "fail", "error": status, "message": "scripted failure"}])
    for path in ("/v1/responses", "/v1/chat/completions"):
        body = codex_body(message("user", "fail now")) if "responses" in path else {
            "model": "m", "stream": True, "messages": [{"role": "user", "content": "fail now"}]}
        response = srv.http.post(path, json=body)
        assert response.status_code == status
        assert response.json() == {"error": {"message": "scripted failure", "type": kind, "param": None,
                                             "code": kind}}


def test_malformed_body_is_a_400(srv: Server) -> None:
    response = srv.http.post("/v1/responses", content=b"[1, 2", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_delay_holds_the_reply(srv: Server) -> None:
    srv.set_rules([{"match": "slow", "delay": 0.6, "text": "finally"}])
    began = time.monotonic()
    events = sse(srv.http.post("/v1/responses", json=codex_body(message("user", "slow one"))))
    assert time.monotonic() - began >= 0.6
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "finally"


def test_a_client_that_goes_away_during_a_delay_does_not_hold_the_server(srv: Server) -> None:
    srv.set_rules([{"match": "slow", "delay": 30, "text": "never"}])
    with pytest.raises(httpx.ReadTimeout):
        srv.http.post("/v1/responses", json=codex_body(message("user", "slow one")), timeout=0.5)
    began = time.monotonic()
    srv.set_rules([], default={"text": "next"})
    assert sse(srv.http.post("/v1/responses", json=codex_body(message("user", "x"))))[-1]["type"] == \
        "response.completed"
    assert time.monotonic() - began < 5


def test_structured_output_side_request_gets_json_of_the_schema(srv: Server) -> None:
    # Codex's thread-title request: no tools, a json_schema text format, "Do not answer the request".
    fmt = {"format": {"type": "json_schema", "name": "codex_output_schema", "strict": True, "schema": {
        "type": "object", "properties": {"title": {"type": "string", "maxLength": 36}}, "required": ["title"]}}}
    srv.set_rules([], default={"text": "A title that is much longer than thirty-six characters\nsecond"})
    body = codex_body(message("user", "Generate a title. Do not answer the request.\n\nUser prompt:\nhi"),
                      tools=[], text=fmt)
    text = sse(srv.http.post("/v1/responses", json=body))[-1]["response"]["output"][0]["content"][0]["text"]
    assert json.loads(text) == {"title": "A title that is much longer than thi"}


def test_non_streaming_response(srv: Server) -> None:
    srv.set_rules([{"match": "hi", "text": "hello"}])
    body = codex_body(message("user", "hi"), stream=False)
    data = srv.http.post("/v1/responses", json=body).json()
    assert data["object"] == "response" and data["status"] == "completed"
    assert data["output"][0]["content"][0]["text"] == "hello"


def test_chat_completions_stream_text_and_tool_call(srv: Server) -> None:
    srv.set_rules([{"match": "hand", "needs_tools": True, "tool": "handoff", "args": {"agent_profile": "dev"}},
                   {"on_tool_result": ".", "text": "worker said {{tool_result}}"}])
    tools = [{"type": "function", "function": {"name": "cao_handoff", "parameters": {"type": "object"}}}]
    body = {"model": "m", "stream": True, "tools": tools,
            "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hand it off"}]}
    response = srv.http.post("/v1/chat/completions", json=body)
    lines = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    calls = [c["choices"][0]["delta"]["tool_calls"] for c in chunks if c["choices"]
             and "tool_calls" in c["choices"][0]["delta"]]
    assert calls[0][0]["function"] == {"name": "cao_handoff", "arguments": json.dumps({"agent_profile": "dev"})}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    body["messages"] += [{"role": "assistant", "tool_calls": [{"id": calls[0][0]["id"], "type": "function",
                                                               "function": calls[0][0]["function"]}]},
                         {"role": "tool", "tool_call_id": calls[0][0]["id"], "content": "all done"}]
    body["stream"] = False
    data = srv.http.post("/v1/chat/completions", json=body).json()
    assert data["choices"][0]["message"]["content"] == "worker said all done"
    assert srv.requests()[0]["system"] == "sys"


def test_chat_user_parts_newest_text_without_reminders(srv: Server) -> None:
    """Qwen Code: reminders before the task; after an API error the failed task comes again first."""
    srv.set_rules([{"match": "^second$", "text": "newest"}, {"match": "^first$", "text": "resent"}])
    parts = [{"type": "text", "text": "<system-reminder>skills: first</system-reminder>"},
             {"type": "text", "text": "first"}, {"type": "text", "text": "second"}]
    body = {"model": "m", "stream": False, "messages": [{"role": "user", "content": parts}]}
    assert srv.http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"] == "newest"
    body["messages"][0]["content"] = parts[:2]
    assert srv.http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"] == "resent"
    assert [r["text"] for r in srv.requests()] == ["second", "first"]


def test_chat_user_text_without_copilots_datetime_prefix(srv: Server) -> None:
    """Copilot CLI: the time comes before the task in the same string."""
    srv.set_rules([{"match": "^say hello$", "text": "hello"}])
    text = "<current_datetime>2026-12-07T01:45:31.104+00:00</current_datetime>\n\nsay hello"
    body = {"model": "m", "stream": False, "messages": [{"role": "user", "content": text}]}
    assert srv.http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"] == "hello"
    assert [r["text"] for r in srv.requests()] == ["say hello"]


def test_models_list(srv: Server) -> None:
    data = srv.http.get("/v1/models").json()
    assert data["object"] == "list" and all(m["object"] == "model" for m in data["data"])
