"""The mock agent's script: which steps a turn runs for a given task and agent.

A script is a JSON (or YAML) mapping::

    {"rules": [{"agent": "<regex>", "match": "<regex or substring>", "steps": [<step>, ...]}, ...],
     "default": [<step>, ...]}

``agent`` (optional) is matched in full against the agent's ``--name``, so one file can
script a supervisor and its workers; ``match`` (optional, absent: every task) is searched
in the task. Each step is a mapping with one action key:

    {"wait": 1.5}                        sleep with the spinner on screen (seconds, >= 0)
    {"ask_permission": "Bash(rm -rf x)"} show the permission box and wait for an answer
    {"reply": "text"}                    print a reply block; {{task}} etc. are substituted
    {"reply_size": 102400}               a deterministic reply of about that many bytes
    {"fail": "API Error: 500"}           print "✗ Error: <text>" and end the turn
    {"exit": 0}                          exit the program with this code
    {"tool": "send_message", "args": {...}, "server": "cao", "on_error": "continue"}
    {"collect": "results", "count": 3, "reply": "...{{collected}}", "item": "{{body}}"}

The first rule whose filters match wins; otherwise ``default`` runs; without a default
the built-in one replies ``Mock reply to: <task>``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTIONS = ("wait", "ask_permission", "reply", "reply_size", "fail", "exit", "tool", "collect")
# Keys a step may have besides its action key.
EXTRA_KEYS = {"tool": ("args", "server", "on_error"), "collect": ("count", "reply", "item")}
DEFAULT_REPLY = "Mock reply to: {{task}}"
MAX_REPLY_SIZE = 10 * 1024 * 1024
LONG_REPLY_END = "END OF LONG REPLY"
HEADER_RE = re.compile(r"\[Message \d+ from (.*)\]")
TRAILER_PREFIXES = ("(Assigned by ", "(Handed off by ")


class ScriptError(Exception):
    """The script file is unreadable or malformed; the message names the bad rule or step."""


@dataclass(frozen=True)
class Step:
    action: str
    value: Any
    args: dict[str, Any] = field(default_factory=dict)
    server: str | None = None
    on_error: str = "fail"  # tool steps: "fail" or "continue"
    count: int = 0  # collect steps: how many items complete the list
    template: str = ""  # collect steps: the reply once complete
    item: str = "{{task}}"  # collect steps: what is appended


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str] | None
    steps: tuple[Step, ...]
    agent: re.Pattern[str] | None = None

    def applies(self, task: str, agent: str | None) -> bool:
        if self.agent is not None and not self.agent.fullmatch(agent or ""):
            return False
        return self.pattern is None or bool(self.pattern.search(task))


@dataclass(frozen=True)
class Script:
    rules: tuple[Rule, ...] = ()
    default: tuple[Step, ...] | None = None

    def steps_for(self, task: str, agent: str | None = None) -> tuple[Step, ...]:
        for rule in self.rules:
            if rule.applies(task, agent):
                return rule.steps
        if self.default is not None:
            return self.default
        return (Step("reply", DEFAULT_REPLY),)


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace ``{{key}}`` placeholders (unknown keys are left alone)."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), text)


def split_task(task: str) -> tuple[str, str]:
    """(sender, body) of a task: the ``[Message N from <label>]`` header cao's inbox puts on
    messages, and the text without it and without a final "(Assigned by …)" / "(Handed off by …)"
    paragraph that cao appends to delegated tasks."""
    sender, body = "", task
    first, _, rest = task.partition("\n")
    found = HEADER_RE.fullmatch(first.strip())
    if found:
        sender, body = found.group(1), rest
    paragraphs = re.split(r"\n[ \t]*\n", body.rstrip())
    if len(paragraphs) > 1 and paragraphs[-1].lstrip().startswith(TRAILER_PREFIXES):
        body = body[: body.rstrip().rfind(paragraphs[-1])]
    return sender, body.strip("\n").rstrip()


def long_reply(size: int) -> str:
    """About ``size`` bytes of numbered lines, the last one ``END OF LONG REPLY``."""
    line_bytes = 80  # 79 characters and a newline
    count = max(0, (size - len(LONG_REPLY_END)) // line_bytes)
    filler = "the quick brown fox jumps over the lazy dog " * 2
    lines = [(f"Line {n:06d}: " + filler)[: line_bytes - 1] for n in range(1, count + 1)]
    return "\n".join([*lines, LONG_REPLY_END])


def _string(value: object, where: str, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        kind = "a string" if empty else "a non-empty string"
        raise ScriptError(f"{where}: {what} must be {kind}, got {value!r}")
    return value


def parse_step(raw: object, where: str) -> Step:
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: a step must be a mapping like {{\"reply\": \"text\"}}, got {raw!r}")
    # "collect" carries a "reply" template, so it wins over "reply" as the action.
    actions = ["collect"] if "collect" in raw else [key for key in raw if key in ACTIONS]
    if len(actions) != 1:
        raise ScriptError(f"{where}: a step needs exactly one of {', '.join(ACTIONS)}; got keys {sorted(raw)}")
    action = actions[0]
    allowed = EXTRA_KEYS.get(action, ())
    extra = sorted(key for key in raw if key != action and key not in allowed)
    for key in extra:
        owners = [a for a, keys in EXTRA_KEYS.items() if key in keys]
        if owners:
            raise ScriptError(f"{where}: {key!r} belongs to a {' or '.join(map(repr, owners))} step only, "
                              f"not a {action!r} step")
    if extra:
        raise ScriptError(f"{where}: a step needs exactly one of {', '.join(ACTIONS)}; got keys {sorted(raw)}")
    value = raw[action]
    if action == "wait":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ScriptError(f"{where}: 'wait' must be a number of seconds >= 0, got {value!r}")
        return Step("wait", float(value))
    if action == "exit":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            raise ScriptError(f"{where}: 'exit' must be an exit code 0..255, got {value!r}")
        return Step("exit", value)
    if action == "reply_size":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REPLY_SIZE:
            raise ScriptError(f"{where}: 'reply_size' must be a number of bytes 1..{MAX_REPLY_SIZE}, got {value!r}")
        return Step("reply_size", value)
    if action in ("ask_permission", "fail"):
        return Step(action, _string(value, where, repr(action)))
    if action == "reply":
        return Step("reply", _string(value, where, "'reply'", empty=True))
    if action == "tool":
        name = _string(value, where, "'tool'")
        args = raw.get("args", {})
        server = raw.get("server")
        on_error = raw.get("on_error", "fail")
        if not isinstance(args, dict):
            raise ScriptError(f"{where}: 'args' of a tool step must be a mapping, got {args!r}")
        if server is not None:
            _string(server, where, "'server' of a tool step")
        if on_error not in ("fail", "continue"):
            raise ScriptError(f"{where}: 'on_error' of a tool step must be 'fail' or 'continue', got {on_error!r}")
        return Step("tool", name, args=args, server=server, on_error=on_error)
    # collect
    name = _string(value, where, "'collect' (the list's name)")
    count = raw.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ScriptError(f"{where}: 'count' of a collect step must be a whole number >= 1, got {count!r}")
    template = _string(raw.get("reply", "{{collected}}"), where, "'reply' of a collect step", empty=True)
    item = _string(raw.get("item", "{{task}}"), where, "'item' of a collect step", empty=True)
    return Step("collect", name, count=count, template=template, item=item)


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
            raise ScriptError(f"{where}: a rule must be a mapping with 'steps' and optional 'match' and 'agent'")
        extra = sorted(set(raw) - {"match", "steps", "agent"})
        if extra:
            raise ScriptError(f"{where}: unknown keys {extra}; a rule has 'steps', 'match' and 'agent'")
        match = raw.get("match")
        if match is not None and not isinstance(match, str):
            raise ScriptError(f"{where}: 'match' must be a string (regex or substring), got {match!r}")
        agent = raw.get("agent")
        if agent is not None:
            if not isinstance(agent, str) or not agent:
                raise ScriptError(f"{where}: 'agent' must be a regex for the agent's --name, got {agent!r}")
            try:
                agent_re: re.Pattern[str] | None = re.compile(agent)
            except re.error as err:
                raise ScriptError(f"{where}: 'agent' {agent!r} is not a valid regex: {err}") from err
        else:
            agent_re = None
        steps = parse_steps(raw.get("steps"), f"{where}.steps")
        rules.append(Rule(None if match is None else compile_match(match), steps, agent_re))
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
    """Validate an ``{"mcpServers": {name: spec}}`` file; return the servers.

    A spec is a stdio server (``command``, ``args``, ``env``) or a streamable HTTP one
    (``"type": "http"``, ``url``, ``headers``).
    """
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
        if not isinstance(spec, dict):
            raise ScriptError(f"{where}: must be an object")
        if spec.get("type") == "http" or "url" in spec:
            _check_http_server(spec, where)
        else:
            _check_stdio_server(spec, where)
    return servers


def _strings(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _check_http_server(spec: dict[str, Any], where: str) -> None:
    url = spec.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ScriptError(f"{where}: an HTTP server needs a 'url' such as http://127.0.0.1:9889/mcp")
    if spec.get("type", "http") != "http":
        raise ScriptError(f"{where}: 'type' must be \"http\" for a server with a 'url'")
    if not _strings(spec.get("headers", {})):
        raise ScriptError(f"{where}: 'headers' must be a mapping of strings")


def _check_stdio_server(spec: dict[str, Any], where: str) -> None:
    if not isinstance(spec.get("command"), str) or not spec["command"]:
        raise ScriptError(f"{where}: needs a 'command' string (stdio) or \"type\": \"http\" with a 'url'")
    args = spec.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ScriptError(f"{where}: 'args' must be a list of strings")
    if not _strings(spec.get("env", {})):
        raise ScriptError(f"{where}: 'env' must be a mapping of strings")
