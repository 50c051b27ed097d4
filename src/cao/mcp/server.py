"""``cao-mcp-server``: the tools an agent uses to work with other agents (stdio).

It acts on behalf of one terminal, ``CAO_TERMINAL_ID``, and is a client of cao-server.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from cao import __version__, validation
from cao.client import ApiClient
from cao.errors import CaoError
from cao.mcp.protocol import StdioServer, Tool, ToolError
from cao.settings import Settings

INSTRUCTIONS = (
    "Tools to work with other agents in this cao session. handoff runs a worker and returns its whole reply; "
    "assign starts a worker and returns at once (its result arrives later as a message); send_message sends "
    "a message to another terminal's inbox (without receiver_id: to whoever assigned you your task)."
)
DEFAULT_HANDOFF_TIMEOUT = 600
# Each provider sets its CLI's MCP tool timeout above this, so the client never gives up first.
MAX_HANDOFF_TIMEOUT = 3600


def _settings() -> Settings:
    settings = Settings.from_env()
    url = os.environ.get("CAO_API_URL")
    if url:
        parts = urlsplit(url)
        settings = Settings(home=settings.home, api_host=parts.hostname or settings.api_host,
                            api_port=parts.port or settings.api_port, tmux_socket=settings.tmux_socket)
    return settings


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


PROFILE = {"type": "string", "description": "agent profile of the worker, e.g. developer"}
MESSAGE = {"type": "string", "description": "the task or message, with everything the receiver needs"}
WORKDIR = {"type": "string", "description": "absolute working directory for the worker (default: yours)"}


class Tools:
    def __init__(self, api: ApiClient, terminal_id: str | None) -> None:
        self.api = api
        self.me = terminal_id

    def _call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        if self.me is None:
            raise ToolError("this MCP server is not running inside a cao terminal (CAO_TERMINAL_ID is not set)")
        try:
            return self.api.request(method, path, body=body, params=params, timeout=timeout)
        except CaoError as exc:
            raise ToolError(str(exc)) from exc

    def handoff(self, args: dict[str, Any]) -> str:
        timeout = min(float(args.get("timeout") or DEFAULT_HANDOFF_TIMEOUT), MAX_HANDOFF_TIMEOUT)
        result = self._call("POST", f"/terminals/{self.me}/handoff", timeout=timeout + 60, body={
            "agent_profile": args["agent_profile"], "message": args["message"], "timeout": timeout,
            "working_directory": args.get("working_directory")})
        return result["output"]

    def assign(self, args: dict[str, Any]) -> str:
        result = self._call("POST", f"/terminals/{self.me}/assign", body={
            "agent_profile": args["agent_profile"], "message": args["message"],
            "working_directory": args.get("working_directory")})
        return (f"Assigned to terminal {result['terminal_id']} ({args['agent_profile']}). "
                "Its result will arrive in your inbox as a message.")

    def send_message(self, args: dict[str, Any]) -> str:
        result = self._call("POST", f"/terminals/{self.me}/send", body={
            "message": args["message"], "receiver_id": args.get("receiver_id")})
        return f"Message {result['message_id']} queued for terminal {result['receiver_id']}."

    def delete_terminal(self, args: dict[str, Any]) -> str:
        terminal_id = args["terminal_id"]
        try:
            validation.terminal_id(terminal_id)
        except CaoError as exc:
            raise ToolError(str(exc)) from exc
        self._call("DELETE", f"/terminals/{terminal_id}", params={"requester_id": self.me}, timeout=60)
        return f"Terminal {terminal_id} deleted; its scrollback is saved in cao's logs."

    def tools_listed(self) -> None:
        if self.me is not None:
            # If the server is restarting, a handoff just waits a little longer.
            with contextlib.suppress(CaoError):
                self.api.request("POST", f"/terminals/{self.me}/mcp-ready", timeout=10)

    def definitions(self) -> list[Tool]:
        return [
            Tool("handoff", "Start a worker agent in this session, give it a task, wait for it to finish and "
                 "return its whole reply. The worker is removed afterwards.",
                 _schema({"agent_profile": PROFILE, "message": MESSAGE,
                          "timeout": {"type": "number", "description": "seconds to wait (default 600)",
                                      "default": DEFAULT_HANDOFF_TIMEOUT, "minimum": 1, "maximum": MAX_HANDOFF_TIMEOUT},
                          "working_directory": WORKDIR}, ["agent_profile", "message"]), self.handoff),
            Tool("assign", "Start a worker agent with a task and return at once with its terminal id. The "
                 "worker reports back with send_message; the result arrives in your inbox.",
                 _schema({"agent_profile": PROFILE, "message": MESSAGE, "working_directory": WORKDIR},
                         ["agent_profile", "message"]), self.assign),
            Tool("send_message", "Send a message to another terminal's inbox; it is typed in when that agent "
                 "is ready. Without receiver_id it goes to whoever assigned or handed off your task.",
                 _schema({"message": MESSAGE,
                          "receiver_id": {"type": "string", "description": "8-hex terminal id"}}, ["message"]),
                 self.send_message),
            Tool("delete_terminal", "Remove a worker terminal you created (its scrollback is kept in the logs).",
                 _schema({"terminal_id": {"type": "string", "description": "8-hex terminal id"}},
                         ["terminal_id"]), self.delete_terminal),
        ]


def main() -> None:
    terminal_id = os.environ.get("CAO_TERMINAL_ID") or None
    if terminal_id is not None and not validation.TERMINAL_ID.fullmatch(terminal_id):
        print(f"cao-mcp-server: invalid CAO_TERMINAL_ID {terminal_id!r}", file=sys.stderr)
        terminal_id = None
    tools = Tools(ApiClient(_settings()), terminal_id)
    server = StdioServer("cao-mcp-server", __version__, tools.definitions(), INSTRUCTIONS,
                         on_tools_listed=tools.tools_listed)
    server.serve()


if __name__ == "__main__":
    main()
