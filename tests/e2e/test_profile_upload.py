"""``POST /agents/profiles``: the web UI's way to install a profile (an uploaded file or an https URL)."""

from __future__ import annotations

import pytest

from cao.client import ApiClient
from cao.errors import InvalidInput
from cao.settings import Settings

PROFILE = "---\ndescription: Uploaded\nprovider: mock\n---\nYou help.\n"


def test_an_uploaded_profile_is_installed_and_listed(api: ApiClient, settings: Settings) -> None:
    installed = api.request("POST", "/agents/profiles", body={"content": PROFILE, "filename": "helper_x.md"})
    assert installed == {"name": "helper_x", "replaced": False, "warnings": [], "source_kind": "upload",
                         "path": str(settings.home / "agent-store" / "helper_x.md")}
    assert (settings.home / "agent-store" / "helper_x.md").read_text() == PROFILE
    assert "helper_x" in {p["name"] for p in api.get("/agents/profiles")}
    again = api.request("POST", "/agents/profiles", body={"content": PROFILE, "filename": "helper_x.md"})
    assert again["replaced"] is True


@pytest.mark.parametrize(("body", "error"), [
    ({"content": "no frontmatter", "filename": "broken.md"}, "broken.md"),
    ({"content": PROFILE, "filename": "helper.txt"}, "not a .md file"),
    ({"url": "http://example.invalid/a.md"}, "not an https:// URL"),
    ({"url": "/etc/passwd"}, "not an https:// URL"),
    ({}, "give one of"),
    ({"url": "https://example.invalid/a.md", "content": PROFILE}, "give one of"),
])
def test_a_bad_install_is_refused_and_writes_nothing(api: ApiClient, settings: Settings, body: dict,
                                                     error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        api.request("POST", "/agents/profiles", body=body)
    store = settings.home / "agent-store"
    assert not store.exists() or not list(store.glob("*.md"))
