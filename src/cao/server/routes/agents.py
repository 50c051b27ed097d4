from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cao import validation
from cao.profiles import AgentProfile, list_profiles, load_profile
from cao.providers import get_provider, provider_names
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
    out = []
    for name in provider_names():
        provider = get_provider(name)
        out.append(ProviderInfo(name=name, binary=provider.binary, installed=provider.is_installed(),
                                install_hint=provider.package_hint))
    return out
