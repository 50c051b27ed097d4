from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from cao import validation
from cao.doctor import all_providers
from cao.errors import InvalidInput
from cao.profile_install import MAX_PROFILE_BYTES, install_profile, install_text
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


class InstallBody(BaseModel):
    """One of: ``source`` (what ``cao install`` takes: a built-in name, an absolute .md path or an https
    URL), ``url`` (https only), or ``content`` with its ``filename`` (an uploaded .md file)."""
    source: str | None = Field(default=None, max_length=4096)
    url: str | None = Field(default=None, max_length=2048)
    content: str | None = Field(default=None, max_length=MAX_PROFILE_BYTES)
    filename: str | None = Field(default=None, max_length=255)


class Installed(BaseModel):
    name: str
    path: str
    source_kind: str
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
async def install(rt: RuntimeDep, body: Annotated[InstallBody | None, Body()] = None,
                  source: Annotated[str | None, Query(max_length=4096, description="compatibility form")] = None,
                  ) -> Installed:
    """``cao install`` over HTTP (and the web UI's upload): validated completely before the atomic write, so a
    bad source stores nothing."""
    body = body or InstallBody(source=source)
    given = [field for field in ("source", "url", "content") if getattr(body, field) is not None]
    if len(given) != 1:
        raise InvalidInput('give one of {"source": NAME | /absolute/file.md | https://...}, {"url": "https://..."} '
                           'or {"content": ..., "filename": "name.md"}')
    if body.content is not None:
        result = install_text(body.content, body.filename or "profile.md", rt.settings.home)
    else:
        text = (body.source or body.url or "").strip()
        if body.url is not None and not text.lower().startswith("https://"):
            raise InvalidInput(f"{validation.shown(text)} is not an https:// URL")
        if "://" not in text and not NAME.fullmatch(text) and not Path(text).expanduser().is_absolute():
            raise InvalidInput(f"{validation.shown(text)} is a relative path: give the profile file's absolute path "
                               "(the server does not share your working directory)")
        result = await asyncio.to_thread(install_profile, text, rt.settings.home)
    return Installed(name=result.name, path=str(result.path), source_kind=result.source_kind,
                     replaced=result.replaced, warnings=result.warnings)


@router.get("/providers")
async def providers() -> list[ProviderInfo]:
    """Every provider: whether its binary is installed, its version, and whether cao was tested with it."""
    statuses = await asyncio.to_thread(all_providers)
    return [ProviderInfo(**{**status.as_dict(), "tested_versions": list(status.tested_versions)})
            for status in statuses]

