"""``cao mcp-server``: the same as ``cao-mcp-server``."""

from __future__ import annotations

import click


@click.command(name="mcp-server")
def mcp_server() -> None:
    """Bridge stdio MCP to cao-server's MCP endpoint (needs CAO_MCP_TOKEN)."""
    from cao.mcp.server import main

    main()
