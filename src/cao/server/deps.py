from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from cao.services.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
TerminalId = Annotated[str, Path(pattern=r"^[a-f0-9]{8}$", description="8 lowercase hex characters")]
SessionName = Annotated[str, Path(max_length=68, description="session name, with or without 'cao-'")]
