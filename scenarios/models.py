"""Competencies, scenarios and their versions, options, expert ratings and competency weights."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Scope
from database import Model, PublicIdMixin


def _enum(cls: type[enum.Enum], length: int = 32) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


class Status(enum.StrEnum):
    DRAFT = "draft"
    PILOT = "pilot"
    OPERATIONAL = "operational"
    RETIRED = "retired"


class ResponseFormat(enum.StrEnum):
    RATE = "rate"
    MOST_LEAST = "most_least"
    RANK = "rank"
    SINGLE_BEST = "single_best"

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self]


FORMAT_LABELS = {
    ResponseFormat.RATE: "Rate each option 1-6",
    ResponseFormat.MOST_LEAST: "Most and least effective",
    ResponseFormat.RANK: "Rank the options",
    ResponseFormat.SINGLE_BEST: "Single best option",
}


class Instruction(enum.StrEnum):
    SHOULD_DO = "should_do"
    WOULD_DO = "would_do"


class KeyType(enum.StrEnum):
    EXPERT_PANEL = "expert_panel"
    PROVISIONAL_SINGLE_AUTHOR = "provisional_single_author"

    @property
    def label(self) -> str:
        return {"expert_panel": "Expert panel", "provisional_single_author": "Provisional (single author)"}[self.value]


# The scoring rule each format uses unless the item or the assessment says otherwise (DECISIONS.md).
DEFAULT_RULES = {
    ResponseFormat.RATE: "rate_std",
    ResponseFormat.MOST_LEAST: "most_least",
    ResponseFormat.RANK: "rank_rho",
    ResponseFormat.SINGLE_BEST: "single_best",
}
RULES_BY_FORMAT = {
    ResponseFormat.RATE: ("rate_std", "rate_abs_distance", "rate_sq_distance"),
    ResponseFormat.MOST_LEAST: ("most_least", "most_least_keydiff"),
    ResponseFormat.RANK: ("rank_rho", "rank_abs"),
    ResponseFormat.SINGLE_BEST: ("single_best", "single_best_partial"),
}

ROLES = {
    "hr": "HR",
    "office_administration": "Office administration",
    "it_service_desk": "IT service desk",
    "accounts": "Accounts payable and receivable",
    "payroll": "Payroll",
    "client_service": "Client service",
    "operations": "Operations",
}
SITUATION_TYPES = {
    "S01": "Angry or upset client or user",
    "S02": "Confidential information request",
    "S03": "Colleague dropping the ball",
    "S04": "Conflicting priorities",
    "S05": "A mistake you made",
    "S06": "Escalate or handle it yourself",
    "S07": "Policy versus client wish",
    "S08": "Remote or shift handover",
    "S09": "Workload peak, time pressure",
    "S10": "Disagreement with a colleague",
    "S11": "Helping and sharing",
    "S12": "Pressure from someone senior to bend a rule",
}
OPTION_LABELS = ("A", "B", "C", "D", "E")
SCALE_LABELS = (
    "Very ineffective",
    "Ineffective",
    "Somewhat ineffective",
    "Somewhat effective",
    "Effective",
    "Very effective",
)


class Competency(PublicIdMixin, Model):
    """A people skill the agency measures, with its definition and behavioural indicators."""

    __tablename__ = "competency"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    indicators: Mapped[str] = mapped_column(Text, nullable=False, default="")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]

    @property
    def indicator_list(self) -> list[str]:
        return [line.strip() for line in self.indicators.splitlines() if line.strip()]


class Scenario(PublicIdMixin, Model):
    """A scenario in the agency's bank: the stable identity of its versions."""

    __tablename__ = "scenario"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    versions: Mapped[list[ScenarioVersion]] = relationship(
        back_populates="scenario", order_by="ScenarioVersion.version", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]

    @property
    def latest(self) -> ScenarioVersion:
        return self.versions[-1]

    @property
    def latest_published(self) -> ScenarioVersion | None:
        published = [v for v in self.versions if v.published_at is not None]
        return published[-1] if published else None

    @property
    def draft(self) -> ScenarioVersion | None:
        return self.versions[-1] if self.versions and self.versions[-1].published_at is None else None


