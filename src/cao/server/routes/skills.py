"""``GET /skills`` and ``GET /skills/{name}``: the skill store, as agents' catalogs see it (docs/skills.md)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from cao.server.deps import RuntimeDep
from cao.services import skills as service

router = APIRouter(prefix="/skills", tags=["skills"])


class SkillSummary(BaseModel):
    name: str
    description: str
    origin: str  # built-in | built-in, edited | local
    valid: bool
    error: str | None = None


class SkillDetail(BaseModel):
    name: str
    description: str
    content: str  # SKILL.md as written
    files: list[str]  # the folder's other files, relative to it
    path: str


@router.get("")
async def list_skills(rt: RuntimeDep) -> list[SkillSummary]:
    home = rt.settings.home
    manifest = service.seeded_hashes(home)
    return [SkillSummary(name=s.name, description=s.description, valid=s.valid, error=s.error,
                         origin=service.origin(home, s.name, s.path, manifest)) for s in service.list_skills(home)]


@router.get("/{name}")
async def get_skill(rt: RuntimeDep, name: str) -> SkillDetail:
    skill = service.show(rt.settings.home, name)
    return SkillDetail(name=skill.name, description=skill.description, content=skill.content, files=skill.files,
                       path=str(skill.path))
