from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from cao import validation
from cao.doctor import all_providers
from cao.errors import InvalidInput
from cao.profile_install import install_profile
from cao.profiles import NAME, AgentProfile, list_profiles, load_profile
from cao.server.deps import RuntimeDep

router = APIRouter(prefix="/agents", tags=["agents"])


class ProfileSummary(BaseModel):
    name: str
    description: str
    source: str
    role: str | None
    provider: str | None
    loadable: bool
    error: str | None = None


class ProviderInfo(BaseModel):
    name: str
    binary: str
    installed: bool
    path: str | None
    version: str | None
    tested_versions: list[str]
    tested: bool | None  # whether the installed version is one cao was tested with
    install_hint: str


@router.get("/profiles")
async def profiles(rt: RuntimeDep) -> list[ProfileSummary]:
    return [ProfileSummary(name=p.name, description=p.description, source=p.source, role=p.role,
                           provider=p.provider, loadable=p.loadable, error=p.error)
            for p in list_profiles(rt.settings.home)]


@router.get("/profiles/{name}")
async def profile(rt: RuntimeDep, name: str) -> AgentProfile:
    return load_profile(validation.name(name, "agent profile name"), rt.settings.home)


@router.get("/providers")
async def providers() -> list[ProviderInfo]:
    """Every provider: whether its binary is installed, its version, and whether cao was tested with it."""
    statuses = await asyncio.to_thread(all_providers)
    return [ProviderInfo(**{**status.as_dict(), "tested_versions": list(status.tested_versions)})
            for status in statuses]


class InstallBody(BaseModel):
    source: str = Field(max_length=4096, description="a built-in profile's name, an absolute .md path, or an https URL")


class Installed(BaseModel):
    success: bool = True
    name: str
    path: str
    source_kind: str
    replaced: bool
    warnings: list[str]


@router.post("/profiles/install")
async def install(rt: RuntimeDep, body: Annotated[InstallBody | None, Body()] = None,
                  source: Annotated[str | None, Query(max_length=4096, description="compatibility form")] = None,
                  ) -> Installed:
    """``cao install`` over HTTP: validated completely before the atomic write, so a bad source stores nothing."""
    given = (body.source if body else source or "").strip()
    if given and "://" not in given and not NAME.fullmatch(given) and not Path(given).expanduser().is_absolute():
        raise InvalidInput(f"{validation.shown(given)} is a relative path: give the profile file's absolute path "
                           "(the server does not share your working directory)")
    result = await asyncio.to_thread(install_profile, given, rt.settings.home)
    return Installed(name=result.name, path=str(result.path), source_kind=result.source_kind,
                     replaced=result.replaced, warnings=result.warnings)
