from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cao import validation
from cao.doctor import all_providers
from cao.errors import InvalidInput
from cao.profile_install import MAX_PROFILE_BYTES, install_profile, install_text
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


class InstallBody(BaseModel):
    """Either ``url`` (https only), or ``content`` with its ``filename`` (an uploaded .md file)."""
    url: str | None = Field(default=None, max_length=2048)
    content: str | None = Field(default=None, max_length=MAX_PROFILE_BYTES)
    filename: str | None = Field(default=None, max_length=255)


class Installed(BaseModel):
    name: str
    replaced: bool
    warnings: list[str]


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


@router.post("/profiles", status_code=201)
async def install(rt: RuntimeDep, body: InstallBody) -> Installed:
    """Install a profile into the local store, validated before anything is written (as `cao install`)."""
    if (body.url is None) == (body.content is None):
        raise InvalidInput('give either {"url": "https://..."} or {"content": ..., "filename": "name.md"}')
    if body.url is not None:
        if not body.url.strip().lower().startswith("https://"):
            raise InvalidInput(f"{body.url[:80]!r} is not an https:// URL")
        result = await asyncio.to_thread(install_profile, body.url, rt.settings.home)
    else:
        result = install_text(body.content or "", body.filename or "profile.md", rt.settings.home)
    return Installed(name=result.name, replaced=result.replaced, warnings=result.warnings)


@router.get("/providers")
async def providers() -> list[ProviderInfo]:
    """Every provider: whether its binary is installed, its version, and whether cao was tested with it."""
    statuses = await asyncio.to_thread(all_providers)
    return [ProviderInfo(**{**status.as_dict(), "tested_versions": list(status.tested_versions)})
            for status in statuses]
