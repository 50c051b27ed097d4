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

from cao import __version__
from cao.errors import CaoError
from cao.server.routes import agents, health, orchestration, sessions, terminals
from cao.server.security import LocalOnlyMiddleware, extra_allowed_hosts
from cao.services import terminals as terminal_service
from cao.services.adoption import adopt_terminals
from cao.services.runtime import Runtime
from cao.settings import Settings

log = logging.getLogger(__name__)
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

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        begun = time.perf_counter()
        rt = Runtime.start(settings)
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
        if pid_file:
            pid_file.write_text(str(os.getpid()))
        log.info("start-up work took %.0f ms (re-adopting %d terminal(s): %.0f ms)",
                 (time.perf_counter() - begun) * 1000, adopted, (time.perf_counter() - started) * 1000)
        try:
            yield
        finally:
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
    for module in (health, sessions, terminals, orchestration, agents):
        app.include_router(module.router)

    @app.exception_handler(CaoError)
    async def cao_error(_request: Request, exc: CaoError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})

    app.add_middleware(LocalOnlyMiddleware, allowed_hosts=extra_allowed_hosts())
    return app
