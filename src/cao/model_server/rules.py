"""Rules: which reply the scripted model gives to a request.

A script is JSON (or YAML)::

    {"rules": [
      {"match": "hand (this|it) off", "needs_tools": true,
       "tool": "handoff", "args": {"agent_profile": "developer", "message": "{{text}}"}},
      {"on_tool_result": ".", "text": "The worker said: {{tool_result}}"},
      {"match": "fail please", "error": 500, "message": "overloaded"},
      {"match": "slow", "delay": 2.5, "text": "done slowly"}
    ],
    "default": {"text": "OK: {{text}}"}}

Each request is reduced to an ``Exchange``: the newest user text, or — when the request ends with
a tool result — that result. The first rule whose ``match`` (or ``on_tool_result``) regex is found
wins; ``needs_tools`` restricts a rule to requests that offer tools (side requests for titles or
summaries carry none); ``times`` limits how often a rule fires. ``tool`` names are resolved against
the request's own tool list, because each CLI names MCP tools differently
(``mcp__cao__handoff``, ``mcp_cao_handoff``, ``handoff`` …); with ``force`` a tool the request does
not offer is called anyway, by the name given.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ScriptError(ValueError):
    pass


@dataclass
class Exchange:
    api: str  # "anthropic" | "openai" | "gemini"
    model: str
    text: str  # the newest user text ("" if the request ends with a tool result)
    tool_result: str | None
    tools: list[str]
    system: str = ""
    stream: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolCall:
    name: str  # as the CLI named it in its request
    args: dict[str, Any]


@dataclass
class Reply:
    text: str | None = None
    tool: ToolCall | None = None
    error: tuple[int, str] | None = None
    delay: float = 0.0
    pace: float = 0.0  # seconds between streamed text pieces (a model that streams at a human-visible rate)


@dataclass
class Rule:
    match: re.Pattern[str] | None
    on_tool_result: re.Pattern[str] | None
    needs_tools: bool
    times: int | None
    spec: dict[str, Any]
    fired: int = 0


REPLY_KEYS = {"text", "tool", "args", "force", "error", "message", "delay", "pace"}
RULE_KEYS = REPLY_KEYS | {"match", "on_tool_result", "needs_tools", "times"}


def substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    return value


def resolve_tool(name: str, tools: list[str]) -> str | None:
    """The request's own name for tool ``name``: exact, else the one that ends with it."""
    if name in tools:
        return name
    for separator in ("__", "_", ".", "/", "-"):
        for tool in tools:
            if tool.endswith(separator + name):
                return tool
    return None


def _compile(pattern: Any, where: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise ScriptError(f"{where}: must be a regular expression string")
    try:
        return re.compile(pattern, re.IGNORECASE | re.DOTALL)
    except re.error as exc:
        raise ScriptError(f"{where}: invalid regular expression: {exc}") from exc


def _check_reply(spec: dict[str, Any], where: str) -> None:
    kinds = [k for k in ("text", "tool", "error") if k in spec]
    if len(kinds) == 0 and "delay" not in spec:
        raise ScriptError(f"{where}: give one of text, tool or error")
    if ("tool" in kinds and "error" in kinds) or ("text" in kinds and "error" in kinds):
        raise ScriptError(f"{where}: an error cannot also carry text or a tool call")
    if "args" in spec and not isinstance(spec["args"], dict):
        raise ScriptError(f"{where}: args must be an object")
    if "error" in spec and (not isinstance(spec["error"], int) or not 400 <= spec["error"] <= 599):
        raise ScriptError(f"{where}: error must be an HTTP status between 400 and 599")
    if "delay" in spec and (not isinstance(spec["delay"], int | float) or spec["delay"] < 0):
        raise ScriptError(f"{where}: delay must be a number of seconds >= 0")
    if "pace" in spec and (not isinstance(spec["pace"], int | float) or not 0 <= spec["pace"] <= 1):
        raise ScriptError(f"{where}: pace must be a number of seconds between 0 and 1")


class Script:
    def __init__(self, data: dict[str, Any], source: str = "script") -> None:
        if not isinstance(data, dict):
            raise ScriptError(f"{source}: expected an object with 'rules'")
        self.rules: list[Rule] = []
        for i, raw in enumerate(data.get("rules", [])):
            where = f"{source}: rules[{i}]"
            if not isinstance(raw, dict):
                raise ScriptError(f"{where}: must be an object")
            unknown = set(raw) - RULE_KEYS
            if unknown:
                raise ScriptError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            if ("match" in raw) == ("on_tool_result" in raw):
                raise ScriptError(f"{where}: give exactly one of match or on_tool_result")
            _check_reply(raw, where)
            self.rules.append(Rule(_compile(raw.get("match"), f"{where}.match"),
                                   _compile(raw.get("on_tool_result"), f"{where}.on_tool_result"),
                                   bool(raw.get("needs_tools", False)), raw.get("times"), raw))
        self.default = data.get("default", {"text": "OK: {{text}}"})
        _check_reply(self.default, f"{source}: default")
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> Script:
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as exc:
            raise ScriptError(f"{path}: cannot parse: {exc}") from exc
        return cls(data, str(path))

    def choose(self, exchange: Exchange) -> dict[str, Any]:
        with self._lock:
            for rule in self.rules:
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.needs_tools and not exchange.tools:
                    continue
                if rule.match is not None and (
                        exchange.tool_result is not None or not rule.match.search(exchange.text)):
                    continue
                if rule.on_tool_result is not None and (
                        exchange.tool_result is None or not rule.on_tool_result.search(exchange.tool_result)):
                    continue
                rule.fired += 1
                return rule.spec
        return self.default

    def respond(self, exchange: Exchange) -> Reply:
        spec = self.choose(exchange)
        values = {"text": exchange.text, "tool_result": exchange.tool_result or "", "model": exchange.model}
        reply = Reply(delay=float(spec.get("delay", 0)), pace=float(spec.get("pace", 0)))
        if "error" in spec:
            reply.error = (int(spec["error"]), substitute(spec.get("message", "scripted error"), values))
            return reply
        if "text" in spec:
            reply.text = substitute(spec["text"], values)
        if "tool" in spec:
            name = resolve_tool(spec["tool"], exchange.tools)
            if name is None and spec.get("force"):
                name = spec["tool"]  # a call to a tool the CLI did not offer: does it refuse to run it?
            if name is None:
                reply.text = f"(scripted tool {spec['tool']!r} is not among this request's tools)"
            else:
                reply.tool = ToolCall(name, substitute(spec.get("args", {}), values))
        return reply


class ScriptFile:
    """A script re-read whenever its file changes, so a test can swap rules between turns."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._mtime: float | None = None
        self._script = Script({})

    def get(self) -> Script:
        if self.path is not None:
            mtime = self.path.stat().st_mtime
            if mtime != self._mtime:
                self._script, self._mtime = Script.load(self.path), mtime
        return self._script
