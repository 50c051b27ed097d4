"""The web UI's router without a runtime: the WebSocket's peer gate, the page's headers, and the page's
files (every module import and every asset the page names exists)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cao.server.routes import web
from cao.server.security import LocalOnlyMiddleware

WEB = web.web_dir()


def make_client() -> TestClient:
    app = FastAPI()
    app.include_router(web.router)
    app.mount("/ui", web.static_app())
    app.add_middleware(LocalOnlyMiddleware)
    return TestClient(app, base_url="http://127.0.0.1:9889")


def test_the_web_folder_is_the_repositorys() -> None:
    assert Path(__file__).resolve().parents[2] / "web" == WEB
    assert (WEB / "index.html").is_file()


def test_peers_are_loopback_unless_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAO_WS_ALLOWED_CLIENTS", raising=False)
    assert web.peer_allowed("127.0.0.1") and web.peer_allowed("::1")
    assert not web.peer_allowed("192.168.1.20") and not web.peer_allowed("")
    monkeypatch.setenv("CAO_WS_ALLOWED_CLIENTS", "192.168.1.20, 10.0.0.1")
    assert web.peer_allowed("192.168.1.20") and not web.peer_allowed("192.168.1.21")
    monkeypatch.setenv("CAO_WS_ALLOWED_CLIENTS", "*")
    assert web.peer_allowed("192.168.1.21")


def test_a_peer_that_is_not_loopback_is_closed_with_4003(monkeypatch: pytest.MonkeyPatch) -> None:
    """TestClient's peer is "testclient", not a loopback address."""
    monkeypatch.delenv("CAO_WS_ALLOWED_CLIENTS", raising=False)
    with pytest.raises(WebSocketDisconnect) as closed, \
            make_client().websocket_connect("/terminals/1f2e3d4c/ws", headers={"host": "127.0.0.1:9889"}):
        pass
    assert closed.value.code == 4003


def test_the_page_and_its_files_carry_the_security_headers() -> None:
    client = make_client()
    for path in ("/", "/ui/app.js", "/ui/style.css", "/ui/vendor/xterm/xterm.mjs"):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/ui/app.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert client.get("/ui/../pyproject.toml").status_code == 404


def test_every_import_and_asset_of_the_page_exists() -> None:
    html = (WEB / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="(/ui/[^"]+)"', html):
        assert (WEB / ref.removeprefix("/ui/")).is_file(), ref
    for module in WEB.rglob("*.js"):
        if "vendor" in module.parts:
            continue
        text = module.read_text()
        for ref in re.findall(r"""(?:from|import\()\s*['"](\.{1,2}/[^'"]+)['"]""", text):
            assert (module.parent / ref).resolve().is_file(), f"{module.relative_to(WEB)}: {ref}"
        assert "innerHTML" not in text, f"{module.relative_to(WEB)}: agent text must stay text"


def test_vendored_code_has_its_licence_and_version() -> None:
    import json

    for folder, name in (("xterm", "@xterm/xterm"), ("addon-fit", "@xterm/addon-fit")):
        package = json.loads((WEB / "vendor" / folder / "package.json").read_text())
        assert package["name"] == name
        assert "MIT" in (WEB / "vendor" / folder / "LICENSE").read_text()
        assert f"| `{name}` | {package['version']} |" in (WEB / "README.md").read_text()
