"""Positions: the job a client is hiring for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Client, Scope
from database import Model, PublicIdMixin


class Position(PublicIdMixin, Model):
    """A client's position: what the candidates are assessed for."""

    __tablename__ = "position"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(160), nullable=False)
    responsibilities: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    client: Mapped[Client] = relationship()

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria
