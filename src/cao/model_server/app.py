"""The app: one router per vendor API, a request log, and a small control surface under /_cao."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from cao.model_server import anthropic, gemini, openai
from cao.model_server.rules import Exchange, Reply, ScriptFile


class RequestLog:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, exchange: Exchange, reply: Reply, path: str) -> None:
        entry = {"t": time.time(), "api": exchange.api, "path": path, "model": exchange.model,
                 "text": exchange.text, "tool_result": exchange.tool_result, "tools": exchange.tools,
                 "system": exchange.system, "reply_text": reply.text,
                 "reply_tool": reply.tool.name if reply.tool else None,
                 "reply_args": reply.tool.args if reply.tool else None, "error": reply.error}
        with self._lock:
            self.entries.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry) + "\n")


def create_app(script_path: Path | None = None, log_path: Path | None = None) -> FastAPI:
    app = FastAPI(title="cao scripted model server")
    app.state.script = ScriptFile(script_path)
    app.state.log = RequestLog(log_path)

    @app.get("/_cao/requests")
    def requests() -> list[dict[str, Any]]:
        return app.state.log.entries

    @app.get("/_cao/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for module in (anthropic, openai, gemini):
        app.include_router(module.router)
    return app
