"""The stored memory (DDL in ``cao.migrations``, m004) and the shape the API and the tools return."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from cao.models import utcnow


class MemoryRecord(SQLModel, table=True):
    __tablename__ = "memories"
    id: int | None = Field(default=None, primary_key=True)
    scope: str
    scope_id: str
    key: str
    content: str
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Memory(BaseModel):
    key: str
    scope: str
    scope_id: str  # "" for global; the project id, session name or profile name otherwise
    content: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    score: float | None = None  # recall only: higher is more relevant

    @classmethod
    def of(cls, record: MemoryRecord, score: float | None = None) -> Memory:
        return cls(key=record.key, scope=record.scope, scope_id=record.scope_id, content=record.content,
                   created_by=record.created_by, created_at=_utc(record.created_at),
                   updated_at=_utc(record.updated_at), score=score)


def _utc(value: datetime) -> datetime:
    """SQLite gives datetimes back without their zone; cao stores UTC only."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
