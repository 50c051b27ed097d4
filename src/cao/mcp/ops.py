"""``cao-ops-mcp-server``: cao's control plane as MCP tools, for an agent outside cao (stdio).

An outside agent (Claude Code, Claude Desktop, any MCP client) launches sessions, talks to their agents,
reads what they answered and shuts them down. This server is a client of cao-server's REST API with the
owner's token (``$CAO_HOME/run/api-token``), so it acts as the owner, ``user`` — never as an agent:
messages it sends come from ``user``, and it refuses to run inside a cao terminal. Tool names are the
public CAO's. Served by cao's lean MCP core (``protocol.py`` + ``stdio.py``): stdlib only; it lists its
tools without cao-server and contacts it only when a tool is called. (The console script's entry point,
``ops_main.py``, also leaves OpenSSL unloaded.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cao import __version__, validation
from cao.errors import CaoError, InvalidInput
from cao.mcp.protocol import CallContext, Server, Tool, ToolError, ToolResult
from cao.mcp.stdio import serve_stdio
from cao.settings import Settings

if TYPE_CHECKING:
    from cao.client import ApiClient

INSTRUCTIONS = (
    "Control cao, the orchestrator of AI coding CLIs in tmux, as its owner. Typical use: list_profiles, "
    "launch_session(agent_profile, initial_message), wait_for_session, read_session_output, shutdown_session. "
    "send_session_message queues a message for an agent (typed in when it is ready); get_terminal_status and "
    "get_terminal_output inspect one agent; list_flows/run_flow run scheduled flows now."
)
LAUNCH_TIMEOUT_S = 180.0
TERMINAL = {"type": "string", "description": "8-hex terminal id", "minLength": 8, "maxLength": 8}
SESSION = {"type": "string", "description": "session name, with or without 'cao-'", "maxLength": 68}
MODE = {"type": "string", "enum": ["full", "last"],
        "description": "last: the agent's last reply; full: the recent screen output"}
OPTIONAL_TEXT = {"type": "string", "maxLength": 4096}


def _schema(properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties or {}, "required": list(required),
            "additionalProperties": False}


def _result(data: Any, text: str = "") -> ToolResult:
    """A structured result; its ``text`` goes into it too (as ``message``): some hosts (Claude Code) show
    the model only the structured content when there is one."""
    out = dict(data) if isinstance(data, dict) else {"result": data}
    if text:
        out.setdefault("message", text)
    return ToolResult(text, out)


class OpsTools:
    """The tools, each one REST call (or two) to cao-server, made off the event loop."""

    def __init__(self, settings: Settings, cwd: str) -> None:
        self.settings = settings
        self.cwd = cwd
        self._api: ApiClient | None = None

    def _request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                 timeout: float = 30.0) -> Any:
        if self._api is None:
            # Imported at the first tool call, not at start: http.client and subprocess are a third of the
            # start-up, and an MCP host spawns this server (and lists its tools) long before it calls one.
            from cao.client import ApiClient

            api = ApiClient(self.settings)
            api.ensure_server(auto_start=self.settings.auto_start)
            self._api = api
        return self._api.request(method, path, params=params, body=body, timeout=timeout)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._request, method, path, **kwargs)

    # -- profiles -----------------------------------------------------------------------------
    async def list_profiles(self, _args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        return _result({"profiles": await self.call("GET", "/agents/profiles")})

    async def get_profile_details(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        name = validation.name(args["name"], "agent profile name")
        return _result(await self.call("GET", f"/agents/profiles/{name}"))

    async def install_profile(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        source = args["source"].strip()
        if source and "://" not in source and not validation.NAME.fullmatch(source):
            source = str(Path(self.cwd, source).expanduser())  # a file: relative to the outside agent's cwd
        done = await self.call("POST", "/agents/profiles", body={"source": source}, timeout=60)
        return _result(done, f"{'Replaced' if done['replaced'] else 'Installed'} agent profile '{done['name']}'.")

    # -- sessions -----------------------------------------------------------------------------
    async def launch_session(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        profile = validation.name(args["agent_profile"], "agent profile name")
        message = args.get("initial_message") or args.get("prompt")
        if message:
            validation.message(message)  # before anything is started
        params = {"agent_profile": profile, "provider": args.get("provider"), "model": args.get("model"),
                  "working_directory": args.get("working_directory") or self.cwd,
                  "session_name": validation.session_name(args["session_name"]) if args.get("session_name") else None,
                  "yolo": "true" if args.get("yolo") else None}
        terminal = await self.call("POST", "/sessions", params=params, timeout=LAUNCH_TIMEOUT_S)
        out: dict[str, Any] = {"success": True, "session_name": terminal["session_name"],
                               "terminal_id": terminal["id"], "provider": terminal["provider"],
                               "status": terminal["status"], "turn": None}
        text = f"Session '{terminal['session_name']}' launched: terminal {terminal['id']} ({profile})."
        if message:
            sent = await self.call("POST", f"/terminals/{terminal['id']}/input", body={"message": message})
            out["turn"] = sent["turn"]
            text += " The initial message was typed in; wait_for_session tells when the agent is done."
        return _result(out, text)

    async def list_sessions(self, _args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        return _result({"sessions": await self.call("GET", "/sessions")})

    async def get_session_info(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        return _result(await self.call("GET", f"/sessions/{validation.session_name(args['session_name'])}"))

    async def wait_for_session(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        name = validation.session_name(args["session_name"])
        timeout = float(args.get("timeout") or 600)
        detail = await self.call("GET", f"/sessions/{name}/wait", params={"timeout": timeout}, timeout=timeout + 10)
        return _result(detail, f"Session '{name}' is quiet: no agent works and no message is pending.")

    async def shutdown_session(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        return _result(await self.call("DELETE", f"/sessions/{validation.session_name(args['session_name'])}",
                                       timeout=60))

    # -- terminals ----------------------------------------------------------------------------
    async def send_session_message(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        terminal_id = validation.terminal_id(args["terminal_id"])
        queued = await self.call("POST", f"/terminals/{terminal_id}/inbox/messages",
                                 body={"message": validation.message(args["message"])})
        return _result(queued, f"Message {queued['message_id']} queued for terminal {terminal_id} (from user); "
                               "it is typed in when the agent is ready.")

    async def get_terminal_status(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        return _result(await self.call("GET", f"/terminals/{validation.terminal_id(args['terminal_id'])}"))

    async def get_terminal_output(self, args: dict[str, Any], _ctx: CallContext) -> str:
        terminal_id = validation.terminal_id(args["terminal_id"])
        found = await self.call("GET", f"/terminals/{terminal_id}/output", params={"mode": args.get("mode", "last")})
        return found["output"]

    async def read_session_output(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult | str:
        terminal_id, session = args.get("terminal_id"), args.get("session_name")
        if bool(terminal_id) == bool(session):
            raise InvalidInput("give either terminal_id or session_name")
        if session:
            name = validation.session_name(session)
            terminals = (await self.call("GET", f"/sessions/{name}"))["terminals"]
            if len(terminals) != 1:
                listed = [{"terminal_id": t["id"], "agent_profile": t["agent_profile"], "status": t["status"]}
                          for t in terminals]
                return _result({"session_name": name, "terminals": listed},
                               f"Session '{name}' has {len(terminals)} terminals: give terminal_id to read one.")
            terminal_id = terminals[0]["id"]
        terminal_id = validation.terminal_id(terminal_id)
        mode = args.get("mode", "full")
        output = (await self.call("GET", f"/terminals/{terminal_id}/output", params={"mode": mode}))["output"]
        limit = args.get("max_chars")
        if limit is not None and len(output) > limit:
            return f"[{len(output) - limit} earlier characters left out]\n{output[-limit:]}"
        return output

    # -- flows --------------------------------------------------------------------------------
    async def list_flows(self, _args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        return _result({"flows": await self.call("GET", "/flows")})

    async def run_flow(self, args: dict[str, Any], _ctx: CallContext) -> ToolResult:
        name = validation.name(args["name"], "flow name")
        wait = bool(args.get("wait"))
        return _result(await self.call("POST", f"/flows/{name}/run", params={"wait": "true" if wait else None},
                                       timeout=3600 if wait else 60))

    def definitions(self) -> list[Tool]:
        t = Tool
        return [
            t("list_profiles", "List the agent profiles cao can launch (name, description, provider).",
              _schema(), guard(self.list_profiles)),
            t("get_profile_details", "Show one agent profile: its settings and its system prompt.",
              _schema({"name": {"type": "string", "maxLength": 64}}, ("name",)), guard(self.get_profile_details)),
            t("install_profile", "Install an agent profile from a built-in name, a .md file or an https URL.",
              _schema({"source": OPTIONAL_TEXT}, ("source",)), guard(self.install_profile)),
            t("launch_session", "Start a new session with one agent (waits until it is ready); with "
              "initial_message, type that task in at once.",
              _schema({"agent_profile": {"type": "string", "maxLength": 64}, "provider": OPTIONAL_TEXT,
                       "session_name": SESSION, "working_directory": OPTIONAL_TEXT, "model": OPTIONAL_TEXT,
                       "initial_message": {"type": "string"},
                       "prompt": {"type": "string", "description": "the same as initial_message"},
                       "yolo": {"type": "boolean", "description": "let the agent run every tool unasked"}},
                      ("agent_profile",)), guard(self.launch_session)),
            t("send_session_message", "Queue a message (from user) for an agent; it is typed in when the agent "
              "is ready.", _schema({"terminal_id": TERMINAL, "message": {"type": "string"}},
                                   ("terminal_id", "message")), guard(self.send_session_message)),
            t("read_session_output", "Read an agent's output, by terminal_id or by session_name (a session with "
              "several agents lists them instead).",
              _schema({"terminal_id": TERMINAL, "session_name": SESSION, "mode": MODE,
                       "max_chars": {"type": "integer", "minimum": 1}}), guard(self.read_session_output)),
            t("get_terminal_status", "One terminal: its status (idle, processing, completed, "
              "waiting_user_answer, error), profile, provider and session.",
              _schema({"terminal_id": TERMINAL}, ("terminal_id",)), guard(self.get_terminal_status)),
            t("get_terminal_output", "One terminal's output: its last reply (mode last, the default) or its "
              "recent screen (full).", _schema({"terminal_id": TERMINAL, "mode": MODE}, ("terminal_id",)),
              guard(self.get_terminal_output)),
            t("list_sessions", "List cao's sessions with their conductor's status.", _schema(),
              guard(self.list_sessions)),
            t("get_session_info", "One session: every terminal in it, their statuses and who created whom.",
              _schema({"session_name": SESSION}, ("session_name",)), guard(self.get_session_info)),
            t("wait_for_session", "Wait until no agent in the session works and no message is pending "
              "(then read the output).", _schema({"session_name": SESSION, "timeout": {
                  "type": "number", "minimum": 1, "maximum": 86400, "description": "seconds (default 600)"}},
                  ("session_name",)), guard(self.wait_for_session)),
            t("shutdown_session", "Stop a session: its agents exit and their windows close (scrollback is kept).",
              _schema({"session_name": SESSION}, ("session_name",)), guard(self.shutdown_session)),
            t("list_flows", "List scheduled flows: schedule, agent, last and next run.", _schema(),
              guard(self.list_flows)),
            t("run_flow", "Run a flow now; with wait, return when the run has finished.",
              _schema({"name": {"type": "string", "maxLength": 64}, "wait": {"type": "boolean"}}, ("name",)),
              guard(self.run_flow)),
        ]


def guard(handler):  # type: ignore[no-untyped-def]
    """cao's errors (bad input, not found, server down) become tool errors the agent can read.

    The same as ``cao.mcp.tools.guard``, which cannot be imported here: that module brings the server's
    services with it (a slow start for a process an outside agent spawns)."""
    async def call(args: dict[str, Any], ctx: CallContext) -> ToolResult | str:
        try:
            return await handler(args, ctx)
        except CaoError as exc:
            raise ToolError(str(exc)) from exc

    return call


def server(settings: Settings, cwd: str) -> Server:
    tools = OpsTools(settings, cwd).definitions()
    return Server(name="cao-ops", version=__version__, instructions=INSTRUCTIONS, tools_for=lambda _p: tools)


def main() -> None:
    inside = os.environ.get("CAO_MCP_TOKEN") or os.environ.get("CAO_TERMINAL_ID")
    if inside:
        print("cao-ops-mcp-server: this is a cao terminal (CAO_TERMINAL_ID/CAO_MCP_TOKEN is set); the ops server "
              "acts as the owner and is for an agent outside cao. Agents in cao use cao's own tools.",
              file=sys.stderr)
        raise SystemExit(2)
    try:
        settings = Settings.from_env()
    except CaoError as exc:
        print(f"cao-ops-mcp-server: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    with contextlib.suppress(KeyboardInterrupt):
        serve_stdio(server(settings, os.getcwd()))


if __name__ == "__main__":
    main()
