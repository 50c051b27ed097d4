"""The app factory: routers, security middleware, error conversion, and the runtime's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Scope

from cao import __version__
from cao.errors import CaoError
from cao.mcp import memory_tools, skill_tools, tools  # noqa: F401  (importing a tools module registers its tools)
from cao.mcp.http import McpHttpApp
from cao.plugins.host import PluginHost
from cao.private_files import tighten, write_private
from cao.providers.base import CAO_MCP_PATH
from cao.server.auth import OwnerAuthMiddleware, principal_of
from cao.server.routes import (
    agents,
    auth,
    events,
    flows,
    health,
    memory,
    orchestration,
    plugins,
    sessions,
    skills,
    teams,
    terminals,
    web,
)
from cao.server.security import LocalOnlyMiddleware, extra_allowed_hosts
from cao.services import skills as skill_service
from cao.services import terminals as terminal_service
from cao.services.adoption import adopt_terminals
from cao.services.flows.service import Flows
from cao.services.identity import Identities, Principal, load_or_create_api_token
from cao.services.inbox import Inbox
from cao.services.memory import prompt as memory_prompt  # noqa: F401  (registers memory's prompt part)
from cao.services.memory import service as memory_service
from cao.services.runtime import Runtime
from cao.services.skills import catalog
from cao.settings import Settings
from cao.teams import hooks as team_hooks

log = logging.getLogger(__name__)
SEAMS = (skill_tools, catalog)  # imported for what they register: load_skill, the skills catalog
RECONCILE_INTERVAL_S = 3.0


async def _reconcile_forever(rt: Runtime) -> None:
    while True:
        await asyncio.sleep(RECONCILE_INTERVAL_S)
        try:
            await rt.engine.reconcile()
        except Exception:
            log.exception("reconciliation failed")


def create_app(settings: Settings | None = None, pid_file: Path | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    settings.ensure_dirs()
    tighten(settings.home)
    skill_service.seed(settings.home)  # built-in skills, never over a user's edits
    api_token = load_or_create_api_token(settings.api_token_file) if settings.auth else None
    identities = Identities(api_token)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.auth:
            log.warning("CAO_AUTH=off: any local user or program can use cao-server's API and type into your agents")
        begun = time.perf_counter()
        rt = Runtime.start(settings, identities)
        rt.inbox, rt.flows = Inbox(rt), Flows(rt)
        app.state.plugins = plugin_host = PluginHost()  # each plugin imports and runs on its own thread
        plugin_host.start(rt.bus, settings.home, select=os.environ.get("CAO_PLUGINS"),
                          session_of=lambda event: events.session_of(rt, event))
        identities.on_revoked.append(lambda principal: rt.background(mcp.end_sessions(principal)))
        for record in terminal_service.list_records(rt):
            if record.mcp_token and not record.exit_reason:
                identities.add_terminal(record.id, record.mcp_token)
        started = time.perf_counter()
        adopted, vanished = adopt_terminals(rt)  # stores the adopted statuses itself, in one transaction
        rt.engine.listeners.append(lambda monitor, previous: terminal_service.persist_status(rt, monitor, previous))
        if adopted or vanished:
            log.warning("re-adopted %d live terminal(s) in %.0f ms; %d had vanished", adopted,
                        (time.perf_counter() - started) * 1000, vanished)
        app.state.runtime = rt
        rt.engine.listeners.append(rt.inbox.on_status)
        reconciler = asyncio.create_task(_reconcile_forever(rt))
        sweeper = asyncio.create_task(rt.inbox.sweep_forever())
        rt.inbox.pump_all()
        rt.flows.start()
        memory_service.start(rt)
        rt.background(team_hooks.run(rt))  # the team members' hooks (docs/teams.md#hooks)
        if pid_file:
            write_private(pid_file, str(os.getpid()))
        log.info("start-up work took %.0f ms (re-adopting %d terminal(s): %.0f ms)",
                 (time.perf_counter() - begun) * 1000, adopted, (time.perf_counter() - started) * 1000)
        try:
            yield
        finally:
            await rt.flows.stop()
            await mcp.close()
            await plugin_host.stop()
            reconciler.cancel()
            sweeper.cancel()
            rt.engine.close_all()
            rt.registry.flush()
            rt.db.dispose()
            if pid_file:
                with contextlib.suppress(FileNotFoundError):
                    pid_file.unlink()

    app = FastAPI(title="cao-server", version=__version__, lifespan=lifespan,
                  description="Local orchestrator for AI coding CLIs running in tmux.")
    app.state.api_token = api_token
    for module in (health, auth, sessions, terminals, orchestration, agents, flows, events, memory, plugins, web,
                   teams, skills):
        app.include_router(module.router)
    mcp = _mcp_endpoint(app)
    app.router.routes.append(Route(CAO_MCP_PATH, mcp, include_in_schema=False))
    app.mount("/ui", web.static_app(), name="ui")

    @app.exception_handler(CaoError)
    async def cao_error(_request: Request, exc: CaoError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})

    # Added last, runs first: a foreign Host or Origin is refused before any credential is looked at.
    app.add_middleware(OwnerAuthMiddleware, identities=identities)
    app.add_middleware(LocalOnlyMiddleware, allowed_hosts=extra_allowed_hosts())
    return app


def _mcp_endpoint(app: FastAPI) -> McpHttpApp:
    """cao's agent tools over MCP's streamable HTTP transport; the caller is the terminal of the token."""
    def authenticate(scope: Scope) -> Principal | None:
        principal = principal_of(scope)
        return principal if principal is not None and not principal.is_owner else None

    return McpHttpApp(
        name="cao", version=__version__, instructions=tools.INSTRUCTIONS, authenticate=authenticate,
        tools_for=lambda principal: tools.tools_for(app.state.runtime, principal),
        on_tools_listed=lambda principal: tools.tools_listed(app.state.runtime, principal))
