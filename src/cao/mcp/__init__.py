"""cao's MCP pieces: a lean stdio JSON-RPC server and client (see protocol.py for why lean)."""
