from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from cao.server.auth import principal_of
from cao.services.identity import OWNER, Principal
from cao.services.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_principal(request: Request) -> Principal:
    return principal_of(request.scope) or OWNER  # the auth middleware let only the owner reach the routes


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
TerminalId = Annotated[str, Path(pattern=r"^[a-f0-9]{8}$", description="8 lowercase hex characters")]
SessionName = Annotated[str, Path(max_length=68, description="session name, with or without 'cao-'")]
