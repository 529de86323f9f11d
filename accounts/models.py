"""Agencies, clients, users, recovery codes, audit events and rate-limit counters."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from database import Model, PublicIdMixin


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    CLIENT = "client"

    @property
    def label(self) -> str:
        return {"admin": "Agency admin", "recruiter": "Recruiter", "client": "Client user"}[self.value]


STAFF_ROLES = frozenset({Role.ADMIN, Role.RECRUITER})
ADMIN_ONLY = frozenset({Role.ADMIN})
DEFAULT_RETENTION_MONTHS = 12


class Scope:
    """What an actor may see: always one agency, and one client for client users."""

    __slots__ = ("agency_id", "client_id")

    def __init__(self, agency_id: int, client_id: int | None) -> None:
        self.agency_id = agency_id
        self.client_id = client_id


class Actor(Protocol):
    """Who changes something: a signed-in user, or an agency's API key; audit events name its public id."""

    @property
    def public_id(self) -> str: ...

    @property
    def agency(self) -> Agency: ...


class Agency(PublicIdMixin, Model):
    """A recruitment agency: the tenant that owns everything else."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    privacy_contact: Mapped[str | None] = mapped_column(String(254), nullable=True)
    retention_months: Mapped[int] = mapped_column(Integer, nullable=False, default=DEFAULT_RETENTION_MONTHS)
    # The agency's own invitation email (fixed {placeholders}); empty means Rapport's standard text.
    invitation_subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    invitation_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Report branding: colours as #rrggbb (checked, passed to the print CSS as custom properties) and a
    # logo re-encoded as PNG by reports.branding; the hash names the logo inside a report's context.
    brand_colour: Mapped[str | None] = mapped_column(String(7), nullable=True)
    accent_colour: Mapped[str | None] = mapped_column(String(7), nullable=True)
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    logo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Whether recruiters may give candidates a plain-language feedback report.
    feedback_reports: Mapped[bool] = mapped_column(nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    __table_args__ = (CheckConstraint("retention_months BETWEEN 1 AND 120", name="retention_range"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.id == scope.agency_id]


class Client(PublicIdMixin, Model):
    """A hiring company served by an agency."""

    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    notes: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    # The client's own colour and logo on its reports, over the agency's.
    brand_colour: Mapped[str | None] = mapped_column(String(7), nullable=True)
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    logo_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The report sections this client receives (reports.context.SECTIONS); None means all of them.
    disclosure: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    agency: Mapped[Agency] = relationship()

    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.id == scope.client_id)
        return criteria


class User(PublicIdMixin, Model):
    """Anyone who signs in: agency admins, recruiters, and client users (one client each)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), nullable=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda roles: [r.value for r in roles]),
        nullable=False,
    )
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_active: Mapped[bool] = mapped_column(nullable=False, default=True)
    # Bumped at logout, deactivation and password change: every earlier session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Bumped when the password changes: every earlier reset link stops working.
    password_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Two-factor sign-in (TOTP, RFC 6238). The base32 secret is chosen when set-up starts and is in use once
    # two_factor_enabled_at is set. The last accepted time step makes every code single-use.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    two_factor_enabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    agency: Mapped[Agency] = relationship()
    client: Mapped[Client | None] = relationship()

    __table_args__ = (CheckConstraint("(role = 'client') = (client_id IS NOT NULL)", name="client_user_has_client"),)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        criteria = [cls.agency_id == scope.agency_id]
        if scope.client_id is not None:
            criteria.append(cls.client_id == scope.client_id)
        return criteria

    # Flask-Login protocol. The id carries the session version so that old cookies die.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.public_id}:{self.session_version}"

    @property
    def scope(self) -> Scope:
        return Scope(self.agency_id, self.client_id)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def has_two_factor(self) -> bool:
        return self.two_factor_enabled_at is not None

    @property
    def needs_two_factor_setup(self) -> bool:
        """Agency admins must use two-factor sign-in; until they set it up they can only do that or sign out."""
        return self.is_admin and not self.has_two_factor


class RecoveryCode(Model):
    """A single-use code that stands in for an authenticator code; only its SHA-256 is kept (80 random bits)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique constraint's index (user_id first) also serves lookups by user.
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    code_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (UniqueConstraint("user_id", "code_sha256"),)


class AuditEvent(PublicIdMixin, Model):
    """One append-only line of the audit trail: random ids only, never names or emails."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False, default="ok")
    agency_public_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    actor_public_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    object_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    object_public_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What changed, for reference data only (a job profile, a transfer row): {field: {"before", "after"}}.
    # Never personal data: a candidate's profile changes are recorded without details.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RateLimitCounter(Model):
    """A fixed-window counter for rate limits when Redis is not configured; the key is a keyed hash."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
