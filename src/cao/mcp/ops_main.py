"""``cao-ops-mcp-server``'s entry point: ``cao.mcp.ops`` without OpenSSL.

The ops server speaks plain HTTP to cao-server on this machine, never TLS, but importing asyncio loads
OpenSSL for asyncio's TLS support all the same: about a fifth of the ops server's start here (~20 ms
of ~110 ms, spawn → tools listed). With ``ssl`` marked absent, asyncio and http.client do without it.
"""

from __future__ import annotations

import sys


def main() -> None:
    if "ssl" not in sys.modules:
        sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` now raises ImportError
    from cao.mcp.ops import main as serve

    serve()


if __name__ == "__main__":
    main()