class ScenarioVersion(PublicIdMixin, Model):
    """One version of a scenario. Publishing freezes it for good: stem, options, key and weights."""

    __tablename__ = "scenario_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id", ondelete="CASCADE"), nullable=False, index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[Status] = mapped_column(_enum(Status, 16), nullable=False, default=Status.DRAFT)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    role_context: Mapped[str] = mapped_column(String(300), nullable=False)
    situation_type: Mapped[str] = mapped_column(String(3), nullable=False)
    stem: Mapped[str] = mapped_column(Text, nullable=False)
    instruction: Mapped[Instruction] = mapped_column(_enum(Instruction, 16), nullable=False)
    response_format: Mapped[ResponseFormat] = mapped_column(_enum(ResponseFormat, 16), nullable=False)
    scoring_rule: Mapped[str | None] = mapped_column(String(32), nullable=True)
    item_weight: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    key_type: Mapped[KeyType] = mapped_column(_enum(KeyType, 32), nullable=False)
    key_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    provenance_author: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    provenance_source: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    provenance_date: Mapped[date | None] = mapped_column(nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)

    scenario: Mapped[Scenario] = relationship(back_populates="versions")
    options: Mapped[list[ScenarioOption]] = relationship(
        back_populates="version", order_by="ScenarioOption.position", cascade="all, delete-orphan"
    )
    weights: Mapped[list[CompetencyWeight]] = relationship(back_populates="version", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("scenario_id", "version"),
        CheckConstraint("item_weight > 0", name="item_weight_positive"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]

    @property
    def is_frozen(self) -> bool:
        return self.published_at is not None

    @property
    def effective_rule(self) -> str:
        return self.scoring_rule or DEFAULT_RULES[self.response_format]

    @property
    def key_label(self) -> str:
        return f"{self.scenario.code}-v{self.version}-k{self.key_version}"


class ScenarioOption(Model):
    """One response option of a scenario version."""

    __tablename__ = "scenario_option"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("scenario_version.id", ondelete="CASCADE"), nullable=False, index=True
    )
    label: Mapped[str] = mapped_column(String(1), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(String(600), nullable=False)
    rationale: Mapped[str] = mapped_column(String(600), nullable=False, default="")

    version: Mapped[ScenarioVersion] = relationship(back_populates="options")
    ratings: Mapped[list[ExpertRating]] = relationship(
        back_populates="option", order_by="ExpertRating.id", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("version_id", "label"),)


class ExpertRating(Model):
    """One expert's effectiveness rating of one option, on the 1-6 scale."""

    __tablename__ = "expert_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    option_id: Mapped[int] = mapped_column(
        ForeignKey("scenario_option.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rater: Mapped[str] = mapped_column(String(80), nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)

    option: Mapped[ScenarioOption] = relationship(back_populates="ratings")

    __table_args__ = (
        UniqueConstraint("option_id", "rater"),
        CheckConstraint("value >= 1 AND value <= 6", name="on_scale"),
    )


class CompetencyWeight(Model):
    """How much a scenario version counts toward a competency (0 < w <= 1)."""

    __tablename__ = "competency_weight"

    version_id: Mapped[int] = mapped_column(ForeignKey("scenario_version.id", ondelete="CASCADE"), primary_key=True)
    competency_id: Mapped[int] = mapped_column(ForeignKey("competency.id", ondelete="RESTRICT"), primary_key=True)
    weight: Mapped[float] = mapped_column(Float, nullable=False)

    version: Mapped[ScenarioVersion] = relationship(back_populates="weights")
    competency: Mapped[Competency] = relationship()

    __table_args__ = (CheckConstraint("weight > 0 AND weight <= 1", name="weight_range"),)
