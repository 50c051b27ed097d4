"""The browser's way in: a one-time login URL becomes an HttpOnly cookie (the page never holds a token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from cao.server.deps import RuntimeDep
from cao.services.identity import COOKIE_NAME, LOGIN_CODE_TTL_S

router = APIRouter(tags=["auth"])


class LoginUrl(BaseModel):
    url: str
    expires_in: float


@router.post("/auth/login-url")
async def new_login_url(rt: RuntimeDep) -> LoginUrl:
    """A URL that signs a browser in once, within two minutes (the owner only; `cao info` prints one)."""
    if not rt.identities.auth_enabled:
        return LoginUrl(url=rt.settings.api_url + "/", expires_in=0)
    code = rt.identities.new_login_code()
    return LoginUrl(url=f"{rt.settings.api_url}/login?code={code}", expires_in=LOGIN_CODE_TTL_S)


@router.get("/login", include_in_schema=False)
async def login(request: Request, code: Annotated[str, Query(max_length=128)] = "") -> Response:
    rt = request.app.state.runtime
    if not rt.identities.auth_enabled:
        return RedirectResponse("/", status_code=303)
    if not code or not rt.identities.redeem_login_code(code):
        return JSONResponse(status_code=403, content={
            "detail": "this login link was already used or has expired; get a new one with: cao info"})
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE_NAME, request.app.state.api_token, httponly=True, samesite="strict", path="/")
    return response
