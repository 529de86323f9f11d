"""Candidates: the people an agency invites to take assessments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Scope
from database import Model, PublicIdMixin


class Candidate(PublicIdMixin, Model):
    """A person invited by an agency; one record per email address within an agency."""

    __tablename__ = "candidate"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (UniqueConstraint("agency_id", "email"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]
