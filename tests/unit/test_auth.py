"""The owner's token on the API, terminals' tokens only on /mcp, one-time login codes (a real ASGI app)."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cao.server.auth import OwnerAuthMiddleware, principal_of
from cao.services.identity import COOKIE_NAME, Identities, load_or_create_api_token

OWNER_TOKEN = "o" * 43
TERMINAL_TOKEN = "t" * 43


def make_client(identities: Identities) -> TestClient:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/sessions")
    @app.post("/mcp")
    def who(request: Request) -> dict[str, str | None]:
        principal = principal_of(request.scope)
        return {"who": None if principal is None else principal.sender_id}

    app.add_middleware(OwnerAuthMiddleware, identities=identities)
    return TestClient(app, base_url="http://127.0.0.1:9889")


def identities() -> Identities:
    ids = Identities(OWNER_TOKEN)
    ids.add_terminal("abcd0123", TERMINAL_TOKEN)
    return ids


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_is_open_and_everything_else_needs_the_owner_token() -> None:
    client = make_client(identities())
    assert client.get("/health").status_code == 200
    response = client.get("/sessions")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "api-token" in response.json()["detail"]
    assert client.get("/sessions", headers=bearer("wrong")).status_code == 401
    assert client.get("/sessions", headers=bearer(OWNER_TOKEN)).json() == {"who": "user"}


def test_a_terminal_token_opens_only_mcp_and_names_that_terminal() -> None:
    client = make_client(identities())
    response = client.get("/sessions", headers=bearer(TERMINAL_TOKEN))
    assert response.status_code == 403
    assert "/mcp" in response.json()["detail"]
    assert client.post("/mcp", headers=bearer(TERMINAL_TOKEN)).json() == {"who": "abcd0123"}
    assert client.post("/mcp", headers=bearer("forged")).json() == {"who": None}  # /mcp answers 401 itself


def test_a_removed_terminal_token_is_worthless() -> None:
    ids = identities()
    ids.remove_terminal("abcd0123")
    assert make_client(ids).post("/mcp", headers=bearer(TERMINAL_TOKEN)).json() == {"who": None}


def test_the_cookie_carries_only_the_owner() -> None:
    client = make_client(identities())
    client.cookies.set(COOKIE_NAME, OWNER_TOKEN)
    assert client.get("/sessions").json() == {"who": "user"}
    client.cookies.set(COOKIE_NAME, TERMINAL_TOKEN)
    assert client.get("/sessions").status_code == 401


def test_without_auth_everyone_is_the_owner() -> None:
    assert make_client(Identities(None)).get("/sessions").json() == {"who": "user"}


def test_a_login_code_works_once() -> None:
    ids = identities()
    code = ids.new_login_code()
    assert not ids.redeem_login_code("not-a-code")
    assert ids.redeem_login_code(code)
    assert not ids.redeem_login_code(code)


def test_the_api_token_file_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "run" / "api-token"
    token = load_or_create_api_token(path)
    assert len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    assert load_or_create_api_token(path) == token  # kept across restarts
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # and made private again
