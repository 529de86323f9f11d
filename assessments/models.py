"""Assessments and the scenario versions they pin."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Enum, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Scope
from database import Base, Model, PublicIdMixin
from positions.models import Position
from scenarios.models import Competency, ScenarioVersion


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


reported_competency = Table(
    "assessment_competency",
    Base.metadata,
    Column("assessment_id", ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True),
    Column("competency_id", ForeignKey("competency.id", ondelete="RESTRICT"), primary_key=True),
)


class Assessment(PublicIdMixin, Model):
    """A test for one position: pinned scenario versions, order, time limit, instructions, scoring overrides."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(160), nullable=False)
    instructions: Mapped[str] = mapped_column(Text, nullable=False, default="")
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    randomize_order: Mapped[bool] = mapped_column(nullable=False, default=False)
    practice_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenario_version.id", ondelete="RESTRICT"), nullable=True
    )
    # Scoring rule per response format, overriding each item's own rule; pinned at publishing.
    rule_overrides: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[AssessmentStatus] = mapped_column(
        Enum(AssessmentStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s]),
        nullable=False,
        default=AssessmentStatus.DRAFT,
    )
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    position: Mapped[Position] = relationship()
    practice_version: Mapped[ScenarioVersion | None] = relationship()
    items: Mapped[list[AssessmentItem]] = relationship(
        back_populates="assessment", order_by="AssessmentItem.position", cascade="all, delete-orphan"
    )
    reported: Mapped[list[Competency]] = relationship(secondary=reported_competency, order_by=Competency.position)

    __table_args__ = (
        CheckConstraint("time_limit_minutes IS NULL OR time_limit_minutes BETWEEN 1 AND 240", name="time_limit"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class AssessmentItem(PublicIdMixin, Model):
    """A scenario version placed in an assessment, at a position."""

    __tablename__ = "assessment_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version_id: Mapped[int] = mapped_column(ForeignKey("scenario_version.id", ondelete="RESTRICT"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    assessment: Mapped[Assessment] = relationship(back_populates="items")
    version: Mapped[ScenarioVersion] = relationship()

    __table_args__ = (UniqueConstraint("assessment_id", "version_id"),)
