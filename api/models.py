"""API keys: an agency's credentials for its applicant-tracking system, stored as hashes only."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Agency, Scope, User
from database import Model, PublicIdMixin


class ApiScope(enum.StrEnum):
    READ = "read"
    WRITE = "write"  # read and write

    @property
    def label(self) -> str:
        return {"read": "Read only", "write": "Read and write"}[self.value]


class ApiKey(PublicIdMixin, Model):
    """One key: shown once at creation as ``rpk_<prefix>_<secret>``; only the prefix and a SHA-256 are kept."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    secret_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    scope: Mapped[ApiScope] = mapped_column(
        Enum(ApiScope, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s]),
        nullable=False,
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)

    agency: Mapped[Agency] = relationship()
    created_by: Mapped[User | None] = relationship()

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, needed: ApiScope) -> bool:
        return needed is ApiScope.READ or self.scope is ApiScope.WRITE

    def as_scope(self) -> Scope:
        """What the key may see: its agency, every client of it."""
        return Scope(self.agency_id, None)

    def __repr__(self) -> str:  # never the hash
        return f"<ApiKey {self.prefix} {self.scope.value}>"
