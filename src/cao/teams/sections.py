"""The parts of an agent's entry with structure of their own: toolsets, structured_output, hooks."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from cao.teams import durations, yamlsrc
from cao.teams import fields as F
from cao.teams.checks import Checker
from cao.teams.models import StructuredOutput

DEFAULT_HOOK_TIMEOUT_S = 60.0
SCHEMA_KEYWORDS = {"type", "required", "properties", "additionalProperties", "enum", "const", "minimum", "maximum",
                   "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "items", "minItems", "maxItems",
                   "description", "title", "default", "examples", "$schema", "format"}


def toolsets(check: Checker, path: yamlsrc.Path, entries: list[dict[str, Any]] | None
              ) -> tuple[dict[str, dict[str, Any]], list[str] | None, list[tuple[int, str]]]:
    """MCP servers, cao tool names (None without toolsets: cao's defaults) and toolset instructions."""
    if entries is None:
        return {}, None, []
    servers: dict[str, dict[str, Any]] = {}
    tools = ["@cao-mcp-server"]
    instructions = []
    for index, entry in enumerate(entries):
        where = (*path, index)
        kind = entry.get("type")
        if not isinstance(kind, str):
            check.error(where, f"needs type: one of {', '.join([*F.TOOLSET_TOOLS, *F.TOOLSET_NA])}")
            continue
        if kind in F.TOOLSET_NA:
            check.warn(where, f"toolset type {kind!r} accepted but ignored: {F.TOOLSET_NA[kind]}")
            continue
        if kind not in F.TOOLSET_TOOLS:
            check.unknown_value((*where, "type"), kind, (*F.TOOLSET_TOOLS, *F.TOOLSET_NA), "toolset type")
            continue
        known = check.fields(entry, where, F.TOOLSET_FIELDS, f"{kind} toolset")
        if "instruction" in known:
            instructions.append((index, known["instruction"]))
        tools += [tool for tool in F.TOOLSET_TOOLS[kind] if tool not in tools]
        if kind == "mcp" and "command" in known:
            server = known.get("name") or Path(known["command"]).name
            if server in servers:
                check.error((*where, "name"), f"a second MCP server named {server!r}; give each a distinct name: key")
            servers[server] = {"command": known["command"], "args": known.get("args", []),
                               "env": known.get("env", {})}
        elif kind == "mcp" and "ref" not in entry and "remote" not in entry:
            check.error(where, "an mcp toolset needs command: (and args:, env:) for cao to start it")
    return servers, tools, instructions


def structured(check: Checker, path: yamlsrc.Path, raw: dict[str, Any] | None) -> StructuredOutput | None:
    if raw is None:
        return None
    known = check.fields(raw, path, F.STRUCTURED_FIELDS, "structured_output")
    if "name" not in known or "schema" not in known:
        check.error(path, "needs name: and schema: (a JSON Schema, e.g. type: object with properties:)")
        return None
    schema = known["schema"]
    if schema.get("type") not in ("object", None):
        check.error((*path, "schema", "type"), "must be object: the result is a JSON object")
    _schema_keywords(check, (*path, "schema"), schema)
    if "type" not in schema:
        schema = {"type": "object", **schema}
    return StructuredOutput(name=known["name"], schema=schema, description=known.get("description", ""),
                            strict=known.get("strict", False))


def _schema_keywords(check: Checker, path: yamlsrc.Path, schema: Any) -> None:
    """Warn about JSON Schema keywords cao's validator does not check (the agent is still told them)."""
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key not in SCHEMA_KEYWORDS:
            check.warn((*path, key), "this JSON Schema keyword is shown to the agent but not checked by cao")
        if key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                _schema_keywords(check, (*path, key, name), sub)
        elif key in ("items", "additionalProperties"):
            _schema_keywords(check, (*path, key), value)


def hooks(check: Checker, path: yamlsrc.Path, raw: Any, provider: str | None
           ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """(hooks cao runs: event → [{argv, timeout, env}], tool hooks for the CLI: event → [cagent's fields])."""
    out: dict[str, list[dict[str, Any]]] = {}
    tools: dict[str, list[dict[str, Any]]] = {}
    if not isinstance(raw, dict):
        return out, tools  # a wrong type is reported with the agent's fields
    for event, entries in raw.items():
        if event not in F.HOOK_EVENTS:
            check.unknown(path, event, F.HOOK_EVENTS, "hook event")
            continue
        if not isinstance(entries, list) or not all(isinstance(h, dict) for h in entries):
            check.error((*path, event), "must be a list of hooks (- type: command, command: …)")
            continue
        if event in F.CLI_HOOK_EVENTS:
            check.warn((*path, event), f"accepted but ignored (not applicable to CLI agents): "
                                       f"{F.CLI_HOOK_EVENTS[event]}")
        elif event in F.TOOL_HOOK_EVENTS and provider is not None and provider not in F.TOOL_HOOK_PROVIDERS:
            check.warn((*path, event), f"accepted but ignored: cao installs tool hooks only in the own hook systems "
                                       f"of {', '.join(F.TOOL_HOOK_PROVIDERS)}, not in {provider}'s")
        for index, hook in enumerate(entries):
            where = (*path, event, index)
            parsed = _hook(check, where, hook)
            if parsed is None:
                continue
            if event in F.TOOL_HOOK_EVENTS and provider in F.TOOL_HOOK_PROVIDERS:
                tools.setdefault(event, []).append({
                    "command": hook["command"], "args": hook.get("args") or [], "matcher": hook.get("matcher"),
                    "timeout": parsed["timeout"], "env": parsed["env"]})
            elif event in F.CAO_HOOK_EVENTS:
                if hook.get("matcher") is not None:
                    check.warn((*where, "matcher"), "accepted but ignored: only tool hooks have a matcher")
                out.setdefault(event, []).append(parsed)
    return out, tools


def _hook(check: Checker, path: yamlsrc.Path, hook: dict[str, Any]) -> dict[str, Any] | None:
    known = check.fields(hook, path, F.HOOK_FIELDS, "hook")
    kind = known.get("type", "command")
    if kind == "builtin":
        check.warn(path, "builtin hooks (e.g. redact_secrets) accepted but ignored: cao has none yet")
        return None
    if kind != "command":
        check.error((*path, "type"), f"unknown hook type {kind!r}; use command (or builtin)")
        return None
    if not known.get("command"):
        check.error(path, "needs command: the program to run (it gets the event as JSON on stdin)")
        return None
    try:
        argv = [*shlex.split(known["command"]), *known.get("args", [])]
    except ValueError as exc:
        check.error((*path, "command"), f"cannot be split into a program and its arguments: {exc}")
        return None
    timeout = durations.seconds(known.get("timeout", DEFAULT_HOOK_TIMEOUT_S))
    if timeout is None or timeout <= 0:
        check.error((*path, "timeout"), "must be seconds (e.g. 30) or a duration (30s, 1m, 2m30s), above 0")
        return None
    return {"argv": argv, "timeout": timeout, "env": known.get("env", {})}
