"""Assessments and the scenario versions they pin."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Agency, Scope
from candidates.models import Candidate
from database import Base, Model, PublicIdMixin, UpdatedAtMixin
from mailer import EmailMessage
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


class Assessment(UpdatedAtMixin, PublicIdMixin, Model):
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
    # A pilot's scores are labelled pilot everywhere and never released to clients.
    pilot: Mapped[bool] = mapped_column(nullable=False, default=False)
    # The score version pages and exports show (AttemptResult.score_version); None: as scored at submission.
    score_version: Mapped[str | None] = mapped_column(String(64), nullable=True)

    position: Mapped[Position] = relationship()
    practice_version: Mapped[ScenarioVersion | None] = relationship()
    items: Mapped[list[AssessmentItem]] = relationship(
        back_populates="assessment", order_by="AssessmentItem.position", cascade="all, delete-orphan"
    )
    reported: Mapped[list[Competency]] = relationship(secondary=reported_competency, order_by=Competency.position)
    # How long an invitation to this assessment stays open (days).
    invitation_days: Mapped[int] = mapped_column(Integer, nullable=False, default=7)
    # Up to three reminders, in days after the invitation, to candidates who have not finished.
    reminder_days: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)

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

    __touches__ = ("assessment",)
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


class InvitationStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERY_FAILED = "delivery failed"
    STARTED = "started"
    SUBMITTED = "submitted"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Invitation(UpdatedAtMixin, PublicIdMixin, Model):
    """A candidate's invitation to one assessment. The emailed link signs its public id and token version."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False, index=True
    )
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Bumped by a resend or a revoke: every earlier link stops working.
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    email_message_id: Mapped[int | None] = mapped_column(ForeignKey("email_message.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    consent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Self-declared extra time (0, 25 or 50 percent); never shown to the client.
    extra_time_percent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reminders_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    agency: Mapped[Agency] = relationship()
    assessment: Mapped[Assessment] = relationship()
    candidate: Mapped[Candidate] = relationship()
    email_message: Mapped[EmailMessage | None] = relationship()
    attempt: Mapped[Attempt | None] = relationship(back_populates="invitation", uselist=False)

    __table_args__ = (
        UniqueConstraint("assessment_id", "candidate_id"),
        CheckConstraint("extra_time_percent IN (0, 25, 50)", name="extra_time"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria

    def status(self, now: datetime) -> InvitationStatus:
        """Where the invitation stands now: revoked, submitted, started, expired, or its email's delivery."""
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.attempt is not None:
            return InvitationStatus.SUBMITTED if self.attempt.submitted_at else InvitationStatus.STARTED
        if now >= self.expires_at:
            return InvitationStatus.EXPIRED
        email = self.email_message
        if email is not None and email.status.value == "sent":
            return InvitationStatus.SENT
        if email is not None and email.status.value == "failed":
            return InvitationStatus.DELIVERY_FAILED
        return InvitationStatus.QUEUED


class ConsentRecord(PublicIdMixin, Model):
    """What a candidate agreed to, word for word, and when: the evidence behind the processing of their
    answers. One per invitation; a withdrawal is recorded on it, never by deleting it (erasure does)."""

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), nullable=False, index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    # The notice and the sentence the candidate ticked, as shown (without their name), and its digest.
    statement: Mapped[str] = mapped_column(Text, nullable=False)
    statement_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    given_at: Mapped[datetime] = mapped_column(nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(nullable=True)
    withdrawal_note: Mapped[str | None] = mapped_column(String(200), nullable=True)

    invitation: Mapped[Invitation | None] = relationship()


class Attempt(PublicIdMixin, Model):
    """A candidate's sitting of an assessment: the deadline is set once, on the server, at start."""

    __touches__ = ("invitation",)
    __tablename__ = "attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    started_at: Mapped[datetime] = mapped_column(nullable=False)
    deadline: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finalised_by: Mapped[str | None] = mapped_column(String(16), nullable=True)  # candidate | deadline
    # The order of the scored items for this candidate (scenario version ids), fixed at start.
    item_order: Mapped[list[int]] = mapped_column(JSON, nullable=False)

    invitation: Mapped[Invitation] = relationship(back_populates="attempt")
    answers: Mapped[list[Answer]] = relationship(back_populates="attempt", cascade="all, delete-orphan")

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]


class Answer(Model):
    """The latest saved answer to one item of an attempt, with its revision."""

    __tablename__ = "answer"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("scenario_version.id", ondelete="RESTRICT"), primary_key=True)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(nullable=False)

    attempt: Mapped[Attempt] = relationship(back_populates="answers")


class AnswerEvent(Model):
    """Every accepted save, append-only: the record for a dispute ("my answer was lost")."""

    __tablename__ = "answer_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), nullable=False, index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("scenario_version.id", ondelete="RESTRICT"), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # autosave | form


class AttemptResult(Model):
    """The scores of a submitted attempt under one score version (algorithm and keys): computed once, never
    overwritten. A re-score with a new key or algorithm adds a row with a new ``score_version``."""

    __tablename__ = "attempt_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), nullable=False)
    algorithm_version: Mapped[str] = mapped_column(String(16), nullable=False)
    # The algorithm version and the keys used, e.g. "1.0.0" at submission or "1.0.0+k3f9a1c2" after a re-score.
    score_version: Mapped[str] = mapped_column(String(64), nullable=False)
    overall_pomp: Mapped[float | None] = mapped_column(nullable=True)
    # Item, competency and key-version detail, as the scoring adapter returned it.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (UniqueConstraint("attempt_id", "score_version"),)


NORM_LABEL_MAX: Final = 160
"""The longest label a norm group may have."""


class NormTable(PublicIdMixin, Model):
    """A frozen norm group of an assessment: versioned, never changed once frozen.

    ``stats`` holds, per scope ("overall" and each competency code), the group's N, mean, SD and sorted
    provisional scores (POMP 0-1); ``reliability`` holds per scope alpha, its interval, N and status.
    """

    __tablename__ = "norm_table"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[str] = mapped_column(String(NORM_LABEL_MAX), nullable=False)
    score_version: Mapped[str] = mapped_column(String(64), nullable=False)
    attempt_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    reliability: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    frozen_at: Mapped[datetime] = mapped_column(nullable=False)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    assessment: Mapped[Assessment] = relationship()

    __table_args__ = (UniqueConstraint("assessment_id", "version"), CheckConstraint("n >= 30", name="min_group"))

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.assessment.has(Assessment.client_id == scope.client_id))
        return criteria


class DecisionOutcome(enum.StrEnum):
    ADVANCE = "advance"
    HOLD = "hold"
    DECLINE = "decline"


class Decision(PublicIdMixin, Model):
    """A recruiter's decision on a candidate for a position. Append-only: the latest row is the current one.

    ``against_evidence`` is set when the decision goes against the fit or the scores; a reason is then required.
    """

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"), nullable=False)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidate.id", ondelete="CASCADE"), nullable=False)
    outcome: Mapped[DecisionOutcome] = mapped_column(
        Enum(DecisionOutcome, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s]),
        nullable=False,
    )
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    against_evidence: Mapped[bool] = mapped_column(nullable=False, default=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(nullable=False)

    position: Mapped[Position] = relationship()
    candidate: Mapped[Candidate] = relationship()

    __table_args__ = (
        Index("ix_decision_position_candidate", "position_id", "candidate_id", "decided_at"),
        CheckConstraint("against_evidence = false OR length(reason) > 0", name="reason_when_against"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.position.has(Position.client_id == scope.client_id))
        return criteria


class InviteBatch(PublicIdMixin, Model):
    """A bulk invitation from a CSV file: checked whole on upload, then sent in the background."""

    __tablename__ = "invite_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # queued | running | done | failed
    # The accepted rows still to send ([{"line", "name", "email"}]) and the rejected ones with reasons.
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    total_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    processed_rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    invited: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    already_invited: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)

    assessment: Mapped[Assessment] = relationship()

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria


class DemographicResponse(Model):
    """A candidate's voluntary self-identification, kept apart from the attempt and never read by scoring.

    It exists only for adverse-impact checks across groups (scoring method A7).
    """

    __tablename__ = "demographic_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), nullable=False, unique=True)
    sex: Mapped[str] = mapped_column(String(40), nullable=False)
    race_ethnicity: Mapped[str] = mapped_column(String(80), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(nullable=False)


class IntegrityEvent(Model):
    """Context for recruiters (focus lost, paste, reload, time on a situation): never a score, never a reason
    to stop anyone. ``seconds`` is set for kind "time": how long the page was in view, as the browser measured it.
    """

    __tablename__ = "integrity_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    item_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
