"""The anthropic API of the scripted model server (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
