"""``cao ops-mcp-server``: the same as ``cao-ops-mcp-server``."""

from __future__ import annotations

import click


@click.command(name="ops-mcp-server")
def ops_mcp_server() -> None:
    """Serve cao's control plane (launch, message, read, shut down) as MCP tools over stdio, as the owner."""
    from cao.mcp.ops_main import main

    main()
