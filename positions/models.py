"""Positions: the job a client is hiring for, and its job profile (skills-and-fit.md §4.2).

The profile is what the client signs off, in this order: responsibilities, required and desired skills,
people skills measured by the assessment, education, experience, industry, and the component weights of
the fit. Each change bumps ``profile_version``, which every fit shown or printed names.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Client, Scope
from database import Model, PublicIdMixin, UpdatedAtMixin
from scenarios.models import Competency

# The fit's components and their default weights (skills-and-fit.md §4.2); they sum to 1.
FIT_COMPONENTS: tuple[str, ...] = (
    "required_skills",
    "desired_skills",
    "people_skills",
    "experience",
    "education",
    "industry",
)
DEFAULT_FIT_WEIGHTS: dict[str, float] = {
    "required_skills": 0.35,
    "desired_skills": 0.10,
    "people_skills": 0.25,
    "experience": 0.15,
    "education": 0.10,
    "industry": 0.05,
}
INDUSTRY_MODES: tuple[str, ...] = ("none", "bonus", "required")
SKILL_KINDS: tuple[str, ...] = ("required", "desired")


class Position(UpdatedAtMixin, PublicIdMixin, Model):
    """A client's position: what the candidates are assessed for, with its job profile."""

    __tablename__ = "position"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(160), nullable=False)
    responsibilities: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    # The ESCO occupation the profile started from (taxonomy.vocabulary), if any.
    occupation_uri: Mapped[str | None] = mapped_column(String(200))
    education_min_level: Mapped[int | None] = mapped_column(Integer)
    # Years of relevant experience above the minimum that stand in for one missing ISCED level.
    education_substitution_years: Mapped[float | None] = mapped_column(Float)
    education_knockout: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    experience_min_years: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    experience_cap_years: Mapped[float | None] = mapped_column(Float)
    experience_knockout: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    industry_mode: Mapped[str] = mapped_column(String(10), nullable=False, default="none")
    # NACE Rev. 2 section letters, e.g. "Q" or "K,Q".
    industry_codes: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    fit_weights: Mapped[dict[str, float]] = mapped_column(
        JSON, nullable=False, default=lambda: dict(DEFAULT_FIT_WEIGHTS)
    )
    profile_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    client: Mapped[Client] = relationship()
    skills: Mapped[list[PositionSkill]] = relationship(
        back_populates="position", order_by="PositionSkill.id", cascade="all, delete-orphan"
    )
    competencies: Mapped[list[PositionCompetency]] = relationship(
        back_populates="position", order_by="PositionCompetency.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("education_min_level IS NULL OR education_min_level BETWEEN 0 AND 8", name="education_level"),
        CheckConstraint("experience_min_years >= 0", name="experience_min"),
        CheckConstraint("industry_mode IN ('none', 'bonus', 'required')", name="industry_mode"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria

    @property
    def responsibility_list(self) -> list[str]:
        return [line.strip() for line in self.responsibilities.splitlines() if line.strip()]

    @property
    def industry_code_list(self) -> list[str]:
        return [code for code in self.industry_codes.split(",") if code]


class PositionSkill(PublicIdMixin, Model):
    """A required or desired skill of a position: a vocabulary key, a minimum level 1-5 and a weight."""

    __touches__ = ("position",)
    __tablename__ = "position_skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"), nullable=False, index=True)
    skill_key: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    min_level: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    weight: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    knockout: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    position: Mapped[Position] = relationship(back_populates="skills")

    __table_args__ = (
        UniqueConstraint("position_id", "skill_key"),
        CheckConstraint("kind IN ('required', 'desired')", name="kind"),
        CheckConstraint("min_level BETWEEN 1 AND 5", name="min_level"),
        CheckConstraint("weight > 0 AND weight <= 3", name="weight"),
    )


class PositionCompetency(PublicIdMixin, Model):
    """A people skill the position asks for: the minimum provisional score (0-1) and a weight."""

    __touches__ = ("position",)
    __tablename__ = "position_competency"

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"), nullable=False, index=True)
    competency_id: Mapped[int] = mapped_column(ForeignKey("competency.id", ondelete="CASCADE"), nullable=False)
    min_score: Mapped[float] = mapped_column(Float, nullable=False, default=0.6)
    weight: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    knockout: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    position: Mapped[Position] = relationship(back_populates="competencies")
    competency: Mapped[Competency] = relationship()

    __table_args__ = (
        UniqueConstraint("position_id", "competency_id"),
        CheckConstraint("min_score > 0 AND min_score <= 1", name="min_score"),
        CheckConstraint("weight > 0 AND weight <= 3", name="weight"),
    )


class SkillTransfer(PublicIdMixin, Model):
    """A reviewed, directed transfer credit: holding ``from_skill`` counts ``credit`` toward ``to_skill``.

    Each agency keeps its own table, started from the reviewed rows shipped in taxonomy/data and edited by
    its admins; every change is audited. A missing row means no transfer credit.
    """

    __tablename__ = "skill_transfer"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    from_skill: Mapped[str] = mapped_column(String(300), nullable=False)
    to_skill: Mapped[str] = mapped_column(String(300), nullable=False)
    credit: Mapped[float] = mapped_column(Float, nullable=False)
    rationale: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(30), nullable=False, default="expert")
    reviewer: Mapped[str] = mapped_column(String(120), nullable=False)
    reviewed_on: Mapped[date] = mapped_column(Date, nullable=False)

    __table_args__ = (
        UniqueConstraint("agency_id", "from_skill", "to_skill"),
        CheckConstraint("credit > 0 AND credit <= 1", name="credit"),
        CheckConstraint("from_skill <> to_skill", name="directed"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]
