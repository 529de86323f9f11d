"""Candidates: the people an agency invites, and their profiles (skills-and-fit.md §4.3).

A profile holds skills (a vocabulary key once a recruiter confirms it, the words as given, a level 1-5,
the evidence and where it came from), education on the ISCED 2011 scale, experience (role, ESCO
occupation where known, employer industry, dates, share of full time, responsibilities) and languages.
Every row records its source: a recruiter, the candidate, a JSON Resume file or a CSV import.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Scope
from database import Model, PublicIdMixin, UpdatedAtMixin

# Where a profile row came from.
PROFILE_SOURCES: tuple[str, ...] = ("recruiter", "candidate", "json_resume", "csv")
# The evidence behind a skill level (skills-and-fit.md §4.3).
SKILL_EVIDENCE: dict[str, str] = {
    "cv": "CV",
    "self": "Self-declared",
    "certificate": "Certificate",
    "assessment": "Assessment",
    "interview": "Interview",
}


def name_key_for(name: str) -> str:
    """The sort and search key of a candidate's name: the name lowercased (Unicode, unlike SQLite's lower())."""
    return name.lower()


def _name_key_default(context: DefaultExecutionContext) -> str:
    # A Core or bulk INSERT that names no name_key (benchmarks, scripts) still stores the right one.
    return name_key_for(context.get_current_parameters()["name"])


class Candidate(UpdatedAtMixin, PublicIdMixin, Model):
    """A person invited by an agency; one record per email address within an agency."""

    __tablename__ = "candidate"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    # name_key_for(name), set whenever name is: the list sorts and searches on it through an index. Twice the
    # name's length, since lowercasing can lengthen a string ("İ" becomes two characters).
    name_key: Mapped[str] = mapped_column(String(240), nullable=False, default=_name_key_default)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    headline: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    profile_updated_at: Mapped[datetime | None] = mapped_column()
    # A legal hold (a dispute, a claim) blocks erasure, on request or by retention, until an admin clears it.
    legal_hold: Mapped[bool] = mapped_column(nullable=False, default=False)
    legal_hold_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    skills: Mapped[list[CandidateSkill]] = relationship(
        back_populates="candidate", order_by="CandidateSkill.id", cascade="all, delete-orphan"
    )
    education: Mapped[list[CandidateEducation]] = relationship(
        back_populates="candidate", order_by="CandidateEducation.id", cascade="all, delete-orphan"
    )
    experience: Mapped[list[CandidateExperience]] = relationship(
        back_populates="candidate", order_by="CandidateExperience.start_date", cascade="all, delete-orphan"
    )
    languages: Mapped[list[CandidateLanguage]] = relationship(
        back_populates="candidate", order_by="CandidateLanguage.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("agency_id", "email"),
        # The list's order: an agency's candidates by name a page at a time, read from the index without a sort.
        Index("ix_candidate_agency_id_name_key", "agency_id", "name_key", "id"),
    )

    @validates("name")
    def _set_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key_for(name)
        return name

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]


class CandidateSkill(PublicIdMixin, Model):
    """A skill the candidate holds: ``skill_key`` is set once matched to the vocabulary and confirmed."""

    __touches__ = ("candidate",)
    __tablename__ = "candidate_skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=False, index=True
    )
    skill_key: Mapped[str | None] = mapped_column(String(300))
    given_name: Mapped[str] = mapped_column(String(200), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    evidence_type: Mapped[str] = mapped_column(String(20), nullable=False, default="cv")
    evidence: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="recruiter")

    candidate: Mapped[Candidate] = relationship(back_populates="skills")

    __table_args__ = (
        UniqueConstraint("candidate_id", "skill_key"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level"),
    )


class CandidateEducation(PublicIdMixin, Model):
    """A qualification: its ISCED 2011 level (0-8), field, institution and year."""

    __touches__ = ("candidate",)
    __tablename__ = "candidate_education"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=False, index=True
    )
    isced_level: Mapped[int] = mapped_column(Integer, nullable=False)
    field: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    institution: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    year: Mapped[int | None] = mapped_column(Integer)
    # The qualification as written (for example a JSON Resume studyType), kept beside the mapped level.
    original_text: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="recruiter")

    candidate: Mapped[Candidate] = relationship(back_populates="education")

    __table_args__ = (CheckConstraint("isced_level BETWEEN 0 AND 8", name="isced_level"),)


class CandidateExperience(PublicIdMixin, Model):
    """A job: role, ESCO occupation where known, employer industry (NACE section), dates and share of full time."""

    __touches__ = ("candidate",)
    __tablename__ = "candidate_experience"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(200), nullable=False)
    employer: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    occupation_uri: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(1))
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    fte: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    responsibilities: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="recruiter")

    candidate: Mapped[Candidate] = relationship(back_populates="experience")

    __table_args__ = (
        CheckConstraint("fte > 0 AND fte <= 1", name="fte"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
    )


class CandidateLanguage(PublicIdMixin, Model):
    """A language and how well the candidate speaks it (CEFR A1-C2 or native)."""

    __touches__ = ("candidate",)
    __tablename__ = "candidate_language"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=False, index=True
    )
    language: Mapped[str] = mapped_column(String(80), nullable=False)
    fluency: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(20), nullable=False, default="recruiter")

    candidate: Mapped[Candidate] = relationship(back_populates="languages")
