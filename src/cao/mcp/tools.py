"""The agents' MCP tools, served by cao-server itself: each call acts as the terminal whose token it carries.

The caller is never a parameter: ``me`` comes from the authenticated MCP session, so a tool cannot
be asked to act for another terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cao import validation
from cao.errors import CaoError
from cao.mcp.protocol import CallContext, Tool, ToolError, ToolResult
from cao.services import orchestration
from cao.services.identity import Principal
from cao.services.runtime import Runtime

INSTRUCTIONS = (
    "Tools to work with other agents in this cao session. handoff runs a worker and returns its whole reply; "
    "assign starts a worker and returns at once (its result arrives later as a message); send_message sends "
    "a message to another terminal's inbox (without receiver_id: to whoever assigned you your task)."
)
DEFAULT_HANDOFF_TIMEOUT = 600
# Each provider sets its CLI's MCP tool timeout above this, so the client never gives up first.
MAX_HANDOFF_TIMEOUT = 3600

PROFILE = {"type": "string", "description": "agent profile of the worker, e.g. developer", "maxLength": 64}
MESSAGE = {"type": "string", "description": "the task or message, with everything the receiver needs"}
WORKDIR = {"type": "string", "description": "absolute working directory for the worker (default: yours)"}
TERMINAL = {"type": "string", "description": "8-hex terminal id"}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


class AgentTools:
    """The tools for one terminal (``me``)."""

    def __init__(self, rt: Runtime, me: str) -> None:
        self.rt = rt
        self.me = me

    async def handoff(self, args: dict[str, Any], ctx: CallContext) -> str | ToolResult:
        timeout = min(float(args.get("timeout") or DEFAULT_HANDOFF_TIMEOUT), MAX_HANDOFF_TIMEOUT)
        _, output = await orchestration.handoff(
            self.rt, caller_id=self.me, agent_profile=args["agent_profile"], message=_message(args),
            timeout=timeout, working_directory=args.get("working_directory"), progress=ctx.progress)
        from cao.teams.tools import structured_result  # teams' tools import this module

        return structured_result(self.rt, self.me, args["agent_profile"], output) or output

    async def assign(self, args: dict[str, Any], _ctx: CallContext) -> str:
        worker = await orchestration.assign(self.rt, caller_id=self.me, agent_profile=args["agent_profile"],
                                            message=_message(args), working_directory=args.get("working_directory"))
        return (f"Assigned to terminal {worker.id} ({args['agent_profile']}). "
                "Its result will arrive in your inbox as a message.")

    async def send_message(self, args: dict[str, Any], _ctx: CallContext) -> str:
        receiver = args.get("receiver_id")
        if receiver is not None:
            validation.terminal_id(receiver)
        record = orchestration.send_message(self.rt, sender_id=self.me, message=_message(args), receiver_id=receiver)
        return f"Message {record.id} queued for terminal {record.receiver_id}."

    async def delete_terminal(self, args: dict[str, Any], _ctx: CallContext) -> str:
        terminal_id = validation.terminal_id(args["terminal_id"])
        await orchestration.delete_worker(self.rt, terminal_id=terminal_id, requester_id=self.me)
        return f"Terminal {terminal_id} deleted; its scrollback is saved in cao's logs."

    def definitions(self) -> list[Tool]:
        return [
            Tool("handoff", "Start a worker agent in this session, give it a task, wait for it to finish and "
                 "return its whole reply. The worker is removed afterwards.",
                 _schema({"agent_profile": PROFILE, "message": MESSAGE,
                          "timeout": {"type": "number", "description": "seconds to wait (default 600)",
                                      "default": DEFAULT_HANDOFF_TIMEOUT, "minimum": 1,
                                      "maximum": MAX_HANDOFF_TIMEOUT},
                          "working_directory": WORKDIR}, ["agent_profile", "message"]), guard(self.handoff)),
            Tool("assign", "Start a worker agent with a task and return at once with its terminal id. The "
                 "worker reports back with send_message; the result arrives in your inbox.",
                 _schema({"agent_profile": PROFILE, "message": MESSAGE, "working_directory": WORKDIR},
                         ["agent_profile", "message"]), guard(self.assign)),
            Tool("send_message", "Send a message to another terminal's inbox; it is typed in when that agent "
                 "is ready. Without receiver_id it goes to whoever assigned or handed off your task.",
                 _schema({"message": MESSAGE, "receiver_id": TERMINAL}, ["message"]), guard(self.send_message)),
            Tool("delete_terminal", "Remove a worker terminal you created (its scrollback is kept in the logs).",
                 _schema({"terminal_id": TERMINAL}, ["terminal_id"]), guard(self.delete_terminal)),
        ]


def _message(args: dict[str, Any]) -> str:
    return validation.message(args["message"])


def guard(handler):  # type: ignore[no-untyped-def]
    """cao's own errors become tool errors the agent can read (and act on)."""
    async def call(args: dict[str, Any], ctx: CallContext) -> str:
        try:
            return await handler(args, ctx)
        except CaoError as exc:
            raise ToolError(str(exc)) from exc

    return call


# More tools for an agent, from other capabilities (skills, memory...): each gets (runtime, terminal id).
TOOL_SETS: list[Callable[[Runtime, str], list[Tool]]] = []


def tools_for(rt: Runtime, principal: Principal) -> list[Tool]:
    if principal.terminal_id is None:
        return []
    tools = AgentTools(rt, principal.terminal_id).definitions()
    for tool_set in TOOL_SETS:
        tools += tool_set(rt, principal.terminal_id)
    return tools


def tools_listed(rt: Runtime, principal: Principal) -> None:
    """The agent's MCP client has listed cao's tools: the terminal may now be given work."""
    monitor = rt.engine.monitors.get(principal.terminal_id or "")
    if monitor is not None:
        rt.engine.mark_mcp_ready(monitor)
