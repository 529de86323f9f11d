"""Webhooks to an agency's applicant-tracking system, delivered like email: queue_event() writes one
delivery row per subscribed endpoint inside the caller's unit of work; a task posts it after commit;
the periodic sweep retries with the back-off stored on the row, then marks it failed for the admin to see.

Every delivery is signed: HMAC-SHA256 with the endpoint's secret over "<timestamp>.<body>".
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Scope
from database import Model, PublicIdMixin

# The events an endpoint can subscribe to.
EVENT_TYPES: dict[str, str] = {
    "invitation.started": "A candidate started a test",
    "attempt.submitted": "A candidate submitted a test",
    "result.released": "A result and its report were released",
}


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(PublicIdMixin, Model):
    """An agency's receiving URL, the events it wants and the secret its deliveries are signed with."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # The signing secret ("whsec_..."): needed in clear to sign, shown to the admin once at creation.
    secret: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class WebhookDelivery(PublicIdMixin, Model):
    """One event for one endpoint: the exact body sent (so a retry is byte-identical) and its delivery state."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    # The event's id, the same in every endpoint's delivery of it; receivers use it to drop duplicates.
    event_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s]),
        nullable=False,
        default=DeliveryStatus.QUEUED,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]
