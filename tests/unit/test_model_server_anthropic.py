"""The scripted model server's Anthropic Messages API, over real HTTP (uvicorn in a thread)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.threaded_model_server import ThreadedModelServer

RULES = {"rules": [
    {"match": "use the tool", "needs_tools": True, "tool": "send_message", "args": {"message": "hi {{text}}"}},
    {"on_tool_result": "delivered", "text": "The tool said: {{tool_result}}"},
    {"match": "explode", "error": 529, "message": "Overloaded"},
    {"match": "bad request", "error": 400, "message": "scripted failure"},
    {"match": "slowly", "delay": 0.6, "text": "done slowly"},
    {"match": "long answer", "text": "alpha beta gamma delta epsilon zeta eta theta"},
], "default": {"text": "OK: {{text}}"}}
TOOLS = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}},
         {"name": "mcp__cao__send_message", "description": "send", "input_schema": {"type": "object"}}]


class Served:
    def __init__(self, tmp_path: Path) -> None:
        script = tmp_path / "script.json"
        script.write_text(json.dumps(RULES))
        self.log = tmp_path / "requests.jsonl"
        self.app = ThreadedModelServer(script, self.log)
        self.url = self.app.url
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def post(self, body: dict[str, Any], path: str = "/v1/messages?beta=true") -> httpx.Response:
        return self.http.post(path, json=body, headers={"x-api-key": "sk-fake", "anthropic-version": "2023-06-01"})

    def close(self) -> None:
        self.http.close()
        self.app.stop()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    yield s
    s.close()


def request(content: Any, *, stream: bool = True, tools: list[dict] | None = None,
            history: list[dict] | None = None) -> dict[str, Any]:
    return {"model": "claude-fake-1", "max_tokens": 1024, "stream": stream, "tools": TOOLS if tools is None else tools,
            "system": [{"type": "text", "text": "You are Claude Code."}, {"type": "text", "text": "Be brief."}],
            "messages": [*(history or []), {"role": "user", "content": content}]}


def events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for chunk in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        data = json.loads(lines["data"])
        assert lines["event"] == data["type"]
        out.append((lines["event"], data))
    return out


def streamed_text(evs: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(d["delta"]["text"] for e, d in evs
                   if e == "content_block_delta" and d["delta"]["type"] == "text_delta")


def test_streaming_text_has_the_anthropic_event_sequence(served: Served) -> None:
    response = served.post(request("long answer please"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    evs = events(response)
    kinds = [e for e, _ in evs if e != "ping"]
    deltas = kinds.count("content_block_delta")
    assert kinds == ["message_start", "content_block_start", *["content_block_delta"] * deltas,
                     "content_block_stop", "message_delta", "message_stop"]
    assert deltas >= 3  # streamed in a few chunks
    start = evs[0][1]["message"]
    assert start["role"] == "assistant" and start["model"] == "claude-fake-1" and start["content"] == []
    assert "input_tokens" in start["usage"]
    assert streamed_text(evs) == "alpha beta gamma delta epsilon zeta eta theta"
    delta = next(d for e, d in evs if e == "message_delta")
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] > 0


def test_newest_text_skips_system_reminders_and_older_turns(served: Served) -> None:
    history = [{"role": "user", "content": "first question"},
               {"role": "assistant", "content": [{"type": "text", "text": "first answer"}]}]
    content = [{"type": "text", "text": "<system-reminder>\nToday is a day.\n</system-reminder>\n"},
               {"type": "text", "text": "an earlier failed prompt"}, {"type": "text", "text": "second question"}]
    assert streamed_text(events(served.post(request(content, history=history)))) == "OK: second question"
    entry = json.loads(served.log.read_text().splitlines()[-1])
    assert entry["api"] == "anthropic" and entry["path"] == "/v1/messages" and entry["text"] == "second question"
    assert entry["tools"] == ["Bash", "mcp__cao__send_message"]
    assert entry["system"] == "You are Claude Code.\nBe brief."


def test_system_messages_among_the_turns_count_as_system_text(served: Served) -> None:
    history = [{"role": "user", "content": "first question"},
               {"role": "system", "content": "The following skills are available: - cao-flows: flows"}]
    served.post(request("second question", history=history))
    entry = json.loads(served.log.read_text().splitlines()[-1])
    assert entry["text"] == "second question"
    listing = "The following skills are available: - cao-flows: flows"
    assert entry["system"] == f"You are Claude Code.\nBe brief.\n\n{listing}"


def test_tool_use_round_trip(served: Served) -> None:
    evs = events(served.post(request("please use the tool")))
    start = next(d for e, d in evs if e == "content_block_start" and d["content_block"]["type"] == "tool_use")
    block = start["content_block"]
    assert block["name"] == "mcp__cao__send_message" and block["id"].startswith("toolu_") and block["input"] == {}
    partial = "".join(d["delta"]["partial_json"] for e, d in evs
                      if e == "content_block_delta" and d["delta"]["type"] == "input_json_delta")
    assert json.loads(partial) == {"message": "hi please use the tool"}
    assert next(d for e, d in evs if e == "message_delta")["delta"]["stop_reason"] == "tool_use"

    history = [{"role": "user", "content": "please use the tool"},
               {"role": "assistant", "content": [{"type": "tool_use", "id": block["id"], "name": block["name"],
                                                  "input": {"message": "hi"}}]}]
    result = [{"type": "tool_result", "tool_use_id": block["id"],
               "content": [{"type": "text", "text": "message 7 delivered"}]},
              {"type": "text", "text": "<system-reminder>ignored</system-reminder>"}]
    evs = events(served.post(request(result, history=history)))
    assert streamed_text(evs) == "The tool said: message 7 delivered"
    entry = json.loads(served.log.read_text().splitlines()[-1])
    assert entry["tool_result"] == "message 7 delivered" and entry["text"] == ""
    # Text beside a tool result (Claude Code's Skill tool sends the skill's body so) is the request's text.
    result.append({"type": "text", "text": "Base directory for this skill: /x\n\nLions roar."})
    served.post(request(result, history=history))
    entry = json.loads(served.log.read_text().splitlines()[-1])
    assert entry["tool_result"] == "message 7 delivered" and entry["text"].endswith("Lions roar.")


def test_side_requests_without_tools_do_not_trigger_tool_rules(served: Served) -> None:
    evs = events(served.post(request("please use the tool", tools=[])))
    assert streamed_text(evs) == "OK: please use the tool"


def test_non_streaming(served: Served) -> None:
    body = served.post(request("hello", stream=False)).json()
    assert body["type"] == "message" and body["role"] == "assistant" and body["stop_reason"] == "end_turn"
    assert body["content"] == [{"type": "text", "text": "OK: hello"}]
    body = served.post(request("use the tool", stream=False)).json()
    assert body["stop_reason"] == "tool_use"
    assert body["content"][0]["type"] == "tool_use" and body["content"][0]["input"] == {"message": "hi use the tool"}


@pytest.mark.parametrize(("prompt", "status", "kind", "message"), [
    ("bad request", 400, "invalid_request_error", "scripted failure"),
    ("explode", 529, "overloaded_error", "Overloaded"),
], ids=["400", "529"])
def test_scripted_errors_are_anthropic_shaped(served: Served, prompt: str, status: int, kind: str,
                                              message: str) -> None:
    response = served.post(request(prompt))
    assert response.status_code == status
    assert response.json() == {"type": "error", "error": {"type": kind, "message": message}}
    assert response.headers["request-id"].startswith("req_")


def test_delay_is_honoured(served: Served) -> None:
    started = time.monotonic()
    assert streamed_text(events(served.post(request("do it slowly")))) == "done slowly"
    assert time.monotonic() - started >= 0.6


def test_count_tokens_and_bad_bodies(served: Served) -> None:
    response = served.post(request("count me"), path="/v1/messages/count_tokens?beta=true")
    assert response.status_code == 200 and response.json()["input_tokens"] > 0
    assert not served.log.exists() or "count me" not in served.log.read_text()  # not a model turn
    bad = served.http.post("/v1/messages", content=b"not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
