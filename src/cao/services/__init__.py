"""The behaviour of cao: plain functions over a ``Runtime``, called by the API (and later MCP, flows)."""
