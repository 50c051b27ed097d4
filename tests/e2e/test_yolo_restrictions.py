"""``--yolo`` skips permission prompts; it never widens what a profile's tools allow (issue 8, item 5)."""

from __future__ import annotations

from pathlib import Path

from cao.client import ApiClient
from tests.helpers import launch


def test_yolo_keeps_the_profiles_allowed_tools(api: ApiClient, workdir: Path) -> None:
    asking = launch(api, workdir, profile="reviewer")
    yolo = api.request("POST", "/sessions/t1/terminals", timeout=60,
                       params={"agent_profile": "reviewer", "provider": "mock", "yolo": "true"})
    assert asking["allowed_tools"] == ["@builtin", "fs_read", "fs_list", "@cao-mcp-server"]
    assert yolo["allowed_tools"] == asking["allowed_tools"]
    assert api.get(f"/terminals/{yolo['id']}")["allowed_tools"] == asking["allowed_tools"]
