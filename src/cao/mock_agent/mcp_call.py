"""One MCP tool call over stdio, for the mock agent's ``tool`` steps (imported lazily: mcp is slow)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from cao.mock_agent.script import ScriptError, Step, substitute

CALL_TIMEOUT = 60.0


def fill(value: Any, values: dict[str, str]) -> Any:
    """Substitute ``{{task}}`` etc. in every string inside the tool arguments."""
    if isinstance(value, str):
        return substitute(value, values)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


def pick_server(servers: dict[str, dict[str, Any]], step: Step) -> tuple[str, dict[str, Any]]:
    if step.server is not None:
        if step.server not in servers:
            raise ScriptError(f"tool {step.value!r}: no MCP server {step.server!r} in --mcp-config "
                              f"(have: {', '.join(sorted(servers))})")
        return step.server, servers[step.server]
    if len(servers) != 1:
        raise ScriptError(f"tool {step.value!r}: several MCP servers configured; name one with \"server\"")
    return next(iter(servers.items()))


def result_text(result: Any) -> str:
    """The text of a CallToolResult: structured content as JSON, else its text blocks."""
    structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if texts:
        return "\n".join(texts)
    return json.dumps(structured) if structured is not None else ""


async def _call(spec: dict[str, Any], name: str, args: dict[str, Any]) -> Any:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=spec["command"], args=spec.get("args", []),
                                   env={**os.environ, **spec.get("env", {})})
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool(name, args)


def call_tool(servers: dict[str, dict[str, Any]], step: Step, values: dict[str, str]) -> str:
    """Call the step's tool; return its text. Raise ScriptError when the call or the tool fails."""
    server, spec = pick_server(servers, step)
    try:
        result = asyncio.run(asyncio.wait_for(_call(spec, step.value, fill(step.args, values)), CALL_TIMEOUT))
    except ScriptError:
        raise
    except BaseException as err:  # anyio wraps failures in exception groups
        if isinstance(err, KeyboardInterrupt | SystemExit):
            raise
        raise ScriptError(f"MCP tool {server}.{step.value} failed: {type(err).__name__}: {err}") from err
    text = result_text(result)
    is_error = getattr(result, "is_error", None) or getattr(result, "isError", False)
    if is_error:
        raise ScriptError(f"MCP tool {server}.{step.value} returned an error: {text}")
    return text
