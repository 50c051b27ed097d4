"""The loopback-only middleware, exercised through a real ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cao.server.security import LocalOnlyMiddleware


def make_client() -> TestClient:
    app = FastAPI()

    @app.get("/thing")
    def read() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/thing")
    def write() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(LocalOnlyMiddleware)
    return TestClient(app, base_url="http://127.0.0.1:9889")


def test_loopback_hosts_pass() -> None:
    client = make_client()
    for host in ("127.0.0.1:9889", "localhost:9889", "localhost", "[::1]:9889"):
        assert client.get("/thing", headers={"host": host}).status_code == 200, host


def test_foreign_host_is_refused_with_400() -> None:
    response = make_client().get("/thing", headers={"host": "evil.example:9889"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid host header"}


def test_cross_origin_write_is_refused_with_403() -> None:
    client = make_client()
    response = client.post("/thing", headers={"origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json()["detail"] == "Cross-origin request blocked"
    assert client.post("/thing", headers={"origin": "null"}).status_code == 403


def test_same_origin_and_originless_writes_pass() -> None:
    client = make_client()
    assert client.post("/thing").status_code == 200
    assert client.post("/thing", headers={"origin": "http://127.0.0.1:9889"}).status_code == 200


def test_cross_origin_reads_are_allowed() -> None:
    assert make_client().get("/thing", headers={"origin": "http://evil.example"}).status_code == 200
