"""MCP tools for team members: one ``handoff_<agent>`` per sub-agent with structured output.

Such a tool declares the sub-agent's schema as its ``outputSchema`` and returns the checked object
as ``structuredContent``, so the caller gets data, not prose. (The generic ``handoff`` tool returns
the same object as structuredContent too, without declaring a schema: it serves every agent.)
"""

from __future__ import annotations

import json
import re
from typing import Any

from cao.mcp.protocol import CallContext, Tool, ToolResult
from cao.mcp.tools import DEFAULT_HANDOFF_TIMEOUT, MAX_HANDOFF_TIMEOUT, MESSAGE, WORKDIR, _message, _schema, guard
from cao.services import orchestration
from cao.services.runtime import Runtime
from cao.teams import policy

TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")


def tool_set(rt: Runtime, terminal_id: str) -> list[Tool]:
    record = rt.registry.terminals.get(terminal_id)
    found = policy.member_of(rt, record.session_name, record.agent_profile) if record else None
    if record is None or found is None:
        return []
    tools = []
    for name in found[1].delegates:
        spec = policy.member_of(rt, record.session_name, name)  # a team member, or a profile with team fields
        target = spec[1] if spec else None
        so = target.structured_output if target else None
        if target is None or so is None:
            continue
        tools.append(Tool(
            f"handoff_{TOOL_NAME.sub('_', name)}"[:64],
            f"Hand a task to {name} ({target.description or 'team member'}) and wait: returns its result as "
            f"{so.name} data (structuredContent) that matches the output schema.",
            _schema({"message": MESSAGE,
                     "timeout": {"type": "number", "description": "seconds to wait (default 600)", "minimum": 1,
                                 "maximum": MAX_HANDOFF_TIMEOUT},
                     "working_directory": WORKDIR}, ["message"]),
            guard(_handler(rt, terminal_id, name)), output_schema=so.schema))
    return tools


def _handler(rt: Runtime, me: str, agent: str):  # type: ignore[no-untyped-def]
    async def call(args: dict[str, Any], ctx: CallContext) -> ToolResult:
        timeout = min(float(args.get("timeout") or DEFAULT_HANDOFF_TIMEOUT), MAX_HANDOFF_TIMEOUT)
        _, output = await orchestration.handoff(rt, caller_id=me, agent_profile=agent, message=_message(args),
                                                timeout=timeout, working_directory=args.get("working_directory"),
                                                progress=ctx.progress)
        return ToolResult("", structured=json.loads(output))

    return call


def structured_result(rt: Runtime, me: str, agent: str, output: str) -> ToolResult | None:
    """The generic handoff's result as structuredContent, when ``agent`` is a member with structured output."""
    record = rt.registry.terminals.get(me)
    found = policy.member_of(rt, record.session_name, agent) if record else None
    if found is None or found[1].structured_output is None:
        return None
    return ToolResult("", structured=json.loads(output))
