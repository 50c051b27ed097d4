from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel

from cao import validation
from cao.doctor import all_providers
from cao.profiles import AgentProfile, list_profiles, load_profile
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
    verified: bool = True  # False: an untested provider, written from the CLI's documentation only


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
