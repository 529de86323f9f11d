"""Released reports, report jobs, cached PDFs, position batches and share links.

A ``Report`` is one candidate's dossier for one assessment of a client's position: the recruiter's notes
and whether (and when) it was released to the client. A ``ReportJob`` is one render, with its state in
this database (queued, running, done, failed) so that a lost task is found again by the sweep. A
``ReportFile`` is a rendered PDF keyed by the hash of its context: the same context is never rendered
twice. A ``ShareLink`` lets one client read one released report without an account, until it expires or
is revoked.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Scope
from database import Model, PublicIdMixin

NOTES_MAX = 3000
"""The longest recruiter's note a report takes (characters)."""


def _enum(cls: type[enum.StrEnum], length: int) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


class ReportKind(enum.StrEnum):
    DOSSIER = "dossier"
    FEEDBACK = "feedback"
    SHORTLIST = "shortlist"

    @property
    def label(self) -> str:
        return {
            "dossier": "Candidate report",
            "feedback": "Candidate feedback report",
            "shortlist": "Shortlist report",
        }[self.value]


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Report(PublicIdMixin, Model):
    """One candidate's report for one invitation: the recruiter's notes and its release to the client."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False, index=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"), nullable=False)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    released_at: Mapped[datetime | None] = mapped_column(nullable=True)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (CheckConstraint(f"length(notes) <= {NOTES_MAX}", name="notes_length"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            # A client user sees only the released reports of their own company, never a pilot's (an
            # assessment may be made a pilot after its reports were released).
            from assessments.models import Assessment, Invitation

            not_pilot = select(Invitation.id).join(Assessment).where(Assessment.pilot.is_(False))
            criteria += [
                cls.client_id == scope.client_id,
                cls.released_at.is_not(None),
                cls.withdrawn_at.is_(None),
                cls.invitation_id.in_(not_pilot),
            ]
        return criteria

    @property
    def is_released(self) -> bool:
        return self.released_at is not None and self.withdrawn_at is None


class ReportFile(Model):
    """A rendered PDF, stored in the database (no shared disk between machines), keyed by its context hash."""

    __tablename__ = "report_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    kind: Mapped[ReportKind] = mapped_column(_enum(ReportKind, 16), nullable=False)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    pages: Mapped[int] = mapped_column(Integer, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    render_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class ReportBatch(PublicIdMixin, Model):
    """Rendering a whole position: the released candidates' reports and the shortlist, one download at the end."""

    __tablename__ = "report_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    jobs: Mapped[list[ReportJob]] = relationship(back_populates="batch", order_by="ReportJob.id")

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria


class ReportJob(PublicIdMixin, Model):
    """One render: its state lives here, not in the queue, so a lost task is picked up again by the sweep."""

    __tablename__ = "report_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[ReportKind] = mapped_column(_enum(ReportKind, 16), nullable=False)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("report.id", ondelete="CASCADE"), nullable=True, index=True
    )
    position_id: Mapped[int] = mapped_column(ForeignKey("position.id", ondelete="CASCADE"), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("report_batch.id", ondelete="CASCADE"), nullable=True)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, 16), nullable=False, default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    context_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("report_file.id", ondelete="SET NULL"), nullable=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    queued_at: Mapped[datetime] = mapped_column(nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)

    batch: Mapped[ReportBatch | None] = relationship(back_populates="jobs")
    file: Mapped[ReportFile | None] = relationship()

    __table_args__ = (
        CheckConstraint("(kind = 'shortlist') = (report_id IS NULL)", name="subject"),
        CheckConstraint("attempts >= 0", name="attempts_count"),
    )

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria


class ShareLink(PublicIdMixin, Model):
    """An expiring, revocable link to one released report for one client; the token signs its id and version."""

    __tablename__ = "share_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=False)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), nullable=False, index=True)
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    views: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    report: Mapped[Report] = relationship()

    __table_args__ = (UniqueConstraint("report_id", "id"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
