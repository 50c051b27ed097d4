"""``cao model-server``: a scripted stand-in for the model APIs, for offline rehearsals and tests."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="model-server")
@click.option("--script", "script_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON or YAML rules (see docs/model-server.md); re-read when it changes.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Append every request (JSON lines) to this file.")
def model_server(script_path: Path | None, port: int, log_path: Path | None) -> None:
    """Serve Anthropic, OpenAI Responses and Gemini APIs from a script, on 127.0.0.1."""
    import uvicorn

    from cao.model_server.app import create_app
    from cao.model_server.rules import Script

    if script_path is not None:
        Script.load(script_path)  # fail now, with the rule that is wrong
    uvicorn.run(create_app(script_path, log_path), host="127.0.0.1", port=port, log_level="warning")
