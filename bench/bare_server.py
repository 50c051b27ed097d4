"""cao-server without its HTTP middleware, only to measure what the middleware costs (bench/compare.py)."""

from __future__ import annotations

import sys

import uvicorn

from cao.server.app import create_app
from cao.settings import Settings

if __name__ == "__main__":
    settings = Settings.from_env()
    settings.ensure_dirs()
    app = create_app(settings)
    app.user_middleware = []  # what app.add_middleware registered
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
