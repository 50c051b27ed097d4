"""``cao mcp-server``: the same as ``cao-mcp-server``."""

from __future__ import annotations

import click


@click.command(name="mcp-server")
def mcp_server() -> None:
    """Run cao's MCP server for the agent in this terminal (stdio)."""
    from cao.mcp.server import main

    main()
