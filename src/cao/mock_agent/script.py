"""The mock agent's script: which steps a turn runs for a given task.

A script is a JSON (or YAML) mapping::

    {"rules": [{"match": "<regex or substring>", "steps": [<step>, ...]}, ...],
     "default": [<step>, ...]}

Each step is a mapping with exactly one action key:

    {"wait": 1.5}                        sleep with the spinner on screen (seconds, >= 0)
    {"ask_permission": "Bash(rm -rf x)"} show the permission box and wait for an answer
    {"reply": "text"}                    print a reply block; {{task}} etc. are substituted
    {"fail": "API Error: 500"}           print "✗ Error: <text>" and end the turn
    {"exit": 0}                          exit the program with this code
    {"tool": "send_message", "args": {...}, "server": "cao"}   call an MCP tool

The first rule whose ``match`` (a Python regex, searched; a pattern that does not compile
is taken literally) matches the task wins; otherwise ``default`` runs; without a default
the built-in one replies ``Mock reply to: <task>``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTIONS = ("wait", "ask_permission", "reply", "fail", "exit", "tool")
TOOL_EXTRA_KEYS = ("args", "server")
DEFAULT_REPLY = "Mock reply to: {{task}}"


class ScriptError(Exception):
    """The script file is unreadable or malformed; the message names the bad rule or step."""


@dataclass(frozen=True)
class Step:
    action: str
    value: Any
    args: dict[str, Any] = field(default_factory=dict)
    server: str | None = None


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Script:
    rules: tuple[Rule, ...] = ()
    default: tuple[Step, ...] | None = None

    def steps_for(self, task: str) -> tuple[Step, ...]:
        for rule in self.rules:
            if rule.pattern.search(task):
                return rule.steps
        if self.default is not None:
            return self.default
        return (Step("reply", DEFAULT_REPLY),)


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace ``{{key}}`` placeholders (unknown keys are left alone)."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), text)


def parse_step(raw: object, where: str) -> Step:
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: a step must be a mapping like {{\"reply\": \"text\"}}, got {raw!r}")
    actions = [key for key in raw if key in ACTIONS]
    unknown = [key for key in raw if key not in ACTIONS and key not in TOOL_EXTRA_KEYS]
    if unknown or len(actions) != 1:
        raise ScriptError(
            f"{where}: a step needs exactly one of {', '.join(ACTIONS)}; got keys {sorted(raw)}"
        )
    action = actions[0]
    value = raw[action]
    if action != "tool" and any(key in raw for key in TOOL_EXTRA_KEYS):
        raise ScriptError(f"{where}: 'args' and 'server' belong to a 'tool' step only")
    if action == "wait":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ScriptError(f"{where}: 'wait' must be a number of seconds >= 0, got {value!r}")
        return Step("wait", float(value))
    if action == "exit":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise ScriptError(f"{where}: 'exit' must be an exit code 0..255, got {value!r}")
        return Step("exit", value)
    if action in ("ask_permission", "fail", "tool") and (not isinstance(value, str) or not value.strip()):
        raise ScriptError(f"{where}: {action!r} must be a non-empty string, got {value!r}")
    if action == "reply" and not isinstance(value, str):
        raise ScriptError(f"{where}: 'reply' must be a string, got {value!r}")
    if action == "tool":
        args = raw.get("args", {})
        server = raw.get("server")
        if not isinstance(args, dict):
            raise ScriptError(f"{where}: 'args' of a tool step must be a mapping, got {args!r}")
        if server is not None and (not isinstance(server, str) or not server):
            raise ScriptError(f"{where}: 'server' of a tool step must be a server name, got {server!r}")
        return Step("tool", value, args=args, server=server)
    return Step(action, value)


def parse_steps(raw: object, where: str) -> tuple[Step, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScriptError(f"{where}: 'steps' must be a non-empty list of steps")
    return tuple(parse_step(item, f"{where}[{i}]") for i, item in enumerate(raw))


def compile_match(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(re.escape(pattern))


def parse_script(data: object, source: str = "script") -> Script:
    if not isinstance(data, dict):
        raise ScriptError(f"{source}: the top level must be a mapping with 'rules' and/or 'default'")
    unknown = sorted(set(data) - {"rules", "default"})
    if unknown:
        raise ScriptError(f"{source}: unknown top-level keys {unknown}; expected 'rules' and 'default'")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ScriptError(f"{source}: 'rules' must be a list")
    rules = []
    for i, raw in enumerate(raw_rules):
        where = f"{source}: rules[{i}]"
        if not isinstance(raw, dict):
            raise ScriptError(f"{where}: a rule must be a mapping with 'match' and 'steps'")
        extra = sorted(set(raw) - {"match", "steps"})
        if extra:
            raise ScriptError(f"{where}: unknown keys {extra}; a rule has 'match' and 'steps'")
        match = raw.get("match")
        if not isinstance(match, str):
            raise ScriptError(f"{where}: 'match' must be a string (regex or substring), got {match!r}")
        rules.append(Rule(compile_match(match), parse_steps(raw.get("steps"), f"{where}.steps")))
    default = None
    if "default" in data:
        default = parse_steps(data["default"], f"{source}: default")
    return Script(tuple(rules), default)


def load_script(path: str | os.PathLike[str]) -> Script:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ScriptError(f"cannot read script {str(p)!r}: {err.strerror or err}") from err
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml  # lazy: only YAML scripts pay for it

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ScriptError(f"script {p.name}: invalid YAML: {err}") from err
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ScriptError(f"script {p.name}: invalid JSON: {err}") from err
    return parse_script(data, f"script {p.name}")


def load_mcp_config(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Validate an ``{"mcpServers": {name: {command, args, env}}}`` file; return the servers."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as err:
        raise ScriptError(f"cannot read MCP config {str(p)!r}: {err.strerror or err}") from err
    except json.JSONDecodeError as err:
        raise ScriptError(f"MCP config {p.name}: invalid JSON: {err}") from err
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ScriptError(f"MCP config {p.name}: expected {{\"mcpServers\": {{name: {{...}}}}}}")
    for name, spec in servers.items():
        where = f"MCP config {p.name}: mcpServers.{name}"
        if not isinstance(spec, dict) or not isinstance(spec.get("command"), str) or not spec["command"]:
            raise ScriptError(f"{where}: needs a 'command' string")
        args = spec.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ScriptError(f"{where}: 'args' must be a list of strings")
        env = spec.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise ScriptError(f"{where}: 'env' must be a mapping of strings")
    return servers
