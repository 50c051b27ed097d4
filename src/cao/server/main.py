"""``cao-server [--host] [--port]``."""

from __future__ import annotations

import gc
import logging
import os
import socket
import sys
import time
from pathlib import Path

import click

from cao.settings import Settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
log = logging.getLogger("cao.server")
_LOADED = time.perf_counter()


def since_process_start() -> float:
    """Seconds since this process was started (Linux: from /proc; elsewhere since this module loaded)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _LOADED


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default=None, help="Address to bind (default CAO_API_HOST or 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default CAO_API_PORT or 9889).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def main(host: str | None, port: int | None, log_level: str) -> None:
    """Run the cao server: it owns tmux, the store and every terminal's status."""
    # The imports and the app build allocate a great many long-lived objects; the cyclic collector
    # would walk them again and again (~10-15% of the start). Collect never during them, then freeze
    # them out of every later collection.
    gc.disable()
    import uvicorn

    from cao.server import log_redaction
    from cao.server.app import create_app
    from cao.server.serve import Server

    imported = since_process_start()
    env = dict(os.environ)
    if host:
        env["CAO_API_HOST"] = host
    if port:
        env["CAO_API_PORT"] = str(port)
    settings = Settings.from_env(env)
    if settings.api_host not in LOOPBACK:
        click.echo(f"warning: binding {settings.api_host} exposes cao-server beyond this machine; "
                   "anyone who can reach it can run commands as you", err=True)
    _refuse_if_port_taken(settings)
    settings.ensure_dirs()
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("interpreter start and imports took %.0f ms", imported * 1000)
    app = create_app(settings, pid_file=settings.run_dir / "server.pid")
    gc.freeze()
    gc.enable()
    config = uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level=log_level,
                            access_log=log_level == "debug", http="httptools")
    log_redaction.install()  # uvicorn.Config has set its handlers up
    Server(config).run()


def _refuse_if_port_taken(settings: Settings) -> None:
    family = socket.AF_INET6 if ":" in settings.api_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.api_host, settings.api_port))
        except OSError as exc:
            click.echo(f"Error: cannot listen on {settings.api_host}:{settings.api_port} ({exc.strerror}); "
                       "is another cao-server running? Use --port or CAO_API_PORT to pick another port.",
                       err=True)
            sys.exit(1)


if __name__ == "__main__":
    main()
